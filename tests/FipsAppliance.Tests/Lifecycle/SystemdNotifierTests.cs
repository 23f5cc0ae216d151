using FipsAppliance.Lifecycle;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Lifecycle;

public class SystemdNotifierTests
{
    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task Sends_to_a_path_and_to_an_abstract_name(bool abstractName)
    {
        using var systemd = new NotifySocket(abstractName);
        using var notifier = SystemdNotifier.Create(systemd.Address)!;
        await Assert.That(notifier.Ready("up")).IsTrue();
        var got = await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(5));
        await Assert.That(got).IsNotNull();
        await Assert.That(got!["STATUS"]).IsEqualTo("up");
        await Assert.That(got["MAINPID"]).IsEqualTo(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task Reloading_carries_clock_monotonic_in_microseconds()
    {
        using var systemd = new NotifySocket();
        using var notifier = SystemdNotifier.Create(systemd.Address)!;
        long before = NotifySocket.MonotonicUsec();
        notifier.Reloading("reloading");
        var got = await systemd.WaitForAsync("RELOADING=1", TimeSpan.FromSeconds(5));
        long sent = long.Parse(got!["MONOTONIC_USEC"]!, System.Globalization.CultureInfo.InvariantCulture);
        await Assert.That(sent).IsGreaterThanOrEqualTo(before);
        await Assert.That(sent).IsLessThanOrEqualTo(got.ReceivedMonotonicUsec);
    }

    [Test]
    public async Task Ignores_addresses_that_are_not_unix_sockets_and_never_throws_when_nobody_listens()
    {
        await Assert.That(SystemdNotifier.Create("vsock:2:1234")).IsNull();
        using var dir = new TempDir();
        using var notifier = SystemdNotifier.Create(dir.Combine("nobody"))!;
        await Assert.That(notifier.Watchdog()).IsFalse();
        await Assert.That(notifier.Failures).IsEqualTo(1);
    }

    [Test]
    public async Task The_watchdog_probe_goes_through_the_socket_engine_and_the_thread_pool()
    {
        using var systemd = new NotifySocket();
        using var notifier = SystemdNotifier.Create(systemd.Address)!;
        using var watchdog = new Watchdog(notifier, TimeSpan.FromSeconds(2), () => "status", new ListLogger());
        await Assert.That(watchdog.Probe(TimeSpan.FromSeconds(5))).IsTrue();
        await Assert.That(watchdog.Probe(TimeSpan.FromSeconds(5))).IsTrue();
    }
}
