using System.Text.RegularExpressions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Fips;

/// <summary>`fips-status` against the published binary: FIPS on and reported, or a fail-closed refusal.</summary>
public class FipsStatusTests
{
    private static async Task AssertRefusal(ProcessResult r, params string[] mentions)
    {
        await Assert.That(r.ExitCode).IsNotEqualTo(0);
        await Assert.That(r.StdOut).DoesNotContain("FIPS mode:");
        var alerts = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("[ALERT]")).ToList();
        await Assert.That(alerts.Count).IsEqualTo(1);
        foreach (string m in mentions) await Assert.That(alerts[0]).Contains(m);
    }

    [Test]
    public async Task Reports_the_fips_provider_and_its_validation_status()
    {
        using var tree = await FipsTree.CreateAsync();
        var r = await tree.RunAsync("fips-status");
        await Assert.That(r.ExitCode).IsEqualTo(0);
        await Assert.That(r.StdOut).Contains("Provider:           fips (OpenSSL FIPS Provider)");
        await Assert.That(Regex.IsMatch(r.StdOut, @"Provider version:   3\.\d+\.\d+")).IsTrue();
        await Assert.That(r.StdOut).Contains("Provider status:    active");
        // Debian's 3.0.x source is for development: not a CMVP-validated version.
        await Assert.That(r.StdOut).Contains("CMVP validation:    not a validated module version");
        await Assert.That(r.StdOut).Contains("OpenSSL library:    OpenSSL 3.");
        await Assert.That(r.StdOut).Contains("TLS groups:         P-256:P-384:P-521");
        await Assert.That(r.StdOut).Contains(tree.Module);
    }

    [Test]
    public async Task Uses_the_binarys_own_embedded_tree_by_default()
    {
        var r = await ProcessRunner.RunAsync(Repo.Binary, ["fips-status"],
            new Dictionary<string, string?> { ["FIPS_APPLIANCE_EMBEDDED"] = null, ["OPENSSL_CONF"] = null });
        await Assert.That(r.ExitCode).IsEqualTo(0);
        await Assert.That(r.StdOut).Contains(Path.Combine(Repo.Embedded, "ssl", "openssl.cnf"));
    }

    [Test]
    public async Task Ignores_an_OPENSSL_CONF_that_activates_the_default_provider()
    {
        // The environment of a shell or a unit file must not change which config OpenSSL loads.
        using var tree = await FipsTree.CreateAsync();
        string systemLike = Path.Combine(tree.Embedded, "ssl", "with-default.cnf");
        await File.WriteAllTextAsync(systemLike, """
            openssl_conf = init
            [init]
            providers = p
            [p]
            default = d
            [d]
            activate = 1
            """);
        var r = await tree.RunWithEnvAsync(tree.Env(("OPENSSL_CONF", systemLike), ("OPENSSL_MODULES", "/nonexistent")), "fips-status");
        await Assert.That(r.ExitCode).IsEqualTo(0);
        await Assert.That(r.StdOut).Contains("default not loaded");
    }

    [Test]
    public async Task Refuses_when_the_module_is_missing()
    {
        using var tree = await FipsTree.CreateAsync();
        File.Delete(tree.Module);
        await AssertRefusal(await tree.RunAsync("fips-status"), "FIPS module", tree.Module, "is missing", "reinstall");
    }

    [Test]
    public async Task Refuses_when_the_installed_MAC_does_not_match()
    {
        using var tree = await FipsTree.CreateAsync();
        string conf = await File.ReadAllTextAsync(tree.ModuleConf);
        string tampered = Regex.Replace(conf, @"(module-mac\s*=\s*)([0-9A-F]{2})", m => m.Groups[1].Value + (m.Groups[2].Value == "00" ? "01" : "00"));
        await Assert.That(tampered).IsNotEqualTo(conf);
        await File.WriteAllTextAsync(tree.ModuleConf, tampered);
        await AssertRefusal(await tree.RunAsync("fips-status"), "Module_Integrity", "fipsinstall.sh " + tree.Embedded);
    }

    [Test]
    public async Task Refuses_when_the_module_was_not_installed_on_this_host()
    {
        using var tree = await FipsTree.CreateAsync();
        File.Delete(tree.ModuleConf);
        await AssertRefusal(await tree.RunAsync("fips-status"), "not installed on this host", "fipsinstall.sh " + tree.Embedded);
    }

    [Test]
    public async Task Refuses_when_the_default_provider_is_activated()
    {
        using var tree = await FipsTree.CreateAsync();
        string conf = await File.ReadAllTextAsync(tree.OpenSslConf);
        conf = conf.Replace("base = base_sect", "base = base_sect\ndefault = default_sect") + "\n[default_sect]\nactivate = 1\n";
        await File.WriteAllTextAsync(tree.OpenSslConf, conf);
        await AssertRefusal(await tree.RunAsync("fips-status"), "default provider is active", tree.OpenSslConf);
    }

    [Test]
    public async Task Refuses_when_fips_is_not_the_default_property()
    {
        using var tree = await FipsTree.CreateAsync();
        string conf = await File.ReadAllTextAsync(tree.OpenSslConf);
        await File.WriteAllTextAsync(tree.OpenSslConf, conf.Replace("default_properties = fips=yes", ""));
        await AssertRefusal(await tree.RunAsync("fips-status"), "fips=yes", "default_properties");
    }

    [Test]
    public async Task Fails_closed_when_the_openssl_config_is_missing()
    {
        // OpenSSL itself would run on without the file, non-FIPS (the reference's trap).
        using var tree = await FipsTree.CreateAsync();
        File.Delete(tree.OpenSslConf);
        await AssertRefusal(await tree.RunAsync("fips-status"), tree.OpenSslConf, "missing");
    }
}
