using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// Access lines go where the cfg's `log` lines say, as HAProxy 2.6 sends them: a UDP syslog in
/// HAProxy's default framing, stdout, nowhere without a `log` line; a stuck unix syslog costs
/// lines, not relay throughput or memory.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class LogTargetTests(ShippedEnvironment env)
{
    private static string HttpLog(string cfg) => cfg.Replace("    option dontlognull\n", "    option dontlognull\n    option httplog\n", StringComparison.Ordinal);

    private static string LogTo(string cfg, string target) =>
        Regex.Replace(cfg, @"(?m)^(\s+)log 127\.0\.0\.1 local0$", "$1log " + target + " local0");

    [Test]
    [Arguments(Relay.Ours, "datadog-fips-proxy")]
    [Arguments(Relay.HaProxy, "haproxy")]
    public async Task Access_lines_reach_a_udp_syslog_as_haproxy_frames_them(Relay which, string tag)
    {
        using var syslog = UdpSyslog(out int port);
        await using var relay = await StartLoggingToAsync(which, port, HttpLog);

        var id = Payloads.NewTestId();
        await RelayOneAsync(relay, id);
        var line = await ReceiveLineAsync(syslog, id, TimeSpan.FromSeconds(10));
        await Assert.That(line).IsNotNull();
        // <local0.info> Mmm dd hh:mm:ss tag[pid]: the httplog line, then a newline (haproxy 2.6.12's default).
        await Assert.That(line!).Matches(new Regex(
            $@"^<134>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d {tag}\[{relay.Process.Pid}\]: " +
            $@"127\.0\.0\.1:\d+ \[\d\d/\w{{3}}/\d{{4}}:\d\d:\d\d:\d\d\.\d{{3}}\] metrics-forwarder datadog-metrics/mothership\d " +
            $@"\d+/\d+/\d+/\d+/\d+ 202 \d+ - - [-\w]{{4}} \d+/\d+/\d+/\d+/\d+ 0/0 ""GET /api/v2/series\?{id} HTTP/1\.1""\n$"));
    }

    [Test]
    [Arguments(Relay.Ours, "datadog-fips-proxy")]
    [Arguments(Relay.HaProxy, "haproxy")]
    public async Task Without_a_log_format_option_each_http_request_logs_haproxys_connect_from_line(Relay which, string tag)
    {
        // The shipped cfg as it is: its HTTP frontends have `log global` and no `option httplog`,
        // so HAProxy writes its default format, a line per stream (per request in HTTP mode).
        using var syslog = UdpSyslog(out int port);
        await using var relay = await StartLoggingToAsync(which, port, cfg => cfg);
        await DrainAsync(syslog);   // whatever the readiness probes logged

        await using (var c = await RawHttp.ConnectAsync(relay.MetricsPort))
        {
            for (int i = 0; i < 2; i++)
            {
                await c.SendAsync("GET /api/v2/series HTTP/1.1\r\nHost: metrics.agent.ddog-gov.com\r\n\r\n");
                await Assert.That((await c.ReadFinalResponseAsync())?.Status).IsEqualTo(202);
            }
        }
        var lines = await ReceiveAllAsync(syslog, TimeSpan.FromSeconds(3));
        var line = new Regex(
            $@"^<134>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d {tag}\[{relay.Process.Pid}\]: " +
            $@"Connect from 127\.0\.0\.1:(\d+) to 127\.0\.0\.1:{relay.MetricsPort} \(metrics-forwarder/HTTP\)\n$");
        await Assert.That(lines.Count).IsEqualTo(2).Because(string.Join("", lines));
        var ports = lines.Select(l => line.Match(l)).Select(m => m.Success ? m.Groups[2].Value : "no match").ToList();
        await Assert.That(ports[0]).IsNotEqualTo("no match").Because(lines[0]);
        await Assert.That(ports[1]).IsEqualTo(ports[0]).Because(string.Join("", lines));   // both from the one connection
    }

    [Test]
    [Arguments(Relay.Ours, "datadog-fips-proxy")]
    [Arguments(Relay.HaProxy, "haproxy")]
    public async Task Option_tcplog_on_an_http_frontend_logs_a_tcplog_line_per_request(Relay which, string tag)
    {
        // A cfg carried over from a TCP setup: `option tcplog` for every proxy, HTTP ones included.
        using var syslog = UdpSyslog(out int port);
        await using var relay = await StartLoggingToAsync(which, port,
            cfg => cfg.Replace("    option dontlognull\n", "    option dontlognull\n    option tcplog\n", StringComparison.Ordinal));
        await DrainAsync(syslog);

        await using (var c = await RawHttp.ConnectAsync(relay.MetricsPort))
        {
            for (int i = 0; i < 2; i++)
            {
                var id = Payloads.NewTestId();
                await c.SendAsync($"GET /api/v2/series?{id} HTTP/1.1\r\nHost: metrics.agent.ddog-gov.com\r\n{TestIntake.TestIdHeader}: {id}\r\n\r\n");
                await Assert.That((await c.ReadFinalResponseAsync())?.Status).IsEqualTo(202);
            }
        }
        var lines = await ReceiveAllAsync(syslog, TimeSpan.FromSeconds(3));
        // %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq: no request line, no status.
        var line = new Regex(
            $@"^<134>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d {tag}\[{relay.Process.Pid}\]: " +
            $@"127\.0\.0\.1:(\d+) \[\d\d/\w{{3}}/\d{{4}}:\d\d:\d\d:\d\d\.\d{{3}}\] metrics-forwarder datadog-metrics/mothership\d " +
            $@"\d+/\d+/\d+ \d+ -- \d+/\d+/\d+/\d+/\d+ 0/0\n$");
        await Assert.That(lines.Count).IsEqualTo(2).Because(string.Join("", lines));
        var ports = lines.Select(l => line.Match(l)).Select(m => m.Success ? m.Groups[2].Value : "no match").ToList();
        await Assert.That(ports[0]).IsNotEqualTo("no match").Because(lines[0]);
        await Assert.That(ports[1]).IsEqualTo(ports[0]).Because(string.Join("", lines));   // a line per request of the one connection
    }

    /// <summary>
    /// `log-send-hostname <name>` (accepted and ignored before): the name takes the host field of
    /// the header, here rfc5424's (`-` without it), in both relays.
    /// </summary>
    [Test]
    [Arguments(Relay.Ours, "datadog-fips-proxy")]
    [Arguments(Relay.HaProxy, "haproxy")]
    public async Task Log_send_hostname_names_the_host_in_the_syslog_header(Relay which, string tag)
    {
        using var syslog = UdpSyslog(out int port);
        var relayStart = LifecycleRelay.StartAsync(env, which: which, tweak: cfg =>
            Regex.Replace(HttpLog(LogTo(cfg, $"127.0.0.1:{port} format rfc5424")), "(?m)^global\n", "global\n    log-send-hostname relay-7.example\n"));
        await using var relay = await relayStart;

        var id = Payloads.NewTestId();
        await RelayOneAsync(relay, id);
        var line = await ReceiveLineAsync(syslog, id, TimeSpan.FromSeconds(10));
        await Assert.That(line).IsNotNull();
        await Assert.That(line!).Matches(new Regex(
            $@"^<134>1 \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{6}}[+-]\d\d:\d\d relay-7\.example {tag} {relay.Process.Pid} - - 127\.0\.0\.1:\d+ "));
        await Assert.That(relay.Output).DoesNotContain("log-send-hostname");
    }

    /// <summary>One metrics request carrying <paramref name="id"/> (in its path too, so its access line can be found), relayed with 202.</summary>
    private static async Task RelayOneAsync(RelayUnderTest relay, string id)
    {
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync($"GET /api/v2/series?{id} HTTP/1.1\r\nHost: metrics.agent.ddog-gov.com\r\n{TestIntake.TestIdHeader}: {id}\r\nConnection: close\r\n\r\n");
        await Assert.That((await c.ReadFinalResponseAsync())?.Status).IsEqualTo(202);
    }

    /// <summary>A UDP socket on a free loopback port, standing in for a syslog daemon.</summary>
    private static Socket UdpSyslog(out int port)
    {
        var syslog = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        syslog.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        port = ((IPEndPoint)syslog.LocalEndPoint!).Port;
        return syslog;
    }

    /// <summary>The shipped cfg with its `log` line sent to 127.0.0.1:<paramref name="port"/>, relaying.</summary>
    private Task<RelayUnderTest> StartLoggingToAsync(Relay which, int port, Func<string, string> tweak) =>
        LifecycleRelay.StartAsync(env, tweak: cfg => tweak(LogTo(cfg, $"127.0.0.1:{port}")), which: which);

    private static async Task DrainAsync(Socket socket)
    {
        var buffer = new byte[65536];
        await Task.Delay(300);
        while (socket.Available > 0) await socket.ReceiveAsync(buffer, SocketFlags.None);
    }

    /// <summary>Every datagram that arrives within <paramref name="window"/>.</summary>
    private static async Task<List<string>> ReceiveAllAsync(Socket socket, TimeSpan window)
    {
        var lines = new List<string>();
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(window);
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                lines.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException) { }
        return lines;
    }

    private static async Task<string?> ReceiveLineAsync(Socket socket, string containing, TimeSpan timeout)
    {
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                var text = Encoding.UTF8.GetString(buffer, 0, n);
                if (text.Contains(containing, StringComparison.Ordinal)) return text;
            }
        }
        catch (OperationCanceledException) { return null; }
    }

    [Test]
    public async Task Without_a_log_line_access_lines_go_nowhere_and_log_stdout_writes_them()
    {
        var idNowhere = Payloads.NewTestId();
        await using (var relay = await LifecycleRelay.StartAsync(env, tweak: cfg => HttpLog(cfg.Replace("    log 127.0.0.1 local0\n", "", StringComparison.Ordinal))))
        {
            await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, idNowhere)).IsEqualTo(202);
            await Task.Delay(500);
            await Assert.That(relay.Output).DoesNotContain("GET /api/v2/series");
        }
        await using (var relay = await LifecycleRelay.StartAsync(env, tweak: cfg => HttpLog(LogTo(cfg, "stdout format raw"))))
        {
            await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, Payloads.NewTestId())).IsEqualTo(202);
            await Assert.That(await relay.Process.WaitForOutputAsync("metrics-forwarder datadog-metrics/", TimeSpan.FromSeconds(10))).IsTrue().Because(relay.Output);
            await Assert.That(relay.Output).Matches(@"(?m)^127\.0\.0\.1:\d+ \[.*\] metrics-forwarder datadog-metrics/mothership\d .* ""GET /api/v2/series HTTP/1\.1""$");
        }
    }

    [Test]
    [NotInParallel("load")]
    public async Task A_stuck_unix_syslog_does_not_slow_the_relay_or_grow_its_memory()
    {
        using var dir = new TempDir();
        var path = dir.Combine("log");
        using var stuck = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        stuck.Bind(new UnixDomainSocketEndPoint(path));   // bound, never read: a syslog that hangs

        await using var relay = await LifecycleRelay.StartAsync(env, tweak: cfg => HttpLog(LogTo(cfg, path)));
        var url = $"http://127.0.0.1:{relay.MetricsPort}/api/v2/series";
        string[] headers = [$"{TestIntake.TestIdHeader}: stuck-syslog"];
        // Warm: pools and buffers reach their working size before memory is measured.
        await Wrk.RunAsync(url, TimeSpan.FromSeconds(2), headers: headers);
        long rssBefore = ProcStat.RssKiB(relay.Process.Pid);

        var stuckRun = await Wrk.RunAsync(url, TimeSpan.FromSeconds(5), headers: headers);
        long rssAfter = ProcStat.RssKiB(relay.Process.Pid);

        // The same relay and the same log volume, to a unix socket the test drains, for comparison
        // (so the difference is the stuck reader, not the work of logging).
        var drainedPath = dir.Combine("drained");
        using var drained = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        drained.Bind(new UnixDomainSocketEndPoint(drainedPath));
        using var stopDraining = new CancellationTokenSource();
        var draining = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try { while (true) await drained.ReceiveAsync(buffer, SocketFlags.None, stopDraining.Token); }
            catch (OperationCanceledException) { }
        });
        var cfg = File.ReadAllText(relay.CfgPath);
        await Assert.That(await LifecycleRelay.ReloadAsync(relay, cfg.Replace($"log {path} local0", $"log {drainedPath} local0", StringComparison.Ordinal), 2)).IsTrue();
        var freeRun = await Wrk.RunAsync(url, TimeSpan.FromSeconds(5), headers: headers);
        stopDraining.Cancel();
        await draining;

        await Assert.That(stuckRun.Non2xx + stuckRun.SocketErrors).IsEqualTo(0).Because(stuckRun.Output);
        // Every line past the socket's queue was dropped, and the relay said so.
        await Assert.That(relay.Output).Contains($"log target {path}: ");
        await Assert.That(relay.Output).Contains("the receiver does not keep up");
        // Not slower: a blocking logger would stall the relay behind the first full socket buffer
        // (near zero); a third leaves room for a machine shared with other work.
        await Assert.That(stuckRun.Requests).IsGreaterThan(freeRun.Requests / 3).Because($"stuck: {stuckRun.Requests}, free: {freeRun.Requests}");
        // Bounded memory: the queue and socket buffers are fixed; a growing backlog would show here.
        await Assert.That(rssAfter - rssBefore).IsLessThan(24 * 1024).Because($"RSS {rssBefore} KiB -> {rssAfter} KiB after {stuckRun.Requests} requests");
    }
}
