using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using FipsAppliance.Backends;
using FipsAppliance.Backends.Dns;
using FipsAppliance.Backends.Health;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Frontends;
using FipsAppliance.Http;
using FipsAppliance.Logging;
using FipsAppliance.Stats;
using FipsAppliance.Tcp;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Runtime;

/// <summary>
/// The live model built from one <see cref="ProxyConfig"/>: frontends, backends with their servers
/// (addresses, pools, counters), the resolvers at work, the access log, the sessions it runs. A
/// reload builds a second one; this one then drains: its sessions finish (<see cref="Drain"/>),
/// and when the last one has ended, or at hard-stop-after, <see cref="DisposeAsync"/> stops its
/// resolvers, closes its pools and log sockets. Nothing here writes back into the configuration,
/// and nothing here is shared with another model (the listening sockets are the process's).
/// </summary>
internal sealed partial class ProxyRuntime : IStatsSource, IAsyncDisposable
{
    private readonly List<Frontend> _frontends = [];
    private readonly List<Backend> _backends = [];
    private readonly List<ResolversRuntime> _resolvers = [];
    private readonly HealthChecks _checks;
    private readonly ProxyContext _context;
    /// <summary>This model's client connections, for the count that ends a drain and for hard-stop-after's cut.</summary>
    private readonly ConcurrentDictionary<LiveSession, byte> _sessions = new();
    /// <summary>This model's session deadlines, drain and relay buffers (`session`); its housekeeping purges the idle pools.</summary>
    private readonly SessionTimer _timer;
    private int _disposed;

    /// <summary>A session of this model with what the model needs to drain or cut it.</summary>
    private sealed class LiveSession(Socket client, TimedSession session)
    {
        public Socket Client { get; } = client;
        public TimedSession Session { get; } = session;
    }

    public ProxyRuntime(ProxyConfig config, ProcessContext process, FipsReport fips, int maxConn, int generation, TimeProvider timers, List<string>? warnings = null)
    {
        Config = config;
        Generation = generation;
        FipsSummary = fips.ToLogLine();
        FipsProvider = fips.ProviderName;
        FipsProviderVersion = fips.ProviderVersion;
        MaxConn = maxConn;

        // This model's TLS policies and CA trust: a reload's model re-reads replaced CA files.
        var tls = new TlsPolicies(config.Global);
        foreach (var p in config.Proxies)
        {
            if (p.Kind == ProxyKind.Frontend) continue;
            var backend = new Backend(p, process.Log, process.PoolFds);
            backend.Servers = [.. p.Servers.Select(s => new Server(backend, s, s.Ssl ? tls.For(s) : null))];
            _backends.Add(backend);
        }
        foreach (var p in config.Proxies)
        {
            if (p.Kind == ProxyKind.Backend) continue;
            var routing = new Routing(p, name => _backends.FirstOrDefault(b => b.Name == name));
            _frontends.Add(new Frontend(p, routing, this));
        }
        foreach (var r in config.Resolvers) _resolvers.Add(new ResolversRuntime(r, process.Log));
        InitAddr.Assign(_backends, _resolvers, process.Log);
        _checks = new HealthChecks(_backends, config.Global, tls, timers);
        _timer = new SessionTimer(timers, PurgeIdleConnections);
        // Last: the access log opens sockets and a writer task, which a TLS policy or an init-addr
        // refused above would leak.
        _context = new ProxyContext(process, AccessLog.Create(config, process.Stream, config.Global.LogTag ?? AccessLog.DefaultTag, process.Log, warnings ?? []))
        {
            Stats = new StatsService(this),
        };
    }

    public ProxyConfig Config { get; }
    /// <summary>1 for the configuration loaded at start, then one more per successful reload.</summary>
    public int Generation { get; }
    public DateTime LoadedAt { get; } = DateTime.Now;
    public IReadOnlyList<Frontend> FrontendList => _frontends;
    /// <summary>Set when a newer model took over; its sessions are finishing.</summary>
    public bool Retired => _retired;
    private volatile bool _retired;

    /// <summary>
    /// First resolution of every resolvers-fed server, then background refresh, then the health
    /// checks. The daemon awaits it before the model takes traffic (at start and at reload: the
    /// servers then have addresses before the first request reaches them) and stops it all in
    /// DisposeAsync.
    /// </summary>
    public async Task StartAsync()
    {
        await Task.WhenAll(_resolvers.Select(r => r.StartAsync()));
        _checks.Start();
    }

    // --- sessions ---

    /// <summary>Client connections this model is serving now.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>
    /// Runs a connection accepted for <paramref name="frontend"/>, which holds a process slot and
    /// (with `maxconn`) a slot of the frontend; both are given back when the session ends.
    /// </summary>
    public void StartSession(Frontend frontend, Socket client)
    {
        // A client that reset while waiting in the backlog fails here already: its session finds out.
        try { client.NoDelay = true; }
        catch (SocketException) { }
        TimedSession session = frontend.Mode == ProxyMode.Http
            ? new HttpSession(client, frontend, _context, _timer)
            : new TcpSession(client, frontend, _context, _timer);
        var live = new LiveSession(client, session);
        _sessions.TryAdd(live, 0);
        // A connection accepted while this model was being retired drains like the others: the
        // timer asks every session that registers after Drain().
        _ = RunSessionAsync(frontend, live);
    }

    private async Task RunSessionAsync(Frontend frontend, LiveSession live)
    {
        _context.ConnectionOpened();
        frontend.Counters.SessionOpened();
        try
        {
            await (live.Session is HttpSession http ? http.RunAsync() : ((TcpSession)live.Session).RunAsync());
        }
        catch (Exception e)
        {
            // A session must never take the process down; this is a bug worth a loud line.
            LogSessionCrashed(_context.Log, frontend.Name, e.GetType().Name, e.Message);
            live.Client.Dispose();
        }
        finally
        {
            _sessions.TryRemove(live, out _);
            frontend.Counters.SessionClosed();
            _context.ConnectionClosed();
            frontend.Limit?.Release();
            _context.Process.Slots.Release();
        }
    }

    /// <summary>
    /// Asks every session to finish (soft stop, or a newer model took over): an HTTP session ends
    /// after the request in flight (answered with `connection: close`), or once it has been idle a
    /// moment; a TCP session goes on until it ends or hard-stop-after cuts it. Called again while
    /// draining, for sessions that became idle since.
    /// </summary>
    public void Drain()
    {
        _retired = true;
        _timer.Drain();
    }

    /// <summary>hard-stop-after: cuts every session still running (RST to the client, server connection closed).</summary>
    public int Kill()
    {
        int n = 0;
        foreach (var (live, _) in _sessions)
        {
            n++;
            try
            {
                live.Client.LingerState = new LingerOption(true, 0);
                live.Client.Dispose();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            // Wakes a session waiting on its server (the client socket alone would not).
            try { live.Session.OnKill(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { }
        }
        return n;
    }

    /// <summary>
    /// After <see cref="Kill"/>: waits (at most <paramref name="max"/>) until the cut sessions have
    /// unwound, so that they give their server connections back before the pools close.
    /// </summary>
    public async Task UntilSessionsEndAsync(TimeSpan max)
    {
        long deadline = Environment.TickCount64 + (long)max.TotalMilliseconds;
        while (SessionCount > 0 && Environment.TickCount64 < deadline)
            await Task.Delay(10).ConfigureAwait(false);
    }

    /// <summary>
    /// Housekeeping on this model's session timer (about once a second): idle server connections
    /// purged as `pool-purge-delay` says. True while any is idle, which keeps the timer ticking.
    /// </summary>
    private bool PurgeIdleConnections(long nowMs)
    {
        bool any = false;
        foreach (var b in _backends)
            foreach (var s in b.Servers) any |= s.Pool.Purge(nowMs);
        return any;
    }

    /// <summary>Stops what this model runs on its own: health checks, resolvers, idle server connections, the access log's sockets.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _checks.Dispose();
        foreach (var r in _resolvers) r.Dispose();
        foreach (var b in _backends)
            foreach (var s in b.Servers) s.Pool.Close();
        _timer.Dispose();
        await _context.AccessLog.DisposeAsync();
    }

    // --- what a person reads ---

    /// <summary>Cipher names the TLS policies dropped (unknown or not FIPS-approved), one line per server line.</summary>
    public IEnumerable<string> TlsWarnings =>
        _backends.SelectMany(b => b.Servers)
            .Where(s => s.Tls is { Warnings.Count: > 0 })
            .DistinctBy(s => (s.Config.File, s.Config.Line))   // one line per server-template, not per slot
            .Select(s => $"Server {s.FullName}: {string.Join("; ", s.Tls!.Warnings)} [{s.Config.File}:{s.Config.Line}]");

    public int FrontendCount => _frontends.Count;
    public int BackendCount => _backends.Count;
    public int ServerCount => _backends.Sum(b => b.Servers.Length);
    public int ServersUp => _backends.Sum(b => b.Servers.Count(s => s.IsUsable));
    public long Requests => _frontends.Sum(f => Volatile.Read(ref f.Counters.Requests));
    public long TotalSessions => _frontends.Sum(f => Volatile.Read(ref f.Counters.TotalSessions));

    /// <summary>The first TLS policy of a server, for the start-up warm-up handshake.</summary>
    public TlsPolicy? FirstTlsPolicy => _backends.SelectMany(b => b.Servers).Select(s => s.Tls).FirstOrDefault(t => t is not null);

    // --- IStatsSource ---
    public string Version => Cli.CommandLine.Version;
    public int ProcessId => Environment.ProcessId;
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
    public string FipsSummary { get; }
    public string FipsProvider { get; }
    public string FipsProviderVersion { get; }
    public long CurrentConnections => _context.ActiveConnections;
    public int MaxConn { get; }
    public IReadOnlyList<IFrontendStats> Frontends => _frontends;
    public IReadOnlyList<IBackendStats> Backends => _backends;

    [LoggerMessage(Level = LogLevel.Error, Message = "Proxy {Frontend}: session ended by an unexpected {Type}: {Message}")]
    private static partial void LogSessionCrashed(ILogger log, string frontend, string type, string message);
}
