using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// The .rpm installed with this machine's rpm into databases rooted in temporary directories
/// (`rpm --root`, `--nodeps`: no RHEL or SUSE database here to satisfy its requirements): into an
/// empty root for the files and modes as installed, and into a copy of the minimal Debian root,
/// where its scriptlets run for real (chrooted by rpm, no network, no systemd running).
/// </summary>
public class RpmInstallTests
{
    /// <summary>rpm --root=<paramref name="root"/> without network, with a /proc of its own mounted in the root when it has a /proc directory (systemctl's chroot detection needs one).</summary>
    private static Task<ProcessResult> Rpm(string root, params string[] args)
    {
        List<string> unshare = ["--net", "--mount", "--pid", "--fork", "--kill-child"];
        if (Directory.Exists(Path.Combine(root, "proc"))) unshare.Add($"--mount-proc={Path.Combine(root, "proc")}");
        return Packages.RunAsync("unshare", [.. unshare, "rpm", "--root=" + root, .. args], check: false);
    }

    [Test]
    public async Task Installs_into_an_empty_root_with_the_files_and_modes_it_lists()
    {
        Packages.RequireRoot();
        using var dir = new TempDir();
        var root = dir.Combine("root");
        Directory.CreateDirectory(root);
        await Packages.RunAsync("rpm", ["--root=" + root, "--initdb"]);
        var install = await Rpm(root, "-i", "--nodeps", "--noscripts", Packages.Rpm);
        await Assert.That(install.ExitCode).IsEqualTo(0).Because(install.All);

        // rpm -V: every installed file has the digest, mode, owner and size the package lists.
        var verify = await Rpm(root, "-V", "--nodeps", Packages.Name);
        await Assert.That(verify.StdOut.Trim()).IsEmpty();
        await Assert.That(verify.ExitCode).IsEqualTo(0);
        foreach (var (path, mode) in new[]
                 {
                     (Packages.Binary, "755"), (Packages.Embedded + "/bin/fipsinstall.sh", "755"),
                     (Packages.Embedded + "/lib/ossl-modules/fips.so", "644"),
                     ("/usr/lib/systemd/system/datadog-fips-proxy.service", "644"),
                     (Packages.EtcDir + "/datadog-fips-proxy.cfg.example", "644"),
                 })
        {
            var stat = await Packages.RunAsync("stat", ["-c", "%a %u %g", Path.Combine(root, path.TrimStart('/'))]);
            await Assert.That(stat.StdOut.Trim()).IsEqualTo($"{mode} 0 0");
        }
        // The scripts in the database are the package's.
        var installed = await Rpm(root, "-q", "--scripts", Packages.Name);
        var shipped = await Packages.RunAsync("rpm", ["-qp", "--scripts", Packages.Rpm]);
        await Assert.That(installed.StdOut).IsEqualTo(shipped.StdOut);

        var erase = await Rpm(root, "-e", "--nodeps", "--noscripts", Packages.Name);
        await Assert.That(erase.ExitCode).IsEqualTo(0).Because(erase.All);
        await Assert.That(Directory.Exists(Path.Combine(root, "opt", "datadog-fips-proxy"))).IsFalse();
    }

    [Test]
    public async Task Scriptlets_set_up_the_host_without_systemd_and_erase_keeps_an_edited_cfg_as_rpmsave()
    {
        using var root = await DebRoot.CreateAsync();
        await Packages.RunAsync("rpm", ["--root=" + root.Root, "--initdb"]);
        var install = await Rpm(root.Root, "-i", "--nodeps", Packages.Rpm);
        await Assert.That(install.ExitCode).IsEqualTo(0).Because(install.All);
        await Assert.That(install.All).DoesNotContain("scriptlet failed");

        await Assert.That(root.User("dd-agent")).IsNotNull();
        await Assert.That(await root.StatAsync(Packages.Cfg)).IsEqualTo(("640", "root", "dd-agent"));
        // On this Debian root the Debian bundle is the one found; RHEL's and SUSE's come first on theirs.
        await Assert.That(root.LinkTarget(Packages.CaLink)).IsEqualTo("/etc/ssl/certs/ca-certificates.crt");
        var verify = await root.RunAsync(["openssl", "fipsinstall", "-module", Packages.Embedded + "/lib/ossl-modules/fips.so",
            "-in", Packages.Embedded + "/ssl/fipsmodule.cnf", "-verify"], check: false);
        await Assert.That(verify.All).Contains("VERIFY PASSED");
        // The vendor preset enabled the unit (offline, as in an image build); nothing was started.
        var enabled = await Packages.RunAsync("systemctl", ["--root=" + root.Root, "is-enabled", "datadog-fips-proxy.service"], check: false);
        await Assert.That(enabled.StdOut.Trim()).IsEqualTo("enabled");
        // What %post made is listed, as the .deb's postinst lists it: erase handles exactly that.
        await Assert.That(Created(root)).IsEquivalentTo(new[] { Packages.Cfg, Packages.CaLink });

        await File.AppendAllTextAsync(root.HostPath(Packages.Cfg), "# the administrator's edit\n");
        var erase = await Rpm(root.Root, "-e", "--nodeps", Packages.Name);
        await Assert.That(erase.ExitCode).IsEqualTo(0).Because(erase.All);
        await Assert.That(root.Exists(Packages.AppDir)).IsFalse();
        var left = Directory.GetFileSystemEntries(root.HostPath(Packages.EtcDir)).Select(p => Path.GetFileName(p)!).ToList();
        await Assert.That(left).IsEquivalentTo(new[] { "datadog-fips-proxy.cfg.rpmsave" });
        await Assert.That(root.ReadText(Packages.Cfg + ".rpmsave")).EndsWith("# the administrator's edit\n");
        var disabled = await Packages.RunAsync("systemctl", ["--root=" + root.Root, "is-enabled", "datadog-fips-proxy.service"], check: false);
        await Assert.That(disabled.StdOut.Trim()).IsNotEqualTo("enabled");
        await Assert.That(root.Exists(State)).IsFalse();
        await Assert.That(root.Mounts()).IsEmpty();
    }

    [Test]
    public async Task Erase_leaves_a_cfg_that_was_there_before_install_and_removes_the_unedited_one_it_made()
    {
        using var root = await DebRoot.CreateAsync();
        await Packages.RunAsync("rpm", ["--root=" + root.Root, "--initdb"]);
        // Config management wrote the cfg before the package came: a copy of the example, its own
        // mode. It is the administrator's, not the package's, even though it equals the example.
        using (var unpacked = new TempDir())
        {
            await Packages.RunAsync("sh", ["-c", "dpkg-deb --fsys-tarfile \"$0\" | tar -x -C \"$1\" ./etc/datadog-fips-proxy/datadog-fips-proxy.cfg.example",
                Packages.Deb, unpacked.Path]);
            Directory.CreateDirectory(root.HostPath(Packages.EtcDir));
            File.Copy(Path.Combine(unpacked.Path, "etc", "datadog-fips-proxy", "datadog-fips-proxy.cfg.example"), root.HostPath(Packages.Cfg));
        }
        await Packages.RunAsync("chmod", ["600", root.HostPath(Packages.Cfg)]);
        var before = File.ReadAllBytes(root.HostPath(Packages.Cfg));

        var install = await Rpm(root.Root, "-i", "--nodeps", Packages.Rpm);
        await Assert.That(install.ExitCode).IsEqualTo(0).Because(install.All);
        await Assert.That(install.All).DoesNotContain("created /etc/datadog-fips-proxy/datadog-fips-proxy.cfg");
        await Assert.That(Created(root)).IsEquivalentTo(new[] { Packages.CaLink });

        var erase = await Rpm(root.Root, "-e", "--nodeps", Packages.Name);
        await Assert.That(erase.ExitCode).IsEqualTo(0).Because(erase.All);
        var left = Directory.GetFileSystemEntries(root.HostPath(Packages.EtcDir)).Select(p => Path.GetFileName(p)!).ToList();
        await Assert.That(left).IsEquivalentTo(new[] { "datadog-fips-proxy.cfg" });
        await Assert.That(File.ReadAllBytes(root.HostPath(Packages.Cfg))).IsEquivalentTo(before);
        await Assert.That((await root.StatAsync(Packages.Cfg)).Mode).IsEqualTo("600");
        await Assert.That(root.Exists(State)).IsFalse();

        // Without it, the next install makes the cfg, and an erase with the cfg unedited removes it.
        File.Delete(root.HostPath(Packages.Cfg));
        install = await Rpm(root.Root, "-i", "--nodeps", Packages.Rpm);
        await Assert.That(install.ExitCode).IsEqualTo(0).Because(install.All);
        await Assert.That(Created(root)).IsEquivalentTo(new[] { Packages.Cfg, Packages.CaLink });
        erase = await Rpm(root.Root, "-e", "--nodeps", Packages.Name);
        await Assert.That(erase.ExitCode).IsEqualTo(0).Because(erase.All);
        await Assert.That(root.Exists(Packages.EtcDir)).IsFalse();
        await Assert.That(root.Exists(State)).IsFalse();
        await Assert.That(root.Mounts()).IsEmpty();
    }

    private const string State = "/var/lib/datadog-fips-proxy";

    /// <summary>The paths %post listed as made by the install.</summary>
    private static string[] Created(DebRoot root) =>
        File.ReadAllLines(root.HostPath(State + "/created")).Where(l => l.Length > 0).ToArray();
}
