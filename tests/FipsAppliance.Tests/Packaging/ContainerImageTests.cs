using System.Security.Cryptography;
using System.Text.RegularExpressions;
using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;
using TUnit.Core.Interfaces;

namespace FipsAppliance.Tests.Packaging;

/// <summary>The image, unpacked once, and the test intake and DNS a started container relays to.</summary>
public sealed class ImageEnvironment : IAsyncInitializer, IAsyncDisposable
{
    public ContainerImage Image { get; } = new();
    public RelayEnvironment Around { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Image.InitializeAsync();
        Around = await RelayEnvironment.StartAsync(new EnvironmentOptions());
    }

    public async ValueTask DisposeAsync()
    {
        if (Around is not null) await Around.DisposeAsync();
        Image.Dispose();
    }
}

/// <summary>
/// The container image for the sidecar deployments (Kubernetes, ECS), as an orchestrator sees it
/// (the configuration it reads) and as a runtime starts it: read-only root, a writable
/// /run/datadog-fips-proxy, the image's user and environment, the daemon as PID 1.
/// </summary>
[ClassDataSource<ImageEnvironment>(Shared = SharedType.PerClass)]
[NotInParallel(nameof(ContainerImageTests))]
public class ContainerImageTests(ImageEnvironment env)
{
    private ContainerImage Image => env.Image;
    private const string RuntimeDir = "/run/datadog-fips-proxy";
    private const string Probe = "/opt/datadog-fips-proxy/embedded/bin/container-probe.sh";

    [Test]
    public async Task The_image_names_its_user_entry_point_and_the_16_ports_an_orchestrator_reads()
    {
        await Assert.That(Image.IndexEntry.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString())
            .IsEqualTo($"{Packages.Name}:{Packages.Version}");
        await Assert.That(Image.Config.GetProperty("Labels").GetProperty("org.opencontainers.image.version").GetString())
            .IsEqualTo(Packages.Version);

        // Numeric, so that Kubernetes' runAsNonRoot can check it without the image's /etc/passwd.
        var dd = Image.User("dd-agent");
        await Assert.That(dd).IsNotNull();
        await Assert.That(dd!.Value.Uid).IsNotEqualTo(0);
        await Assert.That(Image.Config.GetProperty("User").GetString()).IsEqualTo($"{dd.Value.Uid}:{dd.Value.Gid}");

        await Assert.That(Image.Strings("Entrypoint")).IsEquivalentTo(["/opt/datadog-fips-proxy/embedded/bin/container-entrypoint.sh"]);
        await Assert.That(Image.Strings("Cmd")).IsEquivalentTo(["-f", Packages.Cfg]);
        await Assert.That(Image.Config.GetProperty("StopSignal").GetString()).IsEqualTo("SIGTERM");
        var ports = Image.Config.GetProperty("ExposedPorts").EnumerateObject().Select(p => p.Name).Order().ToList();
        await Assert.That(ports).IsEquivalentTo(Enumerable.Range(9803, 16).Select(p => $"{p}/tcp").ToList());
    }

    [Test]
    public async Task The_image_holds_the_installed_package_and_no_fips_installation_of_the_machine_that_built_it()
    {
        // dpkg's own record: scanners and `dpkg -l` in the image see the package and its version.
        var status = Image.ReadText("/var/lib/dpkg/status");
        await Assert.That(status).Matches($@"(?m)^Package: {Packages.Name}\nStatus: install ok installed\n(?:.+\n)*?Version: {Regex.Escape(Packages.Version)}\n");

        // The module is the one the packages ship; its MAC file and the OpenSSL config that loads it
        // are not in the image anywhere (they are made at every start, for the machine it runs on).
        var module = Image.HostPath(Packages.Embedded + "/lib/ossl-modules/fips.so");
        await Assert.That(Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(module))))
            .IsEqualTo(Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(Repo.Artifacts, "embedded", "lib", "ossl-modules", "fips.so")))));
        var carried = Directory.EnumerateFiles(Image.Root, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) is "fipsmodule.cnf" || f.EndsWith("/embedded/ssl/openssl.cnf", StringComparison.Ordinal))
            .ToList();
        await Assert.That(carried).IsEmpty();
        await Assert.That(Image.ReadText("/etc/datadog-fips-proxy/datadog-fips-proxy.ini")).Contains($"openssl_conf = {RuntimeDir}/openssl.cnf");

        // A sidecar runs one process: no init system, and nothing of the build machine's network.
        await Assert.That(File.Exists(Image.HostPath("/usr/lib/systemd/systemd")) || File.Exists(Image.HostPath("/lib/systemd/systemd"))).IsFalse();
        await Assert.That(Image.ReadText("/etc/resolv.conf")).IsEmpty();
        await Assert.That(File.Exists(Image.HostPath("/etc/hostname"))).IsFalse();
    }

    [Test]
    public async Task The_images_cfg_is_the_shipped_one_logging_to_stdout_and_haproxy_accepts_it()
    {
        var shipped = (await File.ReadAllTextAsync(Repo.ExampleCfg)).Split('\n');
        var inImage = Image.ReadText(Packages.Cfg).Split('\n');
        await Assert.That(inImage.Length).IsEqualTo(shipped.Length);
        var changed = shipped.Zip(inImage).Where(p => p.First != p.Second).ToList();
        await Assert.That(changed).IsEquivalentTo([("    log 127.0.0.1 local0", "    log stdout format raw local0")]);

        using var dir = new TempDir();
        var cfg = dir.File("datadog-fips-proxy.cfg", Image.ReadText(Packages.Cfg));
        File.CreateSymbolicLink(dir.Combine("ca-certificates.crt"), "/etc/ssl/certs/ca-certificates.crt");
        var check = await Packages.RunAsync(RelayUnderTest.HaProxyBinary, ["-c", "-f", cfg], check: false);
        await Assert.That(check.ExitCode).IsEqualTo(0).Because(check.All);
    }

    [Test]
    public async Task Started_with_a_read_only_root_it_installs_fips_for_this_machine_and_relays_as_pid_1_until_sigterm()
    {
        using var config = AdministratorsCfg();
        var start = Ports.FreeRange(16);
        var moved = new Dictionary<string, string> { ["DD_FIPS_PORT_RANGE_START"] = start.ToString() };

        // Disposed (killed if still running) in finally, not by `using`: its output is read after.
        var container = Image.Start(["-f", "/mnt/datadog-fips-proxy.cfg"],
            env: moved,
            mounts: new Dictionary<string, string> { [config.Path] = "/mnt" });
        try
        {
            await Sandbox.WaitUntilRelayingAsync(container, start, TimeSpan.FromSeconds(40));
            var testId = Guid.NewGuid().ToString("N");
            var (status, seen) = await Sandbox.PostMetricsAsync(env.Around.Intake, start, testId);
            await Assert.That(status).IsEqualTo(202);
            await Assert.That(seen?.Sni).IsEqualTo("metrics.agent.ddog-gov.com");
            // `log stdout`: the access line reaches the runtime's log on stdout.
            await Assert.That(await container.WaitForOutputAsync("metrics-forwarder", TimeSpan.FromSeconds(5))).IsTrue().Because(container.Output);

            // The daemon is PID 1 of the container (the entry point exec'd it), as the image's user.
            var pid1 = Image.ContainerPid1();
            await Assert.That(pid1).IsNotNull();
            await Assert.That(File.ReadAllText($"/proc/{pid1}/comm").Trim()).IsEqualTo("datadog-fips-pr");
            var dd = Image.User("dd-agent")!.Value;
            await Assert.That(File.ReadAllText($"/proc/{pid1}/status")).Matches($@"Uid:\s+{dd.Uid}\s+{dd.Uid}\s+{dd.Uid}\s+{dd.Uid}");

            // The exec probe the README gives Kubernetes and ECS: the stats page answers.
            var probe = await Image.ExecAsync([Probe], moved);
            await Assert.That(probe.ExitCode).IsEqualTo(0).Because(probe.All);

            // `kill -HUP 1` (podman kill -s HUP): a reload in place, and the new model serves.
            Posix.kill(pid1!.Value, Posix.SIGHUP);
            await Assert.That(await container.WaitForOutputAsync("Reloaded: configuration #2 ", TimeSpan.FromSeconds(30))).IsTrue().Because(container.Output);
            await Assert.That(File.Exists($"/proc/{pid1}/status")).IsTrue();
            (status, _) = await Sandbox.PostMetricsAsync(env.Around.Intake, start, Guid.NewGuid().ToString("N"));
            await Assert.That(status).IsEqualTo(202);
            probe = await Image.ExecAsync([Probe], moved);
            await Assert.That(probe.ExitCode).IsEqualTo(0).Because(probe.All);

            // What a runtime's stop does: SIGTERM to PID 1; the daemon drains and exits 0.
            Posix.kill(pid1!.Value, Posix.SIGTERM);
            await Assert.That(await container.WaitForExitAsync(TimeSpan.FromSeconds(30))).IsEqualTo(0).Because(container.Output);
        }
        finally
        {
            await container.DisposeAsync();
        }

        // Stopped: the probe fails, and says why.
        var after = await Image.ExecAsync([Probe], moved);
        await Assert.That(after.ExitCode).IsEqualTo(1);
        await Assert.That(after.All).Contains($"nothing accepts on 127.0.0.1:{start}");

        var output = container.Output;
        await Assert.That(output).Contains($"fipsinstall: FIPS provider installed for this host in {RuntimeDir}");
        await Assert.That(output).Contains("FIPS mode enabled");
        await Assert.That(output).Contains($"config {RuntimeDir}/openssl.cnf");
        await Assert.That(output).Contains($"moved to {start}-{start + 15}");
        await Assert.That(output).Contains("[NOTICE]   (1) : Stopped.");
        await Assert.That(Directory.EnumerateFileSystemEntries(Image.HostPath(RuntimeDir))).IsEmpty();
    }

    [Test]
    public async Task Under_an_arbitrary_uid_with_gid_0_as_OpenShift_runs_images_it_installs_fips_and_relays()
    {
        const string arbitrary = "1000650000:0";   // in no /etc/passwd
        // The image's own cfg is readable by that user: the check passes.
        var check = Image.Start(["-c", "-f", Packages.Cfg], user: arbitrary, readOnlyRoot: false, writableRuntimeDir: false);
        try
        {
            await Assert.That(await check.WaitForExitAsync(TimeSpan.FromSeconds(30))).IsEqualTo(0).Because(check.Output);
            await Assert.That(check.Output).Contains("Configuration file is valid");

            using var config = AdministratorsCfg();
            var start = Ports.FreeRange(16);
            var container = Image.Start(["-f", "/mnt/datadog-fips-proxy.cfg"], user: arbitrary, readOnlyRoot: false, writableRuntimeDir: false,
                env: new Dictionary<string, string> { ["DD_FIPS_PORT_RANGE_START"] = start.ToString() },
                mounts: new Dictionary<string, string> { [config.Path] = "/mnt" });
            try
            {
                await Sandbox.WaitUntilRelayingAsync(container, start, TimeSpan.FromSeconds(40));
                var (status, _) = await Sandbox.PostMetricsAsync(env.Around.Intake, start, Guid.NewGuid().ToString("N"));
                await Assert.That(status).IsEqualTo(202);
                await Assert.That(File.ReadAllText($"/proc/{Image.ContainerPid1()}/status")).Matches(@"Uid:\s+1000650000\s");
            }
            finally
            {
                await container.DisposeAsync();
            }
            await Assert.That(container.Output).Contains($"fipsinstall: FIPS provider installed for this host in {RuntimeDir}");
        }
        finally
        {
            await check.DisposeAsync();
            // The root is writable in this test and shared by the class: leave the run directory as the image has it.
            foreach (var f in Directory.EnumerateFiles(Image.HostPath(RuntimeDir))) File.Delete(f);
        }
    }

    [Test]
    public async Task Without_a_writable_run_directory_it_refuses_to_start_and_says_what_to_mount()
    {
        await using var container = Image.Start(writableRuntimeDir: false);
        var code = await container.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Assert.That(code).IsEqualTo(78).Because(container.Output);
        await Assert.That(container.Output).Contains($"mount a writable volume there (an emptyDir, or --tmpfs {RuntimeDir})");
        await Assert.That(container.Output).DoesNotContain("FIPS mode enabled");
    }

    [Test]
    public async Task When_TLS_itself_breaks_at_start_it_refuses_with_one_line_that_names_the_cause()
    {
        // The daemon's HOME is / (ProcessKnobs), so .NET's "disallowed" certificate store is looked
        // for under /.dotnet. One there that its user cannot list makes .NET's chain building throw
        // UnauthorizedAccessException, in the start-up handshake as in every handshake with a
        // server. No cfg could fix that: the daemon must stop, and say why in one line.
        var store = Image.HostPath("/.dotnet/corefx/cryptography/x509stores/disallowed");
        Directory.CreateDirectory(store);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(store, UnixFileMode.None);
        try
        {
            using var config = AdministratorsCfg();
            var start = Ports.FreeRange(16);
            await using var container = Image.Start(["-f", "/mnt/datadog-fips-proxy.cfg"],
                env: new Dictionary<string, string> { ["DD_FIPS_PORT_RANGE_START"] = start.ToString() },
                mounts: new Dictionary<string, string> { [config.Path] = "/mnt" });
            var code = await container.WaitForExitAsync(TimeSpan.FromSeconds(40));
            await Assert.That(code).IsEqualTo(1).Because(container.Output);
            await Assert.That(container.Output).Contains("TLS does not work in this process, refusing to start: UnauthorizedAccessException");
            await Assert.That(container.Output).Contains("/.dotnet/corefx/cryptography/x509stores/disallowed");
            await Assert.That(container.Output).DoesNotContain("Unhandled exception");
            await Assert.That(container.Output).DoesNotContain(" started: ");
            await Assert.That(container.Output).DoesNotContain("failed to start their listeners");
        }
        finally
        {
            // The root is shared by the class: leave it as the image has it.
            Directory.Delete(Image.HostPath("/.dotnet"), recursive: true);
        }
    }

    /// <summary>
    /// The administrator's cfg from a ConfigMap, mounted on /mnt: the image's own, pointed at the test
    /// intake and DNS (binds left at 9803-9818, moved by DD_FIPS_PORT_RANGE_START as the Agent's
    /// fips.port_range_start), with the test CA beside it; readable by any user, as a ConfigMap is.
    /// </summary>
    private TempDir AdministratorsCfg()
    {
        var config = new TempDir();
        File.WriteAllText(config.Combine("datadog-fips-proxy.cfg"),
            ShippedCfg.PointAtLocal(Image.ReadText(Packages.Cfg), env.Around.Intake.Port, env.Around.Dns.Port, 9803));
        File.WriteAllText(config.Combine("ca-certificates.crt"), env.Around.Ca.RootPem);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(config.Path, (UnixFileMode)0b111_101_101);
        return config;
    }

    [Test]
    public async Task Fips_status_runs_through_the_entry_point_and_reports_the_module_it_installed_at_start()
    {
        await using var container = Image.Start(["fips-status"]);
        var code = await container.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Assert.That(code).IsEqualTo(0).Because(container.Output);
        await Assert.That(container.Output).Matches(@"FIPS mode:\s+enabled");
        await Assert.That(container.Output).Matches($@"OpenSSL config:\s+{RuntimeDir}/openssl.cnf");
        await Assert.That(container.Output).Matches(@"Provider status:\s+active");
    }
}
