using FipsAppliance.Configuration;
using FipsAppliance.Stats;
using FipsAppliance.Upstream;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Backends;

/// <summary>A backend (or the backend half of a listen section) as it is now.</summary>
internal sealed class Backend : IBackendStats
{
    private Server[] _servers = [];
    private int _roundRobin = -1;

    // Backend state, under StateLock: UP while one server at least is usable (HAProxy's srv_act > 0).
    private bool _up;
    private long _lastChangeTicks = Environment.TickCount64;
    private long _downSinceTicks = -1;
    private long _downtimeMs;
    private long _downTransitions;

    public Backend(ProxySection config, ILogger log, PoolFdThresholds? poolFds = null)
    {
        Config = config;
        Log = log;
        PoolFds = poolFds ?? PoolFdThresholds.Unbounded();
    }

    public ProxySection Config { get; }
    /// <summary>Where server state changes are logged (HAProxy's DOWN/UP/maintenance lines).</summary>
    public ILogger Log { get; }
    /// <summary>
    /// Taken for every server state change of this backend, so that the "N active servers left" of
    /// a log line and the "no server available" alert see one consistent picture. Never held across I/O.
    /// </summary>
    public object StateLock { get; } = new();
    /// <summary>The process's descriptor thresholds, which bound its servers' idle pools (`tune.pool-*-fd-ratio`).</summary>
    public PoolFdThresholds PoolFds { get; }
    public string Name => Config.Name;
    public ProxyMode Mode => Config.Mode;
    public BalanceAlgorithm Balance => Config.Balance;
    public TrafficCounters Counters { get; } = new();
    public Server[] Servers { get => _servers; set => _servers = value; }
    IReadOnlyList<IServerStats> IBackendStats.Servers => _servers;

    /// <summary>Servers that may take traffic now (HAProxy's srv_act; there are no backup servers here).</summary>
    public int UsableCount
    {
        get
        {
            int n = 0;
            foreach (var s in _servers) if (s.IsUsable) n++;
            return n;
        }
    }

    /// <summary>The state the backend starts in, after its servers' (HAProxy counts a start without servers in chkdown, and says nothing).</summary>
    internal void InitState()
    {
        lock (StateLock)
        {
            _up = UsableCount > 0;
            _lastChangeTicks = Environment.TickCount64;
            if (!_up)
            {
                _downTransitions = 1;
                _downSinceTicks = _lastChangeTicks;
            }
        }
    }

    /// <summary>Called under <see cref="StateLock"/> after a server changed; true when its last usable server just went.</summary>
    internal bool OnServerStateChanged()
    {
        bool up = UsableCount > 0;
        if (up == _up) return false;
        long now = Environment.TickCount64;
        _up = up;
        _lastChangeTicks = now;
        if (!up)
        {
            _downTransitions++;
            _downSinceTicks = now;
            return true;
        }
        if (_downSinceTicks >= 0) _downtimeMs += now - _downSinceTicks;
        _downSinceTicks = -1;
        return false;
    }

    public long DownTransitions => Interlocked.Read(ref _downTransitions);
    public long LastChangeSeconds => (Environment.TickCount64 - Interlocked.Read(ref _lastChangeTicks)) / 1000;
    public long DowntimeSeconds
    {
        get
        {
            long ms = Interlocked.Read(ref _downtimeMs);
            long since = Interlocked.Read(ref _downSinceTicks);
            if (since >= 0) ms += Environment.TickCount64 - since;
            return ms / 1000;
        }
    }

    /// <summary>
    /// Picks a server for a new connection by the backend's `balance`, skipping <paramref name="avoid"/>
    /// when another usable server exists (redispatch). Null when no server is usable (none UP, or
    /// none with an address): the caller answers 503 at once. HAProxy's "backend 'x' has no server
    /// available!" is logged once, when the last server goes, not per request.
    /// </summary>
    public Server? PickServer(Server? avoid = null)
    {
        var servers = _servers;
        if (servers.Length == 0) return null;
        switch (Config.Balance)
        {
            case BalanceAlgorithm.First:
                // The first usable server in declaration order that is under its maxconn.
                foreach (var s in servers)
                    if (s.IsUsable && s != avoid && (s.MaxConn == 0 || Volatile.Read(ref s.ActiveConnections) < s.MaxConn)) return s;
                break;
            case BalanceAlgorithm.LeastConn:
            {
                Server? best = null;
                int bestConns = int.MaxValue;
                int start = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)servers.Length);
                for (int i = 0; i < servers.Length; i++)
                {
                    var s = servers[(start + i) % servers.Length];
                    if (!s.IsUsable || s == avoid) continue;
                    int c = Volatile.Read(ref s.ActiveConnections);
                    if (c < bestConns) { best = s; bestConns = c; }
                }
                if (best is not null) return best;
                break;
            }
            default:
            {
                int start = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)servers.Length);
                for (int i = 0; i < servers.Length; i++)
                {
                    var s = servers[(start + i) % servers.Length];
                    if (s.IsUsable && s != avoid) return s;
                }
                break;
            }
        }
        // Only the avoided server is left: using it again beats refusing the request.
        return avoid is { IsUsable: true } ? avoid : null;
    }
}
