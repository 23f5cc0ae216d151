using System.Diagnostics;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// SIGTERM stops the published binary gracefully: listeners close at once, requests in flight
/// finish until hard-stop-after, idle keep-alive connections do not hold the stop open, exit 0.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class StopTests(ShippedEnvironment env)
{
    [Test]
    public async Task Sigterm_lets_an_inflight_10MiB_upload_complete()
    {
        using var systemd = new NotifySocket();
        await using var relay = await LifecycleRelay.StartAsync(env, systemd);
        var id = Payloads.NewTestId();
        var body = Payloads.Random(10 * 1024 * 1024);
        await using var upload = await RawHttp.ConnectAsync(relay.MetricsPort);
        await upload.SendAsync(RawHttp.Post("/api/v2/series", "metrics.agent.ddog-gov.com", id, body.Length));
        await upload.SendAsync(body.AsMemory(0, 2 * 1024 * 1024));

        relay.Process.Signal(Posix.SIGTERM);
        await Assert.That(await systemd.WaitForAsync("STOPPING=1", TimeSpan.FromSeconds(10))).IsNotNull();
        // Stopped accepting: a new connection is refused while the upload goes on.
        await Assert.That(await LifecycleRelay.IsRefusedAsync(relay.MetricsPort)).IsTrue();

        await upload.SendAsync(body.AsMemory(2 * 1024 * 1024));
        var response = await upload.ReadFinalResponseAsync(TimeSpan.FromSeconds(15));
        await Assert.That(response?.IsCompleteSuccess).IsTrue().Because(relay.Output);
        await Assert.That(response!.Header("connection")).IsEqualTo("close");
        var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(5));
        await Assert.That(seen.Single().BodySha256).IsEqualTo(Payloads.Sha256(body));
        await Assert.That(await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(10))).IsEqualTo(0);
        await Assert.That(relay.Output).Contains("Stopped.");
    }

    [Test]
    public async Task Hard_stop_after_cuts_an_upload_that_does_not_finish()
    {
        await using var relay = await LifecycleRelay.StartAsync(env, tweak: cfg => LifecycleRelay.WithGlobal(cfg, "hard-stop-after 2s"));
        await using var upload = await RawHttp.ConnectAsync(relay.MetricsPort);
        await upload.SendAsync(RawHttp.Post("/api/v2/series", "metrics.agent.ddog-gov.com", Payloads.NewTestId(), 10 * 1024 * 1024));
        await upload.SendAsync(Payloads.Random(1024 * 1024));
        // ...and nothing more: the client stalls past hard-stop-after (timeout client is 5 s).

        var clock = Stopwatch.StartNew();
        relay.Process.Signal(Posix.SIGTERM);
        int exit = await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(15));
        clock.Stop();

        await Assert.That(exit).IsEqualTo(0);
        await Assert.That(clock.Elapsed).IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(1.8));
        await Assert.That(clock.Elapsed).IsLessThan(TimeSpan.FromSeconds(4.5));
        await Assert.That(relay.Output).Contains("hard-stop-after 2s reached, 1 connections cut");
        // The client sees the connection end without an answer.
        var response = await upload.ReadFinalResponseAsync(TimeSpan.FromSeconds(5));
        await Assert.That(response).IsNull();
    }

    [Test]
    public async Task Hard_stop_after_cuts_a_tcp_session_and_logs_it_KD()
    {
        // A trace upload on the TCP port (9805) that never finishes; access lines on stdout.
        await using var relay = await LifecycleRelay.StartAsync(env, tweak: cfg => LifecycleRelay.WithGlobal(
            cfg.Replace("    log 127.0.0.1 local0\n", "    log stdout format raw local0\n", StringComparison.Ordinal), "hard-stop-after 2s"));
        var traces = ShippedCfg.Products.Single(p => p.Frontend == "traces-forwarder");
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, relay.PortRangeStart + traces.Offset);
        var head = $"POST {traces.Path} HTTP/1.1\r\nHost: {traces.Host}\r\n{TestIntake.TestIdHeader}: {Payloads.NewTestId()}\r\nContent-Length: 1000000\r\n\r\n";
        await tcp.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        await tcp.GetStream().WriteAsync(Payloads.Random(64 * 1024));
        // The bytes went through to the intake (the session holds its server connection) before the stop.
        await Task.Delay(500);

        relay.Process.Signal(Posix.SIGTERM);
        int exit = await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(15));

        await Assert.That(exit).IsEqualTo(0);
        await Assert.That(relay.Output).Contains("hard-stop-after 2s reached, 1 connections cut");
        // tcplog: %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts ...; 'K': killed by the process, 'D': in the data phase.
        await Assert.That(relay.Output).Matches(
            @"(?m)^127\.0\.0\.1:\d+ \[.*\] traces-forwarder datadog-traces/mothership\d -?\d+/\d+/\d+ \d+ KD ");
    }

    [Test]
    public async Task An_idle_keepalive_connection_does_not_hold_the_stop()
    {
        await using var relay = await LifecycleRelay.StartAsync(env, tweak: cfg => LifecycleRelay.WithGlobal(cfg, "hard-stop-after 30s"));
        await using var agent = await RawHttp.ConnectAsync(relay.MetricsPort);
        await agent.SendAsync($"GET /api/v2/series HTTP/1.1\r\nHost: metrics.agent.ddog-gov.com\r\n{TestIntake.TestIdHeader}: {Payloads.NewTestId()}\r\n\r\n");
        await Assert.That((await agent.ReadFinalResponseAsync())?.Status).IsEqualTo(202);
        // Idle between requests, as the Agent's connections are most of the time.
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        var clock = Stopwatch.StartNew();
        relay.Process.Signal(Posix.SIGTERM);
        int exit = await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(20));
        clock.Stop();

        await Assert.That(exit).IsEqualTo(0);
        await Assert.That(clock.Elapsed).IsLessThan(TimeSpan.FromSeconds(4));
        await Assert.That(await agent.WaitForCloseAsync(TimeSpan.FromSeconds(2))).IsTrue();
        await Assert.That(relay.Output).Contains("Stopped.");
    }
}
