using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using FipsAppliance.Backends.Dns;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Backends;

/// <summary>
/// A nameserver on 127.0.0.1 for the client's tests: UDP (and TCP on the same port), answering each
/// query with whatever <see cref="Answer"/> returns (any number of datagrams, right or wrong), and
/// recording the queries with the source port they came from.
/// </summary>
internal sealed class FakeNameserver : IAsyncDisposable
{
    private readonly Socket _udp = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly TcpListener _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _udpLoop, _tcpLoop;

    public FakeNameserver()
    {
        // The same port for UDP and TCP: bind TCP first on a free port, then UDP on it (retry if taken).
        while (true)
        {
            _tcp = new TcpListener(IPAddress.Loopback, 0);
            _tcp.Start();
            Port = ((IPEndPoint)_tcp.LocalEndpoint).Port;
            try
            {
                _udp.Bind(new IPEndPoint(IPAddress.Loopback, Port));
                break;
            }
            catch (SocketException) { _tcp.Stop(); }
        }
        _udpLoop = UdpLoopAsync();
        _tcpLoop = TcpLoopAsync();
    }

    public int Port { get; }
    public DnsServer Server(string name = "fake") => new(name, new IPEndPoint(IPAddress.Loopback, Port));
    public ConcurrentQueue<(byte[] Query, int SourcePort, bool Tcp)> Queries { get; } = new();

    /// <summary>(query, tcp) → the datagrams (or TCP messages) to send back.</summary>
    public Func<byte[], bool, IEnumerable<byte[]>> Answer { get; set; } = (_, _) => [];

    private async Task UdpLoopAsync()
    {
        var buffer = new byte[65535];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try { r = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token); }
            catch (Exception) { return; }
            var query = buffer[..r.ReceivedBytes];
            Queries.Enqueue((query, ((IPEndPoint)r.RemoteEndPoint).Port, false));
            foreach (var reply in Answer(query, false))
            {
                try { await _udp.SendToAsync(reply, SocketFlags.None, r.RemoteEndPoint); } catch (SocketException) { }
            }
        }
    }

    private async Task TcpLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket c;
            try { c = await _tcp.AcceptSocketAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using (c)
                {
                    try
                    {
                        var len = new byte[2];
                        await c.ReceiveAsync(len, SocketFlags.None);
                        var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(len)];
                        int got = 0;
                        while (got < query.Length) got += await c.ReceiveAsync(query.AsMemory(got), SocketFlags.None);
                        Queries.Enqueue((query, ((IPEndPoint)c.RemoteEndPoint!).Port, true));
                        foreach (var reply in Answer(query, true))
                        {
                            var framed = new byte[2 + reply.Length];
                            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)reply.Length);
                            reply.CopyTo(framed, 2);
                            await c.SendAsync(framed, SocketFlags.None);
                        }
                    }
                    catch (Exception) { }
                }
            });
        }
    }

    public static ushort Id(byte[] query) => BinaryPrimitives.ReadUInt16BigEndian(query);

    /// <summary>A correct answer to <paramref name="query"/> (its ID and question) with these A addresses.</summary>
    public static byte[] Reply(byte[] query, ushort flags, params string[] addresses)
    {
        int questionEnd = 12;
        while (query[questionEnd] != 0) questionEnd += query[questionEnd] + 1;
        questionEnd += 5;
        var b = new DnsAnswerBuilder(Id(query), flags, an: addresses.Length).Bytes(query[12..questionEnd]);
        foreach (var a in addresses) b.A(a);
        return b.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Stop();
        await Task.WhenAll(_udpLoop, _tcpLoop);
    }
}

public class DnsClientTests
{
    private const string Host = "metrics.agent.ddog-gov.com";

    private static Task<DnsResult> Resolve(IReadOnlyList<DnsServer> ns, int retries = 3, int timeoutMs = 1000) =>
        DnsClient.ResolveAsync(Host, DnsMessage.TypeA, ns, retries, timeoutMs, 1232, CancellationToken.None);

    [Test]
    public async Task Truncated_udp_answer_is_asked_again_over_tcp()
    {
        await using var ns = new FakeNameserver
        {
            Answer = (q, tcp) => tcp ? [FakeNameserver.Reply(q, 0x8180, "10.0.0.1", "10.0.0.2")] : [FakeNameserver.Reply(q, 0x8380)],
        };
        var r = await Resolve([ns.Server()]);
        await Assert.That(r.Status).IsEqualTo(DnsStatus.Valid);
        await Assert.That(r.Addresses.Length).IsEqualTo(2);
        await Assert.That(ns.Queries.Count(q => q.Tcp)).IsEqualTo(1);
    }

    [Test]
    public async Task Garbage_and_spoofed_datagrams_before_the_answer_are_ignored()
    {
        var rnd = new Random(7);
        await using var ns = new FakeNameserver
        {
            Answer = (q, _) =>
            {
                var wrongId = FakeNameserver.Reply(q, 0x8180, "6.6.6.6");
                wrongId[0] ^= 0xff;
                var noise = new byte[200];
                rnd.NextBytes(noise);
                var cut = FakeNameserver.Reply(q, 0x8180, "6.6.6.7")[..^2];      // ours, but malformed
                return [noise, wrongId, [], cut, FakeNameserver.Reply(q, 0x8180, "10.0.0.9")];
            },
        };
        var r = await Resolve([ns.Server()]);
        await Assert.That(r.Status).IsEqualTo(DnsStatus.Valid);
        await Assert.That(r.Addresses.Single().ToString()).IsEqualTo("10.0.0.9");
        await Assert.That(ns.Queries.Count).IsEqualTo(1);
    }

    [Test]
    public async Task Noise_from_one_nameserver_does_not_beat_the_answer_of_another()
    {
        var rnd = new Random(11);
        await using var bad = new FakeNameserver
        {
            Answer = (q, _) =>
            {
                var noise = new byte[100];
                rnd.NextBytes(noise);
                return [noise, FakeNameserver.Reply(q, 0x8180, "6.6.6.6")[..^1], FakeNameserver.Reply(q, 0x8182)];
            },
        };
        await using var good = new FakeNameserver { Answer = (q, _) => [FakeNameserver.Reply(q, 0x8180, "10.0.0.5")] };
        var r = await Resolve([bad.Server("bad"), good.Server("good")]);
        await Assert.That(r.Status).IsEqualTo(DnsStatus.Valid);
        await Assert.That(r.AnsweredBy?.Name).IsEqualTo("good");
        await Assert.That(r.Addresses.Single().ToString()).IsEqualTo("10.0.0.5");
    }

    [Test]
    public async Task Every_query_has_a_random_id_and_its_own_source_port_and_edns0()
    {
        await using var ns = new FakeNameserver { Answer = (q, _) => [FakeNameserver.Reply(q, 0x8180, "10.0.0.1")] };
        for (int i = 0; i < 24; i++) await Resolve([ns.Server()]);
        var queries = ns.Queries.ToArray();
        await Assert.That(queries.Length).IsEqualTo(24);
        await Assert.That(queries.Select(q => FakeNameserver.Id(q.Query)).Distinct().Count()).IsGreaterThanOrEqualTo(22);
        await Assert.That(queries.Select(q => q.SourcePort).Distinct().Count()).IsGreaterThanOrEqualTo(22);
        foreach (var (q, _, _) in queries)
        {
            await Assert.That(BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(10))).IsEqualTo((ushort)1);   // the OPT record
            await Assert.That(BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(q.Length - 8))).IsEqualTo((ushort)1232);
        }
    }

    [Test]
    public async Task Silence_is_a_timeout_after_every_try_and_nxdomain_is_final_at_once()
    {
        await using var silent = new FakeNameserver();
        var started = Environment.TickCount64;
        var r = await Resolve([silent.Server()], retries: 2, timeoutMs: 150);
        await Assert.That(r.Status).IsEqualTo(DnsStatus.Timeout);
        await Assert.That(silent.Queries.Count).IsEqualTo(2);
        await Assert.That(Environment.TickCount64 - started).IsGreaterThanOrEqualTo(250);

        await using var nx = new FakeNameserver { Answer = (q, _) => [FakeNameserver.Reply(q, 0x8183)] };
        r = await Resolve([nx.Server()], retries: 3, timeoutMs: 5000);
        await Assert.That(r.Status).IsEqualTo(DnsStatus.Nx);
        await Assert.That(nx.Queries.Count).IsEqualTo(1);
    }

    [Test]
    public async Task A_closed_port_is_refused()
    {
        int port = Ports.ClosedUdp();
        var r = await Resolve([new DnsServer("gone", new IPEndPoint(IPAddress.Loopback, port))], retries: 1, timeoutMs: 2000);
        await Assert.That(r.Status).IsIn(DnsStatus.Refused, DnsStatus.Timeout);
    }
}
