using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// The published binary under a test NOTIFY_SOCKET, as systemd runs a Type=notify service:
/// READY, STATUS, WATCHDOG, RELOADING (+MONOTONIC_USEC) and STOPPING arrive when they should.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class SystemdNotifyTests(ShippedEnvironment env)
{
    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task Notifies_ready_once_every_listener_accepts(bool abstractName)
    {
        using var systemd = new NotifySocket(abstractName);
        var start = Ports.FreeRange(16);
        await using var relay = RelayUnderTest.Launch(Relay.Ours, env.Cfg(start), env.Ca.RootPem, start,
            new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = systemd.Address });

        var ready = await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(30));
        await Assert.That(ready).IsNotNull().Because(relay.Output);
        // READY means serving: at that moment every bind of the cfg accepts at once.
        foreach (var port in Enumerable.Range(start, 16).Where(p => p != start + 11))
        {
            using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await c.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        }
        await Assert.That(ready!["MAINPID"]).IsEqualTo(relay.Process.Pid.ToString(CultureInfo.InvariantCulture));
        await Assert.That(ready["STATUS"]!).Contains("15 frontends");
        await Assert.That(ready["STATUS"]!).Contains("servers up");
        // The FIPS check came first: READY is never sent by a relay that refused FIPS.
        await Assert.That(relay.Output).Contains("FIPS mode enabled");
        await Assert.That(systemd.Received.Count(n => n.Has("READY=1"))).IsEqualTo(1);
    }

    [Test]
    public async Task Sends_watchdog_pings_at_half_the_interval_and_a_status_a_person_reads()
    {
        using var systemd = new NotifySocket();
        await using var relay = await LifecycleRelay.StartAsync(env, systemd,
            environment: new Dictionary<string, string?> { ["WATCHDOG_USEC"] = "1000000" });
        var ready = await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(10));
        await Assert.That(ready).IsNotNull();

        var after = systemd.Received.Count;
        await Task.Delay(TimeSpan.FromSeconds(3));
        var pings = systemd.Received.Skip(after).Where(n => n.Has("WATCHDOG=1")).ToList();
        // One every 500 ms: about 6 in 3 s; a loaded machine may lose a couple, never most.
        await Assert.That(pings.Count).IsGreaterThanOrEqualTo(3);
        await Assert.That(pings.Count).IsLessThanOrEqualTo(8);

        // A person's line: frontends, servers up, requests. Three more requests show up in it.
        var id = Payloads.NewTestId();
        for (int i = 0; i < 3; i++) await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, id)).IsEqualTo(202);
        var status = await systemd.WaitForAsync(n => n["STATUS"] is { } s && s.Contains("servers up") && !s.Contains(" 0 requests"),
            TimeSpan.FromSeconds(10), skip: after);
        await Assert.That(status).IsNotNull();
        await Assert.That(status!["STATUS"]!).Matches(@"^Ready: 15 frontends, \d+/80 servers up, \d+ requests and \d+ connections since \d\d:\d\d:\d\d, \d+ open");
    }

    [Test]
    public async Task Reload_sends_reloading_with_monotonic_usec_then_ready()
    {
        using var systemd = new NotifySocket();
        await using var relay = await LifecycleRelay.StartAsync(env, systemd);
        await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(10));
        int before = systemd.Received.Count;
        long sentAfter = NotifySocket.MonotonicUsec();

        await Assert.That(await LifecycleRelay.ReloadAsync(relay, File.ReadAllText(relay.CfgPath), 2)).IsTrue().Because(relay.Output);

        var reloading = await systemd.WaitForAsync("RELOADING=1", TimeSpan.FromSeconds(10), before);
        await Assert.That(reloading).IsNotNull();
        long monotonic = long.Parse(reloading!["MONOTONIC_USEC"]!, CultureInfo.InvariantCulture);
        await Assert.That(monotonic).IsGreaterThanOrEqualTo(sentAfter);
        await Assert.That(monotonic).IsLessThanOrEqualTo(reloading.ReceivedMonotonicUsec);
        var list = systemd.Received.Skip(before).ToList();
        int r = list.FindIndex(n => n.Has("RELOADING=1"));
        int ready = list.FindIndex(n => n.Has("READY=1"));
        await Assert.That(ready).IsGreaterThan(r);
    }

    [Test]
    public async Task Stop_sends_stopping_and_exits_zero()
    {
        using var systemd = new NotifySocket();
        await using var relay = await LifecycleRelay.StartAsync(env, systemd);
        await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(10));
        relay.Process.Signal(Posix.SIGTERM);
        var stopping = await systemd.WaitForAsync("STOPPING=1", TimeSpan.FromSeconds(10));
        await Assert.That(stopping).IsNotNull();
        await Assert.That(await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(15))).IsEqualTo(0);
        await Assert.That(relay.Output).Contains("Stopped.");
    }
}
