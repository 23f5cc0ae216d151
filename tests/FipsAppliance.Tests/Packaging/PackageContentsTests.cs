namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// What each package puts where, with which mode and owner (the vendor's paths), and what it must
/// not ship: the per-host FIPS files and the live cfg are made on the target, never in the build.
/// </summary>
public class PackageContentsTests
{
    /// <summary>Files both packages ship, with their modes (owner root:root for all).</summary>
    private static readonly (string Path, string Mode)[] Common =
    [
        (Packages.Binary, "-rwxr-xr-x"),
        (Packages.Embedded + "/bin/fipsinstall.sh", "-rwxr-xr-x"),
        (Packages.Embedded + "/lib/ossl-modules/fips.so", "-rw-r--r--"),
        (Packages.Embedded + "/ssl", "drwxr-xr-x"),
        (Packages.EtcDir, "drwxr-xr-x"),
        (Packages.EtcDir + "/datadog-fips-proxy.cfg.example", "-rw-r--r--"),
        (Packages.EtcDir + "/datadog-fips-proxy.ini.example", "-rw-r--r--"),
    ];

    private static readonly string[] NeverShipped =
    [
        Packages.Cfg,
        Packages.CaLink,
        Packages.Embedded + "/ssl/fipsmodule.cnf",
        Packages.Embedded + "/ssl/openssl.cnf",
    ];

    [Test]
    public async Task Deb_ships_the_vendors_layout_owned_by_root()
    {
        var entries = await Packages.DebContentsAsync();
        var byPath = entries.ToDictionary(e => e.Path);
        var failures = new List<string>();
        foreach (var (path, mode) in Common.Append(("/lib/systemd/system/datadog-fips-proxy.service", "-rw-r--r--"))
                     .Append(($"/usr/share/doc/{Packages.Name}/copyright", "-rw-r--r--"))
                     .Append(($"/usr/share/doc/{Packages.Name}/changelog.gz", "-rw-r--r--"))
                     .Append(($"/usr/share/lintian/overrides/{Packages.Name}", "-rw-r--r--")))
        {
            if (!byPath.TryGetValue(path, out var e)) failures.Add($"{path}: missing");
            else if (e.Mode != mode) failures.Add($"{path}: {e.Mode}, expected {mode}");
        }
        failures.AddRange(entries.Where(e => e.Owner != "root" || e.Group != "root").Select(e => $"{e.Path}: owned by {e.Owner}/{e.Group}"));
        failures.AddRange(NeverShipped.Where(byPath.ContainsKey).Select(p => $"{p}: shipped, but it is made on the target"));
        await Assert.That(failures).IsEmpty();
    }

    [Test]
    public async Task Rpm_ships_the_vendors_layout_owned_by_root()
    {
        var entries = await Packages.RpmContentsAsync();
        var byPath = entries.ToDictionary(e => e.Path);
        var failures = new List<string>();
        foreach (var (path, mode) in Common.Append(("/usr/lib/systemd/system/datadog-fips-proxy.service", "-rw-r--r--"))
                     .Append(("/usr/lib/systemd/system-preset/50-datadog-fips-proxy.preset", "-rw-r--r--"))
                     .Append(($"/usr/share/licenses/{Packages.Name}/copyright", "-rw-r--r--")))
        {
            if (!byPath.TryGetValue(path, out var e)) failures.Add($"{path}: missing");
            else if (e.Mode != mode) failures.Add($"{path}: {e.Mode}, expected {mode}");
        }
        failures.AddRange(entries.Where(e => e.Owner != "root" || e.Group != "root").Select(e => $"{e.Path}: owned by {e.Owner}/{e.Group}"));
        // The FIPS files are %ghost (owned, so erase removes them, but not in the payload); the cfg is not listed at all.
        var ghosts = (await Packages.RunAsync("rpm", ["-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", Packages.Rpm])).StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
            .Where(f => f.Length > 1 && f[1].Contains('g')).Select(f => f[0]).ToHashSet();
        foreach (var p in NeverShipped)
        {
            bool expectedGhost = p.StartsWith(Packages.Embedded, StringComparison.Ordinal);
            if (expectedGhost && !ghosts.Contains(p)) failures.Add($"{p}: not a %ghost");
            if (!expectedGhost && byPath.ContainsKey(p)) failures.Add($"{p}: shipped, but it is made on the target");
        }
        await Assert.That(failures).IsEmpty();
    }

    [Test]
    public async Task Deb_depends_on_the_runtime_only()
    {
        var depends = (await Packages.RunAsync("dpkg-deb", ["-f", Packages.Deb, "Depends"])).StdOut.Trim();
        // glibc at the symbol version the binaries need, OpenSSL 3 (dlopen()ed, and the openssl tool
        // for fipsinstall), the CA bundle, useradd (passwd) and kill (procps) for the scripts and the unit.
        await Assert.That(depends).IsEqualTo(
            "libc6 (>= 2.34), libssl3 (>= 3.0.0) | libssl3t64 (>= 3.0.0), openssl (>= 3.0.0), ca-certificates, passwd, procps");
    }

    [Test]
    public async Task Rpm_requires_the_runtime_only()
    {
        var requires = (await Packages.RunAsync("rpm", ["-qpR", Packages.Rpm])).StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).Distinct().ToList();
        var failures = new List<string>();
        foreach (var needed in new[] { "libssl.so.3()(64bit)", "libcrypto.so.3()(64bit)", "openssl >= 3.0", "ca-certificates",
                                       "/usr/bin/kill", "/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/bin/getent",
                                       "libc.so.6(GLIBC_2.34)(64bit)" })
            if (!requires.Contains(needed)) failures.Add("missing: " + needed);
        // Anything else must be glibc's own (found by rpm in the ELF files), the shell or rpmlib.
        foreach (var r in requires)
        {
            bool known = r is "/bin/sh" or "rtld(GNU_HASH)" || r.StartsWith("rpmlib(", StringComparison.Ordinal)
                || r.StartsWith("libc.so.6", StringComparison.Ordinal) || r.StartsWith("libm.so.6", StringComparison.Ordinal)
                || r.StartsWith("ld-linux-x86-64.so.2", StringComparison.Ordinal) || r.StartsWith("config(", StringComparison.Ordinal)
                || r is "libssl.so.3()(64bit)" or "libcrypto.so.3()(64bit)" or "openssl >= 3.0" or "ca-certificates"
                    or "/usr/bin/kill" or "/usr/sbin/useradd" or "/usr/sbin/groupadd" or "/usr/bin/getent";
            if (!known) failures.Add("unexpected: " + r);
        }
        var provides = (await Packages.RunAsync("rpm", ["-qp", "--provides", Packages.Rpm])).StdOut;
        if (provides.Contains(".so", StringComparison.Ordinal)) failures.Add("provides a library from /opt: " + provides);
        await Assert.That(failures).IsEmpty();
    }

    [Test]
    public async Task Deb_maintainer_scripts_are_shipped_and_start_nothing_without_systemd()
    {
        var info = (await Packages.RunAsync("dpkg-deb", ["-I", Packages.Deb])).StdOut;
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
            await Assert.That(info).Matches($@"\d+ bytes,\s+\d+ lines\s+\*\s+{script}\s+#!/bin/sh");
        await Assert.That(info).Contains("conffiles");

        var postinst = await Packages.DebScriptAsync("postinst");
        await Assert.That(postinst).Contains("fipsinstall.sh");
        // Every start/stop/restart goes through deb-systemd-invoke behind the "systemd runs" guard.
        await Assert.That(postinst).DoesNotMatch(@"systemctl\s+(start|restart|enable|stop)");
        var invoke = postinst.IndexOf("deb-systemd-invoke", StringComparison.Ordinal);
        var guard = postinst.LastIndexOf("[ -d /run/systemd/system ]", invoke, StringComparison.Ordinal);
        await Assert.That(guard).IsGreaterThan(0);

        var conffiles = await Packages.DebScriptAsync("conffiles");
        await Assert.That(conffiles.Split('\n', StringSplitOptions.RemoveEmptyEntries)).IsEquivalentTo(new[]
            { Packages.EtcDir + "/datadog-fips-proxy.cfg.example", Packages.EtcDir + "/datadog-fips-proxy.ini.example" });
    }

    [Test]
    public async Task Rpm_scriptlets_create_the_user_install_fips_and_guard_systemd()
    {
        var scripts = (await Packages.RunAsync("rpm", ["-qp", "--scripts", Packages.Rpm])).StdOut;
        string Section(string name)
        {
            var start = scripts.IndexOf(name + " scriptlet", StringComparison.Ordinal);
            if (start < 0) return "";
            var next = scripts.IndexOf(" scriptlet (using", start + name.Length + 20, StringComparison.Ordinal);
            var end = next < 0 ? scripts.Length : scripts.LastIndexOf('\n', next);
            return scripts[start..end];
        }
        await Assert.That(Section("preinstall")).Contains("useradd --system");
        await Assert.That(Section("postinstall")).Contains("/opt/datadog-fips-proxy/embedded/bin/fipsinstall.sh /opt/datadog-fips-proxy/embedded");
        await Assert.That(Section("postinstall")).Contains("[ -d /run/systemd/system ]");
        await Assert.That(Section("preuninstall")).Contains("mv -f \"$path\" \"$path.rpmsave\"");
        // Erase handles only what %post listed as made by the install (RpmInstallTests runs it).
        await Assert.That(Section("postinstall")).Contains("state=/var/lib/datadog-fips-proxy");
        await Assert.That(Section("preuninstall")).Contains("done < \"$state/created\"");
        await Assert.That(Section("postuninstall")).Contains("daemon-reload");
    }
}
