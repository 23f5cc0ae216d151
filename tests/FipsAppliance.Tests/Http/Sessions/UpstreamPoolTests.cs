using System.Net;
using System.Net.Sockets;
using FipsAppliance.Backends;
using FipsAppliance.Configuration;
using FipsAppliance.Upstream;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>The idle pool, bounded by recent use and purged as HAProxy's pool-purge-delay does.</summary>
public class UpstreamPoolTests
{
    private sealed class Pairs : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        public List<Socket> ServerSides { get; } = [];
        public Server Server { get; }

        public Pairs(PoolFdThresholds? fds = null, HttpReuse reuse = HttpReuse.Safe, int poolMaxConn = -1, int poolPurgeDelay = 5000, int poolLowConn = 0)
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(64);
            var backend = new Backend(new ProxySection { Name = "be", Mode = ProxyMode.Http, HttpReuse = reuse }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, fds);
            Server = new Server(backend, new ServerLine
            {
                Name = "s1", Address = "127.0.0.1", Port = ((IPEndPoint)_listener.LocalEndPoint!).Port,
                PoolMaxConn = poolMaxConn, PoolPurgeDelay = poolPurgeDelay, PoolLowConn = poolLowConn,
            }, null);
            backend.Servers = [Server];
            Server.SetInitialAddress(IPAddress.Loopback);
            Server.InitState();
            backend.InitState();
        }

        /// <summary>A connection in use (as after a connect), its peer kept in <see cref="ServerSides"/>.</summary>
        public async Task<UpstreamConnection> OpenAsync()
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(_listener.LocalEndPoint!);
            ServerSides.Add(await _listener.AcceptAsync());
            Server.Pool.Opened();
            return new UpstreamConnection(Server, client, null);
        }

        public void Dispose()
        {
            foreach (var s in ServerSides) s.Dispose();
            _listener.Dispose();
        }
    }

    private static async Task<List<UpstreamConnection>> UseAndReturn(Pairs pairs, int count, long now)
    {
        var all = new List<UpstreamConnection>();
        for (int i = 0; i < count; i++) all.Add(await pairs.OpenAsync());
        foreach (var c in all)
        {
            c.GoIdle();
            pairs.Server.Pool.Return(c, now);
        }
        return all;
    }

    [Test]
    public async Task Keeps_no_more_idle_connections_than_recent_use_justifies()
    {
        using var pairs = new Pairs();
        // Nothing known about the need yet: the first connection back is kept, the rest closed.
        await UseAndReturn(pairs, 4, now: 0);
        await Assert.That(pairs.Server.Pool.IdleCount).IsEqualTo(1);
    }

    [Test]
    public async Task An_idle_connection_let_go_is_shut_down_then_closed_by_its_armed_read()
    {
        using var pairs = new Pairs();
        // Four back while the need is unknown: one kept, three let go while their reads are armed.
        var all = await UseAndReturn(pairs, 4, now: 0);
        var closed = all.Where(c => c.IsDisposed).ToList();
        await Assert.That(closed.Count).IsEqualTo(3);
        foreach (var c in closed)
        {
            // The server sees the end (FIN, not a reset), and the socket itself is released once the
            // armed read has come back with EOF (not left open behind a shutdown).
            var side = pairs.ServerSides[all.IndexOf(c)];
            side.ReceiveTimeout = 5000;
            await Assert.That(side.Receive(new byte[1])).IsEqualTo(0);
            await SessionHarness.Until(() => c.Socket.SafeHandle.IsClosed, "the socket closed after its armed read ended");
        }
        var kept = all.Single(c => !c.IsDisposed);
        await Assert.That(kept.Socket.SafeHandle.IsClosed).IsFalse();
    }

    [Test]
    public async Task Keeps_what_was_needed_then_halves_the_excess_each_purge_delay()
    {
        using var pairs = new Pairs();
        var pool = pairs.Server.Pool;
        var inUse = new List<UpstreamConnection>();
        for (int i = 0; i < 8; i++) inUse.Add(await pairs.OpenAsync());
        pool.Purge(0);                       // 8 were in use at once: that is the need
        foreach (var c in inUse)
        {
            c.GoIdle();
            pool.Return(c, 0);
        }
        await Assert.That(pool.IdleCount).IsEqualTo(8);

        var counts = new List<int>();
        for (long t = UpstreamPool.PurgeDelayMs; t <= 60_000; t += UpstreamPool.PurgeDelayMs)
        {
            pool.Purge(t);
            counts.Add(pool.IdleCount);
        }
        // Nothing used any more: the estimate halves, and so do the idle connections, down to none.
        await Assert.That(counts[0]).IsEqualTo(8);
        await Assert.That(counts.Zip(counts.Skip(1)).All(p => p.First >= p.Second)).IsTrue();
        await Assert.That(counts[^1]).IsEqualTo(0);
    }

    /// <summary>
    /// Thresholds as a process of 100 usable descriptors has them by default (low 20, high 25),
    /// with the client connections the test sets.
    /// </summary>
    private sealed class Fds
    {
        public long Clients;
        public PoolFdThresholds Thresholds { get; }

        public Fds()
        {
            Thresholds = new PoolFdThresholds(() => Clients);
            Thresholds.Configure(maxSock: 100, PoolFdThresholds.DefaultLowRatio, PoolFdThresholds.DefaultHighRatio, listeners: 1);
        }
    }

    private static async Task<List<UpstreamConnection>> NeededThenReturned(Pairs pairs, int count)
    {
        var inUse = new List<UpstreamConnection>();
        for (int i = 0; i < count; i++) inUse.Add(await pairs.OpenAsync());
        pairs.Server.Pool.Purge(0);          // count were in use at once: that is the need
        foreach (var c in inUse)
        {
            c.GoIdle();
            pairs.Server.Pool.Return(c, 0);
        }
        return inUse;
    }

    [Test]
    public async Task Counts_the_server_connections_that_hold_descriptors()
    {
        var fds = new Fds();
        using var pairs = new Pairs(fds.Thresholds);
        await Assert.That(fds.Thresholds.InUse).IsEqualTo(1);         // the listener
        var a = await pairs.OpenAsync();
        var b = await pairs.OpenAsync();
        fds.Clients = 2;
        await Assert.That(fds.Thresholds.InUse).IsEqualTo(5);
        a.Dispose();                                                    // in use: closed at once
        await Assert.That(fds.Thresholds.InUse).IsEqualTo(4);
        b.GoIdle();
        b.Dispose();                                                    // idle: closed when its armed read ends
        await SessionHarness.Until(() => fds.Thresholds.InUse == 3, "the idle connection's descriptor counted as closed");
    }

    /// <summary>
    /// In use: 1 listener, the clients, 3 server connections until those let go have closed (their
    /// armed reads end on another thread meanwhile), so each case stays on its side of the counts
    /// whatever the order.
    /// </summary>
    [Test]
    [Arguments(0, 3)]     // 2-4 in use: below the low count, the need decides
    [Arguments(19, 1)]    // 21-23: between low (20) and high (25), the first idle connection only
    [Arguments(24, 0)]    // 25-28: from the high count on, none
    public async Task Keeps_idle_connections_by_the_descriptors_in_use(int clients, int kept)
    {
        var fds = new Fds { Clients = clients };
        using var pairs = new Pairs(fds.Thresholds);
        await NeededThenReturned(pairs, 3);
        await Assert.That(pairs.Server.Pool.IdleCount).IsEqualTo(kept);
    }

    [Test]
    public async Task A_new_connection_above_the_high_count_first_closes_the_oldest_idle_one()
    {
        var fds = new Fds();
        using var pairs = new Pairs(fds.Thresholds);
        var returned = await NeededThenReturned(pairs, 8);
        var pool = pairs.Server.Pool;
        await Assert.That(pool.IdleCount).IsEqualTo(8);

        // 1 + 8 + 16 = 25: at the high count, not above it: nothing to make room for.
        fds.Clients = 16;
        await Assert.That(pool.CloseOneForNewConnection()).IsFalse();
        await Assert.That(pool.IdleCount).IsEqualTo(8);

        fds.Clients = 17;
        await Assert.That(pool.CloseOneForNewConnection()).IsTrue();
        await Assert.That(pool.IdleCount).IsEqualTo(7);
        await Assert.That(returned[0].IsDisposed).IsTrue();             // the oldest
        await Assert.That(returned.Skip(1).Any(c => c.IsDisposed)).IsFalse();
    }

    [Test]
    [Arguments(-1, 8)]    // HAProxy's default: no fixed bound, the need decides
    [Arguments(2, 2)]
    [Arguments(0, 0)]     // no connection kept for other sessions
    public async Task Pool_max_conn_bounds_the_idle_connections(int poolMaxConn, int kept)
    {
        using var pairs = new Pairs(poolMaxConn: poolMaxConn);
        await NeededThenReturned(pairs, 8);
        await Assert.That(pairs.Server.Pool.IdleCount).IsEqualTo(kept);
    }

    [Test]
    public async Task Http_reuse_never_and_pool_purge_delay_0_keep_no_idle_connection()
    {
        using var never = new Pairs(reuse: HttpReuse.Never);
        await NeededThenReturned(never, 3);
        await Assert.That(never.Server.Pool.IdleCount).IsEqualTo(0);
        using var noPurge = new Pairs(poolPurgeDelay: 0);
        await NeededThenReturned(noPurge, 3);
        await Assert.That(noPurge.Server.Pool.IdleCount).IsEqualTo(0);
    }

    [Test]
    public async Task Pool_low_conn_keeps_that_many_beyond_the_recent_need()
    {
        // The need unknown (no purge yet): the first connection back is kept, and with
        // pool-low-conn 2 two more while used + idle stays within used + 2.
        using var pairs = new Pairs(poolLowConn: 2);
        await UseAndReturn(pairs, 4, now: 0);
        await Assert.That(pairs.Server.Pool.IdleCount).IsEqualTo(3);
    }

    [Test]
    public async Task A_purge_comes_every_pool_purge_delay()
    {
        using var pairs = new Pairs(poolPurgeDelay: 20_000);
        var pool = pairs.Server.Pool;
        await NeededThenReturned(pairs, 8);                    // a purge at 0 learned the need: 8
        // At the default 5 s the third purge (15 s) would already close 2 of them.
        for (long t = 5_000; t <= 15_000; t += 5_000) pool.Purge(t);
        await Assert.That(pool.IdleCount).IsEqualTo(8);
        // Every 20 s: the need decays over two purges, the third closes half the excess.
        for (long t = 20_000; t <= 60_000; t += 20_000) pool.Purge(t);
        await Assert.That(pool.IdleCount).IsEqualTo(6);
    }

    /// <summary>
    /// Whether a request takes the idle connection (one that has carried <paramref name="carried"/>
    /// requests) or opens its own, by `http-reuse`, as HAProxy 2.6 decides.
    /// </summary>
    [Test]
    [Arguments(HttpReuse.Safe, true, 2, false)]
    [Arguments(HttpReuse.Safe, false, 1, true)]
    [Arguments(HttpReuse.Aggressive, true, 1, false)]
    [Arguments(HttpReuse.Aggressive, true, 2, true)]
    [Arguments(HttpReuse.Aggressive, false, 1, true)]
    [Arguments(HttpReuse.Always, true, 1, true)]
    [Arguments(HttpReuse.Never, false, 2, false)]
    public async Task A_request_takes_an_idle_connection_as_http_reuse_allows(HttpReuse reuse, bool firstRequest, int carried, bool reused)
    {
        using var pairs = new Pairs(reuse: reuse, poolMaxConn: 1);
        var idle = await pairs.OpenAsync();
        idle.Requests = carried;
        idle.GoIdle();
        pairs.Server.Pool.Return(idle, 0);
        // Never keeps nothing in the pool: put it there as another mode would have.
        if (reuse == HttpReuse.Never) await Assert.That(pairs.Server.Pool.IdleCount).IsEqualTo(0);
        else await Assert.That(pairs.Server.Pool.IdleCount).IsEqualTo(1);

        var lease = new UpstreamLease(() => 0);
        var result = await lease.AcquireAsync(pairs.Server.Backend, firstRequest, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await Assert.That(result.Connection).IsNotNull();
        await Assert.That(ReferenceEquals(result.Connection, idle)).IsEqualTo(reused);
        lease.Release(clean: false);
        lease.EndSession();
    }

    [Test]
    public async Task The_stats_see_unsafe_and_safe_idle_connections_those_in_use_and_the_need()
    {
        using var pairs = new Pairs(poolMaxConn: 10);
        var returned = await NeededThenReturned(pairs, 3);   // the need learned: 3
        var inUse = await pairs.OpenAsync();
        await Assert.That(pairs.Server.IdlePool).IsEqualTo(new FipsAppliance.Stats.ServerPoolStats(3, 0, 1, 3, 10));
        inUse.Dispose();
        pairs.Server.Pool.Closed();
        // A connection that carried a second request is safe (HAProxy's safe list).
        var again = pairs.Server.Pool.TryTake()!;
        again.Requests = 2;
        again.GoIdle();
        pairs.Server.Pool.Return(again, 0);
        await Assert.That(pairs.Server.IdlePool).IsEqualTo(new FipsAppliance.Stats.ServerPoolStats(2, 1, 0, 3, 10));
    }

    [Test]
    public async Task Skips_an_idle_connection_the_server_closed_or_spoke_on()
    {
        using var pairs = new Pairs();
        var pool = pairs.Server.Pool;
        var inUse = new List<UpstreamConnection>();
        for (int i = 0; i < 2; i++) inUse.Add(await pairs.OpenAsync());
        pool.Purge(0);
        foreach (var c in inUse)
        {
            c.GoIdle();
            pool.Return(c, 0);
        }
        pairs.ServerSides[0].Shutdown(SocketShutdown.Send);             // EOF while idle
        await pairs.ServerSides[1].SendAsync("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray());  // unasked bytes
        await SessionHarness.Until(() => inUse.All(c => c.IsDisposed), "both idle connections closed by their armed reads");
        await Assert.That(pool.TryTake()).IsNull();
    }

    [Test]
    public async Task A_closed_pool_closes_what_sessions_give_back_after_it()
    {
        using var pairs = new Pairs();
        var pool = pairs.Server.Pool;
        var unwinding = await pairs.OpenAsync();
        // The model is disposed while a cut session still holds its connection…
        pool.Close();
        // …which the session gives back as it unwinds: closed, not kept for a model that is gone.
        unwinding.GoIdle();
        pool.Return(unwinding, 0);
        await Assert.That(unwinding.IsDisposed).IsTrue();
        await Assert.That(pool.IdleCount).IsEqualTo(0);
        await Assert.That(pool.TryTake()).IsNull();
    }
}
