using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// The resolvers of the shipped cfg against a real DNS server (dnsmasq on loopback) serving the
/// intake names onto 127.0.0.x, where local TLS intakes listen: records that change, a DNS server
/// that goes away, and a nameserver that answers garbage.
/// </summary>
public class DnsBlackBoxTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private const string Metrics = "metrics.agent.ddog-gov.com";

    [Test]
    public async Task Traffic_reaches_every_product_at_the_address_dns_gives_its_name()
    {
        // Every other name on the second intake: each product must land where its own name points.
        await using var set = await IntakeSet.StartAsync(Relay.Ours, intakes: 2,
            records: IntakeSet.Records(r => { foreach (var h in r.Keys.Where(h => h != Metrics).ToList()) r[h] = ["127.0.0.3"]; }));
        foreach (var product in ShippedCfg.Products)
        {
            var id = Payloads.NewTestId();
            await using var c = await RawHttp.ConnectAsync(set.Relay.Port(product));
            await c.SendAsync(RawHttp.Post(product.Path, product.Host, id, 2) + "{}");
            var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(15));
            await Assert.That(response?.IsCompleteSuccess).IsTrue().Because(product.Frontend);
            var at = product.Host == Metrics ? 0 : 1;
            await Assert.That(set.Intake(at).For(id).Count).IsEqualTo(1).Because(product.Frontend);
        }
    }

    [Test]
    public async Task Record_changes_are_followed_within_the_hold()
    {
        await using var set = await IntakeSet.StartAsync(Relay.Ours, intakes: 2,
            tweak: cfg => Regex.Replace(cfg, @"hold obsolete \S+", "hold obsolete 4s"));
        await set.Dns.SetRecordsAsync(IntakeSet.Records(r => r[Metrics] = ["127.0.0.3"]));
        var changed = System.Diagnostics.Stopwatch.StartNew();
        // hold valid 1s (the next query) + hold obsolete 4s (the old address kept meanwhile, on its slot):
        // then all new requests go to .3. Obsolete is long enough that the new address always comes first
        // on a free slot, so the lines below come in one order even on a slow machine.
        int inARow = 0;
        while (inARow < 10)
        {
            if (changed.Elapsed > Bound) throw new TimeoutException($"traffic did not follow the record:\n{set.Relay.Output}");
            var id = Payloads.NewTestId();
            var (response, _) = await set.PostMetricsAsync(id);
            inARow = response?.Status == 202 && set.Intake(1).For(id).Count == 1 ? inARow + 1 : 0;
            await Task.Delay(50);
        }
        await Assert.That(changed.Elapsed.TotalSeconds).IsLessThan(15);
        await set.WaitForLineAsync(@"\[WARNING\]  \(\d+\) : datadog-metrics/mothership2 changed its IP from \(none\) to 127\.0\.0\.3 by my-dns/dns1\.", Bound);
        await set.WaitForLineAsync(@"\[WARNING\]  \(\d+\) : Server datadog-metrics/mothership1 is going DOWN for maintenance \(No IP for server \)\. 1 active and 0 backup servers left\. \d+ sessions active, 0 requeued, 0 remaining in queue\.", Bound);   // a request may be in flight
    }

    [Test]
    public async Task Dns_server_stopped_traffic_keeps_flowing_to_the_last_good_addresses()
    {
        await using var set = await IntakeSet.StartAsync(Relay.Ours);
        await set.StopDnsAsync();
        var stopped = System.Diagnostics.Stopwatch.StartNew();
        // hold valid 1s: the relay asks again within a second and gets no answer; hold timeout/refused 30s keep the addresses.
        while (stopped.Elapsed < TimeSpan.FromSeconds(6))
        {
            var (response, _) = await set.PostMetricsAsync(Payloads.NewTestId());
            await Assert.That(response?.Status).IsEqualTo(202).Because(set.Relay.Output);
            await Task.Delay(200);
        }
        var failing = set.Lines(@"\[WARNING\]  \(\d+\) : resolvers 'my-dns': no valid answer for 'metrics\.agent\.ddog-gov\.com' \(DNS (timeout|refused) status\).*");
        await Assert.That(failing.Count).IsEqualTo(1).Because(set.Relay.Output);   // said once, not per try
        await Assert.That(set.Lines(@".*for maintenance.*").Count).IsEqualTo(0);
        await Assert.That(set.Relay.HasExited).IsFalse();
    }

    [Test]
    [Arguments(true)]
    [Arguments(false)]
    public async Task A_nameserver_answering_garbage_does_not_stop_the_daemon(bool alsoRealDns)
    {
        await using var garbage = new GarbageNameserver();
        await using var set = await IntakeSet.StartAsync(Relay.Ours, waitRelaying: false, tweak: cfg =>
        {
            // The garbage first; the real DNS after it, or not at all.
            var real = Regex.Match(cfg, @"    nameserver dns1 \S+").Value;
            return cfg.Replace(real, $"    nameserver junk 127.0.0.1:{garbage.Port}" + (alsoRealDns ? "\n" + real : ""));
        });
        if (alsoRealDns) await set.Relay.WaitUntilRelayingAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(3000);   // several resolutions, each met with garbage
        await Assert.That(set.Relay.HasExited).IsFalse().Because(set.Relay.Output);
        await Assert.That(garbage.Queries).IsGreaterThan(5);
        var (response, _) = await set.PostMetricsAsync(Payloads.NewTestId());
        await Assert.That(response?.Status).IsEqualTo(alsoRealDns ? 202 : 503).Because(set.Relay.Output);
        // Nothing from the garbage became an address.
        await Assert.That(set.Relay.Output).DoesNotContain("6.6.6.");
        await Assert.That((await set.CsvRowAsync("datadog-metrics", "BACKEND"))["status"]).IsEqualTo(alsoRealDns ? "UP" : "DOWN");
    }

    /// <summary>
    /// A UDP "nameserver" that answers every query with garbage: noise, the issue's answer whose
    /// record is cut short (right ID and question: once an abort at start-up), a pointer loop,
    /// a huge answer count, and a forged answer with a wrong ID, never a valid one.
    /// </summary>
    private sealed class GarbageNameserver : IAsyncDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _queries;

        public GarbageNameserver()
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
            _loop = LoopAsync();
        }

        public int Port { get; }
        public int Queries => Volatile.Read(ref _queries);

        private async Task LoopAsync()
        {
            var rnd = new Random(5);
            var buffer = new byte[4096];
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveFromResult r;
                try { r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token); }
                catch (Exception) { return; }
                Interlocked.Increment(ref _queries);
                var q = buffer[..r.ReceivedBytes];
                int qend = 12;
                while (qend < q.Length && q[qend] != 0) qend += q[qend] + 1;
                qend = Math.Min(qend + 5, q.Length);
                var question = q[12..qend];
                ushort id = BinaryPrimitives.ReadUInt16BigEndian(q);
                var noise = new byte[rnd.Next(1, 300)];
                rnd.NextBytes(noise);
                byte[] Header(ushort an, ushort id2) => [(byte)(id2 >> 8), (byte)id2, 0x81, 0x80, 0, 1, (byte)(an >> 8), (byte)an, 0, 0, 0, 0];
                byte[] cut = [.. Header(1, id), .. question, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0];                       // record ends inside
                byte[] loop = [.. Header(1, id), .. question, 0xc0, (byte)(12 + question.Length), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 6, 6, 6, 1];
                byte[] huge = [.. Header(65535, id), .. question, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 6, 6, 6, 2];
                byte[] forged = [.. Header(1, (ushort)(id ^ 0x5a5a)), .. question, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 6, 6, 6, 3];
                foreach (var reply in new[] { noise, cut, loop, huge, forged })
                {
                    try { await _socket.SendToAsync(reply, SocketFlags.None, r.RemoteEndPoint); } catch (SocketException) { }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _socket.Dispose();
            await _loop;
        }
    }
}
