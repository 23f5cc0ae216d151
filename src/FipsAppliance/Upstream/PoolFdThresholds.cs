namespace FipsAppliance.Upstream;

/// <summary>
/// HAProxy's `tune.pool-low-fd-ratio` and `tune.pool-high-fd-ratio`: idle server connections may
/// hold descriptors only while the process holds few of those it may use. The derived `maxconn`
/// budgets two descriptors per connection (client, server) and nothing for the idle pools, so
/// without this a burst of new clients right after an equal burst ended holds three per
/// connection (client, its new server connection, an idle one of the last burst) and meets
/// EMFILE at accept() or connect().
///
/// As HAProxy 2.6 does it (include/haproxy/server.h `srv_add_to_idle_list`, src/backend.c
/// `connect_server`), with the counts taken as percentages of the descriptors the process may use:
/// - from the high count on no connection is kept idle, and above it each new server connection
///   first closes an idle one of its server;
/// - from the low count on a server keeps only its first idle connection;
/// - below it the pool's own bound (recent use) decides.
///
/// "In use" is what HAProxy's ha_used_fds counts for traffic: listening sockets, client
/// connections and established server connections, of every live model (the descriptor table is
/// the process's, so there is one of these per process, owned by <see cref="Runtime.ProcessContext"/>).
/// </summary>
internal sealed class PoolFdThresholds(Func<long> clientConnections)
{
    /// <summary>HAProxy 2.6's defaults.</summary>
    public const int DefaultLowRatio = 20, DefaultHighRatio = 25;

    private long _serverConnections;
    private volatile int _listeners;
    private volatile int _lowCount = int.MaxValue;
    private volatile int _highCount = int.MaxValue;

    /// <summary>Thresholds that never bind: for a backend built outside a daemon (tests).</summary>
    public static PoolFdThresholds Unbounded() => new(() => 0);

    /// <summary>
    /// Sets the counts from the descriptors the process may use (<paramref name="maxSock"/>: the
    /// budget of <c>maxconn</c>, never more than the fd limit) and the cfg's ratios, rounded up
    /// as HAProxy rounds them; at start and after each reload.
    /// </summary>
    public void Configure(long maxSock, int lowRatio, int highRatio, int listeners)
    {
        _lowCount = Count(maxSock, lowRatio);
        _highCount = Count(maxSock, highRatio);
        _listeners = listeners;
    }

    private static int Count(long maxSock, int ratio) => (int)Math.Min(int.MaxValue, (maxSock * ratio + 99) / 100);

    /// <summary>Sockets held for traffic now.</summary>
    public long InUse => _listeners + clientConnections() + Volatile.Read(ref _serverConnections);

    public void ServerConnectionOpened() => Interlocked.Increment(ref _serverConnections);
    public void ServerConnectionClosed() => Interlocked.Decrement(ref _serverConnections);

    /// <summary>A server's first idle connection may be kept.</summary>
    public bool MayKeepFirstIdle => InUse < _highCount;

    /// <summary>A server may keep more than one idle connection (its recent use permitting).</summary>
    public bool MayKeepMoreIdle => InUse < _lowCount;

    /// <summary>A new server connection should first close an idle one.</summary>
    public bool OverHigh => InUse > _highCount;
}
