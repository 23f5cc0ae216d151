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

    /// <summary>
    /// Trust comes from the cfg alone: a HOME whose .NET certificate store cannot be read (here a
    /// "disallowed" store of mode 000 that the daemon's user may not list; in the field, another
    /// user's store after `sudo -u` kept that user's HOME) neither stops the start nor fails the
    /// upstream's verification. Before, the daemon died in its TLS warm-up with exit 134.
    /// </summary>
    [Test]
    public async Task Starts_and_relays_whatever_the_home_directory_of_its_user_holds()
    {
        Packaging.Packages.RequireRoot();
        await using var around = await RelayEnvironment.StartAsync(new EnvironmentOptions());
        // The daemon runs as nobody, who may not reach the checkout (a clone under /root): the
        // binary and a FIPS tree installed for it (named by --ini) are copied under /tmp.
        using var fips = await Fips.FipsTree.CreateAsync();
        using var dir = new TempDir();
        var binary = Path.Combine(dir.Path, "datadog-fips-proxy");
        File.Copy(Repo.Binary, binary);
        var start = Ports.FreeRange(16);
        var cfg = dir.File("datadog-fips-proxy.cfg", around.Cfg(start));
        dir.File("ca-certificates.crt", around.Ca.RootPem);
        var store = dir.Combine("home/.dotnet/corefx/cryptography/x509stores/disallowed");
        Directory.CreateDirectory(store);
        if (OperatingSystem.IsLinux())
        {
            // Every directory on the way can be entered by the daemon's user; the store itself not.
            for (var d = Path.GetDirectoryName(store)!; d.Length >= dir.Path.Length; d = Path.GetDirectoryName(d)!)
                File.SetUnixFileMode(d, (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(store, UnixFileMode.None);
            File.SetUnixFileMode(binary, (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(Path.GetDirectoryName(fips.Embedded)!, (UnixFileMode)0b111_101_101);
        }

        await using var daemon = new RunningProcess("setpriv",
            ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", binary, "-f", cfg, "--ini", fips.Ini],
            new Dictionary<string, string?> { ["HOME"] = dir.Combine("home"), ["DD_FIPS_LOCAL_ADDRESS"] = null, ["DD_FIPS_PORT_RANGE_START"] = null },
            dir.Path);
        await Packaging.Sandbox.WaitUntilRelayingAsync(daemon, start, TimeSpan.FromSeconds(30));
        var (status, seen) = await Packaging.Sandbox.PostMetricsAsync(around.Intake, start, Guid.NewGuid().ToString("N"));
        await Assert.That(status).IsEqualTo(202);
        await Assert.That(seen?.Sni).IsEqualTo("metrics.agent.ddog-gov.com");
        daemon.Signal(Posix.SIGTERM);
        await Assert.That(await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30))).IsEqualTo(0).Because(daemon.Output);
    }
}
