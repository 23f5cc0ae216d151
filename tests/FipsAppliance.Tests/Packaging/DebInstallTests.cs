using System.Security.Cryptography;
using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;
using TUnit.Core.Interfaces;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// A minimal Debian root (the cached debootstrap root: the package's dependencies and systemd
/// installed, systemd not running) with the test intake and DNS around it; the tests of
/// <see cref="DebInstallTests"/> take it through install, run, upgrade, remove and purge in order.
/// </summary>
public sealed class DebInstallation : IAsyncInitializer, IAsyncDisposable
{
    public DebRoot Root { get; private set; } = null!;
    public RelayEnvironment Around { get; private set; } = null!;
    public string SandboxExec { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Root = await DebRoot.CreateAsync();
        Around = await RelayEnvironment.StartAsync(new EnvironmentOptions());
        SandboxExec = await Sandbox.ExecAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Around is not null) await Around.DisposeAsync();
        Root?.Dispose();
    }
}

/// <summary>
/// The .deb as an air-gapped image build uses it: installed with no network into a root where
/// systemd does not run, started there as the unit would start it, upgraded by a newer build with
/// the administrator's cfg kept, removed and purged leaving only what the administrator wrote.
/// The tests are one story on one root: each depends on the one before.
/// </summary>
[ClassDataSource<DebInstallation>(Shared = SharedType.PerClass)]
[NotInParallel(nameof(DebInstallTests))]
public class DebInstallTests(DebInstallation deb)
{
    private DebRoot Root => deb.Root;
    private const string AdminCa = Packages.EtcDir + "/intake-ca.pem";
    private static string? s_editedCfgSha;

    [Test]
    public async Task Installs_without_network_where_systemd_does_not_run()
    {
        await Assert.That(Root.Exists("/run/systemd/system")).IsFalse();
        var inside = Root.CopyIn(Packages.Deb);
        var r = await Root.RunAsync(["dpkg", "-i", inside], network: false, check: false);
        await Assert.That(r.ExitCode).IsEqualTo(0).Because(r.All);
        var status = await Root.RunAsync(["dpkg-query", "-W", "-f", "${Status} ${Version}", Packages.Name]);
        await Assert.That(status.StdOut).IsEqualTo($"install ok installed {Packages.Version}");
        await Assert.That(r.StdOut).Contains("fipsinstall: FIPS provider installed for this host in /opt/datadog-fips-proxy/embedded");
        await Assert.That(Root.Mounts()).IsEmpty();
    }

    [Test, DependsOn(nameof(Installs_without_network_where_systemd_does_not_run))]
    public async Task Postinst_made_the_user_the_fips_files_the_ca_link_and_the_cfg()
    {
        var user = Root.User("dd-agent");
        await Assert.That(user).IsNotNull();
        await Assert.That(user!.Value.Uid).IsLessThan(1000);
        await Assert.That(Root.Group("dd-agent")).IsEqualTo(user.Value.Gid);

        // fipsinstall ran for this root: its MAC file verifies against the installed module.
        var verify = await Root.RunAsync(["openssl", "fipsinstall", "-module", Packages.Embedded + "/lib/ossl-modules/fips.so",
            "-in", Packages.Embedded + "/ssl/fipsmodule.cnf", "-verify"], check: false);
        await Assert.That(verify.All).Contains("VERIFY PASSED");
        await Assert.That(Root.ReadText(Packages.Embedded + "/ssl/openssl.cnf")).Contains($".include {Packages.Embedded}/ssl/fipsmodule.cnf");

        await Assert.That(Root.LinkTarget(Packages.CaLink)).IsEqualTo("/etc/ssl/certs/ca-certificates.crt");
        await Assert.That(Root.Exists("/etc/ssl/certs/ca-certificates.crt")).IsTrue();

        await Assert.That(await Root.StatAsync(Packages.Cfg)).IsEqualTo(("640", "root", "dd-agent"));
        await Assert.That(Root.ReadText(Packages.Cfg)).IsEqualTo(Root.ReadText(Packages.Cfg + ".example"));
    }

    [Test, DependsOn(nameof(Postinst_made_the_user_the_fips_files_the_ca_link_and_the_cfg))]
    public async Task Unit_is_enabled_for_the_images_first_boot_and_verifies_clean()
    {
        var enabled = await Packages.RunAsync("systemctl", ["--root=" + Root.Root, "is-enabled", "datadog-fips-proxy.service"], check: false);
        await Assert.That(enabled.StdOut.Trim()).IsEqualTo("enabled");
        var verify = await Packages.RunAsync("systemd-analyze", ["verify", "--root=" + Root.Root, "datadog-fips-proxy.service"], check: false);
        await Assert.That(verify.All.Trim()).IsEmpty();
        await Assert.That(verify.ExitCode).IsEqualTo(0);
    }

    [Test, DependsOn(nameof(Unit_is_enabled_for_the_images_first_boot_and_verifies_clean))]
    public async Task Installed_daemon_relays_to_the_intake_as_dd_agent_under_the_sandbox()
    {
        // The administrator points the cfg at "their" intake: the test's, with its CA in a file of their own.
        var start = Ports.FreeRange(16);
        var cfg = deb.Around.Cfg(start).Replace("ca-file ca-certificates.crt", "ca-file intake-ca.pem", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Root.HostPath(Packages.Cfg), cfg);   // keeps root:dd-agent 0640
        await File.WriteAllTextAsync(Root.HostPath(AdminCa), deb.Around.Ca.RootPem);
        s_editedCfgSha = Sha(Root.HostPath(Packages.Cfg));

        var (uid, gid) = Root.User("dd-agent")!.Value;
        await using (var daemon = Root.StartDaemon(deb.SandboxExec, uid, gid, Packages.Binary, "-f", Packages.Cfg))
        {
            await Sandbox.WaitUntilRelayingAsync(daemon, start, TimeSpan.FromSeconds(40));
            var (status, seen) = await Sandbox.PostMetricsAsync(deb.Around.Intake, start, Guid.NewGuid().ToString("N"));
            await Assert.That(status).IsEqualTo(202);
            await Assert.That(seen?.Sni).IsEqualTo("metrics.agent.ddog-gov.com");
            await Assert.That(daemon.Output).Contains($"module {Packages.Embedded}/lib/ossl-modules/fips.so, config {Packages.Embedded}/ssl/openssl.cnf");
        }
        await Assert.That(Root.Mounts()).IsEmpty();
    }

    [Test, DependsOn(nameof(Installed_daemon_relays_to_the_intake_as_dd_agent_under_the_sandbox))]
    public async Task Upgrade_keeps_the_edited_cfg_and_installs_the_fips_provider_again()
    {
        using var work = new TempDir();
        var newer = await NewerBuildAsync(work);
        // Gone before the upgrade, so its presence after proves fipsinstall ran again.
        File.Delete(Root.HostPath(Packages.Embedded + "/ssl/fipsmodule.cnf"));

        var r = await Root.RunAsync(["dpkg", "-i", Root.CopyIn(newer.Path)], network: false, check: false);
        await Assert.That(r.ExitCode).IsEqualTo(0).Because(r.All);
        var status = await Root.RunAsync(["dpkg-query", "-W", "-f", "${Version}", Packages.Name]);
        await Assert.That(status.StdOut).IsEqualTo(newer.Version);
        await Assert.That(Sha(Root.HostPath(Packages.Cfg))).IsEqualTo(s_editedCfgSha);
        await Assert.That(await Root.StatAsync(Packages.Cfg)).IsEqualTo(("640", "root", "dd-agent"));
        await Assert.That(Root.ReadText(Packages.Cfg + ".example")).EndsWith(newer.ExampleMarker + "\n");
        await Assert.That(Root.Exists(Packages.Embedded + "/ssl/fipsmodule.cnf")).IsTrue();

        // The upgraded tree still passes the unit's start check and FIPS verification, as dd-agent.
        var (uid, gid) = Root.User("dd-agent")!.Value;
        foreach (var args in new[] { new[] { "-c", "-q", "-f", Packages.Cfg }, ["fips-status"] })
        {
            var run = await Root.RunAsync(["setpriv", $"--reuid={uid}", $"--regid={gid}", "--clear-groups", Packages.Binary, .. args], check: false);
            await Assert.That(run.ExitCode).IsEqualTo(0).Because(run.All);
        }
    }

    [Test, DependsOn(nameof(Upgrade_keeps_the_edited_cfg_and_installs_the_fips_provider_again))]
    public async Task A_removal_unwound_after_the_prerm_leaves_the_fips_provider_installed()
    {
        // The installed prerm, made to fail after its work (as when its rm fails): dpkg -r runs it,
        // which deletes fipsinstall's files, then unwinds with `postinst abort-remove` (Debian
        // Policy 6.6), which starts the unit again where systemd runs: the files must be back.
        var prerm = Root.HostPath($"/var/lib/dpkg/info/{Packages.Name}.prerm");
        var shipped = await File.ReadAllTextAsync(prerm);
        await Assert.That(shipped).EndsWith("\nexit 0\n");
        try
        {
            await File.WriteAllTextAsync(prerm, shipped[..^"exit 0\n".Length] + "exit 1\n");
            var r = await Root.RunAsync(["dpkg", "-r", Packages.Name], check: false);
            await Assert.That(r.ExitCode).IsNotEqualTo(0).Because(r.All);
            await Assert.That(r.StdOut).Contains("fipsinstall: FIPS provider installed for this host");
        }
        finally
        {
            await File.WriteAllTextAsync(prerm, shipped);
        }
        var status = await Root.RunAsync(["dpkg-query", "-W", "-f", "${db:Status-Status}", Packages.Name]);
        await Assert.That(status.StdOut).IsEqualTo("installed");
        var verify = await Root.RunAsync(["openssl", "fipsinstall", "-module", Packages.Embedded + "/lib/ossl-modules/fips.so",
            "-in", Packages.Embedded + "/ssl/fipsmodule.cnf", "-verify"], check: false);
        await Assert.That(verify.All).Contains("VERIFY PASSED");
        var (uid, gid) = Root.User("dd-agent")!.Value;
        var fips = await Root.RunAsync(["setpriv", $"--reuid={uid}", $"--regid={gid}", "--clear-groups", Packages.Binary, "fips-status"], check: false);
        await Assert.That(fips.ExitCode).IsEqualTo(0).Because(fips.All);
    }

    [Test, DependsOn(nameof(A_removal_unwound_after_the_prerm_leaves_the_fips_provider_installed))]
    public async Task Remove_keeps_the_configuration_and_purge_removes_only_what_install_made()
    {
        var remove = await Root.RunAsync(["dpkg", "-r", Packages.Name], check: false);
        await Assert.That(remove.ExitCode).IsEqualTo(0).Because(remove.All);
        await Assert.That(Root.Exists(Packages.AppDir)).IsFalse();
        await Assert.That(Root.Exists("/lib/systemd/system/datadog-fips-proxy.service")).IsFalse();
        await Assert.That(Sha(Root.HostPath(Packages.Cfg))).IsEqualTo(s_editedCfgSha);
        await Assert.That(Root.IsSymlink(Packages.CaLink)).IsTrue();

        var purge = await Root.RunAsync(["dpkg", "--purge", Packages.Name], check: false);
        await Assert.That(purge.ExitCode).IsEqualTo(0).Because(purge.All);
        var left = Directory.GetFileSystemEntries(Root.HostPath(Packages.EtcDir)).Select(p => Path.GetFileName(p)!).ToList();
        await Assert.That(left).IsEquivalentTo(new[] { "intake-ca.pem" });   // the administrator's own file, nothing else
        await Assert.That(Root.Exists("/var/lib/datadog-fips-proxy")).IsFalse();
        await Assert.That(Root.Exists("/etc/systemd/system/multi-user.target.wants/datadog-fips-proxy.service")).IsFalse();
        var status = await Root.RunAsync(["dpkg-query", "-W", "-f", "${Status}", Packages.Name], check: false);
        await Assert.That(status.StdOut).DoesNotContain("installed");
        // System users stay (Debian practice: files elsewhere may still belong to them).
        await Assert.That(Root.User("dd-agent")).IsNotNull();
        await Assert.That(Root.Mounts()).IsEmpty();
    }

    private sealed record NewerDeb(string Path, string Version, string ExampleMarker);

    /// <summary>The same .deb with the next patch version and a changed example cfg: a newer build.</summary>
    private static async Task<NewerDeb> NewerBuildAsync(TempDir work)
    {
        var v = Packages.Version.Split('.').Select(int.Parse).ToArray();
        var version = $"{v[0]}.{v[1]}.{v[2] + 1}";
        var tree = work.Combine("tree");
        await Packages.RunAsync("dpkg-deb", ["-R", Packages.Deb, tree]);
        var control = Path.Combine(tree, "DEBIAN", "control");
        await File.WriteAllTextAsync(control, System.Text.RegularExpressions.Regex.Replace(
            await File.ReadAllTextAsync(control), @"(?m)^Version: .*$", "Version: " + version));
        var marker = $"# example as shipped in {version}";
        await File.AppendAllTextAsync(Path.Combine(tree, "etc", "datadog-fips-proxy", "datadog-fips-proxy.cfg.example"), marker + "\n");
        await Packages.RunAsync("sh", ["-c",
            "cd \"$0\" && find . -path ./DEBIAN -prune -o -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums", tree]);
        var path = work.Combine($"{Packages.Name}_{version}_amd64.deb");
        await Packages.RunAsync("dpkg-deb", ["--root-owner-group", "-Zgzip", "-z1", "-b", tree, path]);
        return new NewerDeb(path, version, marker);
    }

    private static string Sha(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
}
