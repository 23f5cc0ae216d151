using System.Net;
using System.Net.Sockets;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

public class StartupTests
{
    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Refuses_to_start_when_a_port_is_in_use(Relay which)
    {
        var start = Ports.FreeRange(16);
        var cfg = ShippedCfg.ForTest(intakePort: Ports.Free(), dnsPort: Ports.Free(), portRangeStart: start);
        var taken = start + ShippedCfg.MetricsOffset;
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, taken));
        squatter.Listen();

        await using var relay = RelayUnderTest.Launch(which, cfg, new TestCa().RootPem, start);
        var exit = await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));

        await Assert.That(exit).IsNotEqualTo(0);
        var frontend = ShippedCfg.FrontendBoundAt(cfg, taken);
        // Ours says it as the seed's troubleshooting page shows it (HAProxy 2.4). Debian's 2.6 words
        // it `Binding [file:line] for frontend <name>: cannot bind socket (Address already in use)
        // for [<addr>:<port>]`.
        if (which == Relay.Ours)
            await Assert.That(relay.Output).Contains(
                $"Starting frontend {frontend}: cannot bind socket (Address already in use) [127.0.0.1:{taken}]");
        else
            await Assert.That(relay.Output).Contains(
                $"for frontend {frontend}: cannot bind socket (Address already in use) for [127.0.0.1:{taken}]");
        // Nothing left half-started: the ports bound before the failure are free again.
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, start + ShippedCfg.StatsOffset));
    }
}
