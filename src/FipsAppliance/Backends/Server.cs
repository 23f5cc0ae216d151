using System.Globalization;
using System.Net;
using FipsAppliance.Backends.Dns;
using FipsAppliance.Backends.Health;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Stats;
using FipsAppliance.Upstream;

namespace FipsAppliance.Backends;

/// <summary>
/// A server of a backend as it is now: its address (which DNS may change), its state, its idle
/// connections, its counters. The line the user wrote is <see cref="Config"/> and never changes;
/// a reload builds new Server objects and lets these drain.
///
/// The state is HAProxy's (src/server.c, src/check.c): an operational state, running or stopped,
/// driven by health checks through `health` (0..rise+fall-1: UP while health &gt;= rise, so "UP 1/3"
/// is going down and "DOWN 1/2" going up), and administrative maintenance: `disabled` in the cfg,
/// or "maintenance by resolution" while the resolvers have no address for it. Every transition
/// happens under <see cref="Backend.StateLock"/> (never held across I/O) and is logged in
/// HAProxy's words; the data path reads only <see cref="IsUsable"/>.
/// </summary>
internal sealed class Server : IServerStats
{
    private IPEndPoint? _endPoint;

    // --- state, written under Backend.StateLock ---
    private volatile bool _usable;
    private bool _configMaint;       // `disabled`
    private bool _resolutionMaint;   // HAProxy's SRV_ADMF_RMAINT
    private bool _running;           // HAProxy's cur_state RUNNING vs STOPPED
    private int _health;
    private long _lastChangeTicks = Environment.TickCount64;
    private long _stoppedSinceTicks = -1;
    private long _downtimeMs;
    private long _failedChecks;
    private long _downTransitions;
    private CheckResult _lastCheck = new(Health.CheckStatus.None, "", -1);

    public Server(Backend backend, ServerLine config, TlsPolicy? tls)
    {
        Backend = backend;
        Config = config;
        Tls = tls;
        Pool = new UpstreamPool(this);
        _configMaint = config.Disabled;
    }

    public Backend Backend { get; }
    public ServerLine Config { get; }
    /// <summary>The TLS policy for this server line; null only for a server without `ssl`.</summary>
    public TlsPolicy? Tls { get; }
    public UpstreamPool Pool { get; }
    public TrafficCounters Counters { get; } = new();
    /// <summary>The health check of a server with `check`, set by <see cref="HealthChecks"/>.</summary>
    public HealthCheck? Check { get; internal set; }
    /// <summary>The resolution that feeds this server's address, for a server with `resolvers`.</summary>
    public Resolution? Resolution { get; internal set; }

    public string Name => Config.Name;
    public string FullName => Backend.Name + "/" + Config.Name;

    /// <summary>Where connections go now; null while the server has no address (then it is not used).</summary>
    public IPEndPoint? EndPoint => Volatile.Read(ref _endPoint);

    /// <summary>Usable for new traffic: has an address, is running (UP, going down, or not checked) and not in maintenance.</summary>
    public bool IsUsable => _usable;

    /// <summary>Connections to this server in use by sessions now (leastconn, maxconn).</summary>
    public int ActiveConnections;

    /// <summary>The port connections go to: the line's, or 443 when it names none (HAProxy would use the client's).</summary>
    public int ServicePort => Config.Port == 0 ? 443 : Config.Port;

    // --- start-up ------------------------------------------------------------------------------

    /// <summary>The address found by init-addr, before the model runs.</summary>
    internal void SetInitialAddress(IPAddress address) => Volatile.Write(ref _endPoint, new IPEndPoint(address, ServicePort));

    /// <summary>
    /// The state HAProxy starts a server in, once init-addr is done: no address means maintenance
    /// by resolution (silently; the resolvers bring it out); otherwise running, and with `check`
    /// at health = rise, so that the first failed check takes it DOWN.
    /// </summary>
    internal void InitState()
    {
        lock (Backend.StateLock)
        {
            long now = Environment.TickCount64;
            _lastChangeTicks = now;
            if (EndPoint is null && !_configMaint)
            {
                _resolutionMaint = true;
                _downTransitions = 1;   // HAProxy counts the initial maintenance in chkdown
            }
            _running = !_configMaint && !_resolutionMaint;
            if (!_running) _stoppedSinceTicks = now;
            _health = Config.Rise;
            _usable = ComputeUsable();
        }
    }

    // --- health checks ---------------------------------------------------------------------------

    /// <summary>
    /// One finished check, counted as HAProxy's set_server_check_status does: a failure takes one
    /// from health (to 0 once below rise), a success adds one (to rise+fall-1 once rise is reached);
    /// crossing rise changes the state and logs the DOWN or UP line.
    /// </summary>
    internal void OnCheckResult(CheckResult r)
    {
        string? line = null;
        bool lostLast = false, stopped = false;
        lock (Backend.StateLock)
        {
            // A check that finished after the server entered maintenance says nothing about it now.
            if (_configMaint || _resolutionMaint) return;
            _lastCheck = r;
            int rise = Config.Rise, fall = Config.Fall;
            if (!r.Passed)
            {
                if (_health > 0)
                {
                    _failedChecks++;
                    _health--;
                    if (_health < rise) _health = 0;
                }
                if (_running && _health < rise)
                {
                    lostLast = SetRunning(false);
                    stopped = true;
                    line = $"Server {FullName} is DOWN{r.AppendInfo()}. {Backend.UsableCount} active and 0 backup servers left. " +
                           $"{Volatile.Read(ref Counters.CurrentSessions)} sessions active, 0 requeued, 0 remaining in queue.";
                }
            }
            else
            {
                if (_health < rise + fall - 1)
                {
                    _health++;
                    if (_health >= rise) _health = rise + fall - 1;
                }
                if (!_running && _health >= rise)
                {
                    SetRunning(true);
                    line = $"Server {FullName} is UP{r.AppendInfo()}. {Backend.UsableCount} active and 0 backup servers online. 0 sessions requeued, 0 total in queue.";
                }
            }
        }
        if (stopped) Pool.Clear();
        if (line is not null) HealthLog.StateChanged(Backend.Log, line);
        if (lostLast) HealthLog.NoServerAvailable(Backend.Log, Backend.Name);
    }

    /// <summary>
    /// A connect or TLS handshake to this server failed during traffic. The request itself is moved
    /// by retries and redispatch; the server's state is decided by its checks alone (so that the
    /// log lines and the stats page always carry a check's reason), but the next check is brought
    /// forward, so a dead server is found within a few checks instead of fall x inter.
    /// </summary>
    public void ReportConnectFailure() => Check?.RunSoon();

    // --- DNS ------------------------------------------------------------------------------------

    /// <summary>
    /// The resolvers give this server an address (the same one, or a new one). A new one is logged
    /// as HAProxy does ("changed its IP from ... to ... by ..."); a server in maintenance by
    /// resolution leaves it, UP (checks then decide), with HAProxy's two lines.
    /// </summary>
    internal void SetAddressFromDns(IPAddress address, string by, string fqdn)
    {
        var lines = new List<string>(3);
        bool changed = false;
        lock (Backend.StateLock)
        {
            var old = _endPoint;
            if (old is null || !old.Address.Equals(address))
            {
                Volatile.Write(ref _endPoint, new IPEndPoint(address, ServicePort));
                changed = true;
                _lastChangeTicks = Environment.TickCount64;
                lines.Add($"{FullName} changed its IP from {(old is null ? "(none)" : old.Address.ToString())} to {address} by {by}.");
            }
            if (_resolutionMaint)
            {
                _resolutionMaint = false;
                _health = Config.Rise;   // "start OK but check immediately", as HAProxy leaves maintenance
                if (!_configMaint)
                {
                    SetRunning(true);
                    lines.Add($"Server {FullName} ('{fqdn}') is UP/READY (resolves again).");
                    lines.Add($"Server {FullName} administratively READY thanks to valid DNS answer.");
                }
            }
            else _usable = ComputeUsable();
        }
        // Idle connections to the old address must not be reused for the new one.
        if (changed) Pool.Clear();
        foreach (var line in lines) HealthLog.StateChanged(Backend.Log, line);
    }

    /// <summary>
    /// The resolvers have no address for this server (no IP left for it in a valid answer, or
    /// failures past their `hold`): maintenance by resolution, with HAProxy's line. A server
    /// without an IP loses its address; one whose resolution fails keeps it for when it resolves again.
    /// </summary>
    internal void EnterResolutionMaintenance(string reason, bool clearAddress)
    {
        string? line = null;
        bool lostLast = false;
        lock (Backend.StateLock)
        {
            if (clearAddress && _endPoint is not null) Volatile.Write(ref _endPoint, null);
            if (_resolutionMaint) return;
            _resolutionMaint = true;
            if (_configMaint)
            {
                _usable = false;
                return;
            }
            bool wasRunning = _running;
            if (wasRunning) lostLast = SetRunning(false);
            else
            {
                _lastChangeTicks = Environment.TickCount64;
                _usable = false;
            }
            line = wasRunning
                ? $"Server {FullName} is going DOWN for maintenance ({reason}). {Backend.UsableCount} active and 0 backup servers left. " +
                  $"{Volatile.Read(ref Counters.CurrentSessions)} sessions active, 0 requeued, 0 remaining in queue."
                : $"Server {FullName} was DOWN and now enters maintenance ({reason}).";
        }
        Pool.Clear();
        HealthLog.StateChanged(Backend.Log, line);
        if (lostLast) HealthLog.NoServerAvailable(Backend.Log, Backend.Name);
    }

    // --- transitions (under Backend.StateLock) -----------------------------------------------------

    /// <summary>Running or stopped; true when this took the backend's last usable server.</summary>
    private bool SetRunning(bool running)
    {
        long now = Environment.TickCount64;
        _running = running;
        _lastChangeTicks = now;
        if (!running)
        {
            _downTransitions++;
            _stoppedSinceTicks = now;
        }
        else if (_stoppedSinceTicks >= 0)
        {
            _downtimeMs += now - _stoppedSinceTicks;
            _stoppedSinceTicks = -1;
        }
        _usable = ComputeUsable();
        return Backend.OnServerStateChanged();
    }

    private bool ComputeUsable() => _running && !_configMaint && !_resolutionMaint && _endPoint is not null;

    /// <summary>The health interval HAProxy's srv_getinter picks: inter when fully UP, downinter when fully DOWN, fastinter between.</summary>
    internal int CurrentInterval()
    {
        var c = Config;
        int rise = c.Rise, fall = c.Fall;
        int health = Volatile.Read(ref _health);
        if (health == rise + fall - 1) return c.Inter;
        if (!_running && health == 0) return c.DownInter > 0 ? c.DownInter : c.Inter;
        return c.FastInter > 0 ? c.FastInter : c.Inter;
    }

    internal bool InMaintenance => _configMaint || _resolutionMaint;

    // --- IServerStats ----------------------------------------------------------------------------

    public string Address => EndPoint?.ToString() ?? "";

    public ServerStatus Status =>
        _configMaint || _resolutionMaint ? ServerStatus.Maint
        : !_running ? ServerStatus.Down
        : Config.Check ? ServerStatus.Up : ServerStatus.NoCheck;

    public bool ResolutionMaintenance => _resolutionMaint && !_configMaint;
    public ServerPoolStats? IdlePool => Backend.Mode == ProxyMode.Http ? Pool.Snapshot() : null;
    public bool CheckEnabled => Config.Check;
    public int CheckHealth => Config.Check ? Volatile.Read(ref _health) : -1;
    public int CheckRise => Config.Rise;
    public int CheckFall => Config.Fall;

    /// <summary>HAProxy's check_status word; empty with no check, before the first one, and in maintenance (checks are paused).</summary>
    public string CheckStatus => Config.Check && !InMaintenance ? CheckStatusText.Word(_lastCheck.Status) : "";
    public string CheckDescription => Config.Check && !InMaintenance ? CheckStatusText.Description(_lastCheck.Status) : "";
    public string CheckInfo => Config.Check && !InMaintenance ? _lastCheck.Info : "";
    public long CheckDurationMs => Config.Check && !InMaintenance && _lastCheck.Status != Health.CheckStatus.None ? _lastCheck.DurationMs : -1;

    public long FailedChecks => Interlocked.Read(ref _failedChecks);
    public long DownTransitions => Interlocked.Read(ref _downTransitions);

    /// <summary>Seconds spent stopped (DOWN or in maintenance) since start, the current stretch included.</summary>
    public long DowntimeSeconds
    {
        get
        {
            long ms = Interlocked.Read(ref _downtimeMs);
            long since = Interlocked.Read(ref _stoppedSinceTicks);
            if (since >= 0) ms += Environment.TickCount64 - since;
            return ms / 1000;
        }
    }

    public long LastChangeSeconds => (Environment.TickCount64 - Interlocked.Read(ref _lastChangeTicks)) / 1000;
    public int Weight => Config.Weight;
    public int MaxConn => Config.MaxConn;

    public override string ToString() => FullName + " " + Address + " " + Status.ToString().ToLower(CultureInfo.InvariantCulture);
}
