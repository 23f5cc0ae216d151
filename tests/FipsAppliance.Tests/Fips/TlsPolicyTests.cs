using System.Net.Security;
using System.Security.Authentication;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Fips;

/// <summary>How cfg words become the relay's TLS settings for a server (in-process, no FIPS needed).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class TlsPolicyTests
{
    private static ServerLine Server(string address, string? sni = null, string? verifyHost = null, string? ca = null,
        VerifyMode verify = VerifyMode.Required, string? ciphers = null, string? ciphersuites = null, SslOptions? options = null) => new()
    {
        Name = "s1", Address = address, Port = 443, Ssl = true, Verify = verify, CaFile = ca, Sni = sni,
        VerifyHost = verifyHost, Ciphers = ciphers, Ciphersuites = ciphersuites, SslOptions = options ?? new SslOptions(),
    };

    private static string CaFile(TempDir dir) => new TestCa().WriteRoot(dir.Path);

    [Test]
    public async Task Sends_the_host_name_as_SNI_and_verifies_it_by_default()
    {
        using var dir = new TempDir();
        var p = new TlsPolicies(new GlobalSection()).For(Server("api.ddog-gov.com", ca: CaFile(dir)));
        await Assert.That(p.Sni).IsEqualTo("api.ddog-gov.com");
        await Assert.That(p.ExpectedName).IsEqualTo("api.ddog-gov.com");
        await Assert.That(p.Options.TargetHost).IsEqualTo("api.ddog-gov.com");
        await Assert.That(p.Options.EnabledSslProtocols).IsEqualTo(SslProtocols.Tls12 | SslProtocols.Tls13);
    }

    [Test]
    public async Task Never_sends_an_IP_literal_as_SNI()
    {
        using var dir = new TempDir();
        var p = new TlsPolicies(new GlobalSection()).For(Server("10.1.2.3", ca: CaFile(dir)));
        await Assert.That(p.Sni).IsNull();
        await Assert.That(p.ExpectedName).IsEqualTo("10.1.2.3");
    }

    [Test]
    public async Task Sni_str_and_verifyhost_are_honoured()
    {
        using var dir = new TempDir();
        var p = new TlsPolicies(new GlobalSection()).For(Server("10.1.2.3", sni: "str(intake.example)", verifyHost: "check.example", ca: CaFile(dir)));
        await Assert.That(p.Sni).IsEqualTo("intake.example");
        await Assert.That(p.ExpectedName).IsEqualTo("check.example");
    }

    [Test]
    public async Task Maps_the_vendor_cipher_string_and_ignores_exclusions()
    {
        var global = new GlobalSection
        {
            SslDefaultServerCiphers = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:AES128-GCM-SHA256:!aNULL:!eNULL:!EXPORT",
            SslDefaultServerOptions = new SslOptions { MinVersion = "TLSv1.2", MaxVersion = "TLSv1.2" },
        };
        var p = new TlsPolicies(global).For(Server("api.ddog-gov.com", verify: VerifyMode.None));
        await Assert.That(p.Options.EnabledSslProtocols).IsEqualTo(SslProtocols.Tls12);
        await Assert.That(p.OpenSslCipherList).IsEqualTo("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:AES128-GCM-SHA256");
        await Assert.That(p.OpenSslCiphersuites).IsNull();
        await Assert.That(p.Warnings.Count).IsEqualTo(0);
        await Assert.That(p.Options.CipherSuitesPolicy!.AllowedCipherSuites).Contains(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
    }

    [Test]
    public async Task Reports_unknown_and_non_approved_cipher_names()
    {
        var global = new GlobalSection { SslDefaultServerCiphers = "HIGH:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384" };
        var p = new TlsPolicies(global).For(Server("a.example", verify: VerifyMode.None));
        await Assert.That(p.OpenSslCipherList).IsEqualTo("ECDHE-RSA-AES256-GCM-SHA384");
        await Assert.That(p.Warnings.Any(w => w.Contains("'HIGH'") && w.Contains("not a cipher suite name"))).IsTrue();
        await Assert.That(p.Warnings.Any(w => w.Contains("ECDHE-RSA-CHACHA20-POLY1305") && w.Contains("not FIPS-approved"))).IsTrue();
    }

    [Test]
    public async Task Rejects_a_cipher_list_with_nothing_approved()
    {
        var global = new GlobalSection
        {
            SslDefaultServerCiphers = "ECDHE-RSA-CHACHA20-POLY1305",
            SslDefaultServerOptions = new SslOptions { MaxVersion = "TLSv1.2" },
        };
        await Assert.That(() => new TlsPolicies(global).For(Server("a.example", verify: VerifyMode.None))).Throws<TlsPolicyException>();
    }

    [Test]
    public async Task Versions_below_TLS12_are_never_enabled()
    {
        var p = new TlsPolicies(new GlobalSection()).For(Server("a.example", verify: VerifyMode.None, options: new SslOptions { MinVersion = "TLSv1.0" }));
        await Assert.That(p.Options.EnabledSslProtocols).IsEqualTo(SslProtocols.Tls12 | SslProtocols.Tls13);
        await Assert.That(p.Warnings.Any(w => w.Contains("TLSv1.0"))).IsTrue();
    }

    [Test]
    public async Task Loads_a_CA_bundle_once_per_path()
    {
        using var dir = new TempDir();
        string ca = CaFile(dir);
        var policies = new TlsPolicies(new GlobalSection());
        var a = policies.Trust(ca);
        var b = policies.Trust(Path.Combine(dir.Path, ".", Path.GetFileName(ca)));
        await Assert.That(ReferenceEquals(a, b)).IsTrue();
        await Assert.That(a.Count).IsEqualTo(1);
    }

    [Test]
    public async Task A_new_model_reads_a_replaced_CA_file_again()
    {
        // A model's trust anchors are its own: an admin replaces the ca-file, then reloads; the new model must trust the new CA.
        using var dir = new TempDir();
        string ca = new TestCa("First Root CA").WriteRoot(dir.Path, "ca.pem");
        var before = new TlsPolicies(new GlobalSection()).Trust(ca);
        new TestCa("Second Root CA").WriteRoot(dir.Path, "ca.pem");
        var after = new TlsPolicies(new GlobalSection()).Trust(ca);
        await Assert.That(before[0].Subject).Contains("First Root CA");
        await Assert.That(after[0].Subject).Contains("Second Root CA");
    }

    [Test]
    public async Task A_missing_CA_file_is_a_policy_error()
    {
        using var dir = new TempDir();
        await Assert.That(() => new TlsPolicies(new GlobalSection()).For(Server("a.example", ca: dir.Combine("nope.pem")))).Throws<TlsPolicyException>();
    }

    [Test]
    public async Task Builds_the_policy_once_per_server_line()
    {
        using var dir = new TempDir();
        var server = Server("a.example", ca: CaFile(dir));
        var policies = new TlsPolicies(new GlobalSection());
        await Assert.That(ReferenceEquals(policies.For(server), policies.For(server))).IsTrue();
    }

    [Test]
    public async Task Verify_none_accepts_any_certificate_and_checks_no_name()
    {
        var p = new TlsPolicies(new GlobalSection()).For(Server("a.example", verify: VerifyMode.None));
        await Assert.That(p.ExpectedName).IsNull();
        await Assert.That(p.Options.RemoteCertificateValidationCallback!(new object(), null, null, SslPolicyErrors.RemoteCertificateChainErrors)).IsTrue();
    }

    [Test]
    public async Task Keeps_the_name_mismatch_reason_for_the_log_line()
    {
        using var dir = new TempDir();
        var ca = new TestCa();
        string caFile = ca.WriteRoot(dir.Path);
        var leaf = ca.Issue(["other.example"]).Certificate;
        var p = new TlsPolicies(new GlobalSection()).For(Server("a.example", ca: caFile));
        string? reason = p.Check(leaf, new System.Security.Cryptography.X509Certificates.X509Chain(), SslPolicyErrors.None);
        await Assert.That(reason).IsEqualTo("certificate name mismatch: expected a.example, certificate has other.example");
    }
}
