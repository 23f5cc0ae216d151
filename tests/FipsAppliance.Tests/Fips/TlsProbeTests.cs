using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Fips;

/// <summary>`tls-probe` against local `openssl s_server`s, in FIPS mode, through the published binary.</summary>
public class TlsProbeTests
{
    private sealed class Setup : IDisposable
    {
        public TempDir Dir { get; } = new();
        public TestCa Ca { get; } = new();
        public string CaFile { get; }
        public string Cert { get; }
        public string Key { get; }

        public Setup()
        {
            CaFile = Ca.WriteRoot(Dir.Path);
            (Cert, Key) = Ca.Issue(["intake.test", "127.0.0.1"]).Write(Dir.Path);
        }

        public void Dispose() => Dir.Dispose();
    }

    private static Task<ProcessResult> Probe(params string[] args) =>
        ProcessRunner.RunAsync(Repo.Binary, ["tls-probe", .. args],
            new Dictionary<string, string?> { ["OPENSSL_CONF"] = null, ["FIPS_APPLIANCE_EMBEDDED"] = null },
            TimeSpan.FromSeconds(60));

    [Test]
    public async Task Handshake_with_a_P256_server_succeeds_and_shows_what_was_negotiated()
    {
        using var s = new Setup();
        await using var server = await OpenSslServer.StartAsync(s.Cert, s.Key);
        var r = await Probe(server.HostPort, "--ca-file", s.CaFile, "--sni", "intake.test");
        await Assert.That(r.ExitCode).IsEqualTo(0);
        await Assert.That(r.StdOut).Contains("protocol:   TLSv1.3");
        await Assert.That(r.StdOut).Contains("cipher:     TLS_AES_");
        await Assert.That(r.StdOut).Contains("group:      secp256r1 (prime256v1)");
        await Assert.That(r.StdOut).Contains("0 subject:   CN=intake.test");
        await Assert.That(r.StdOut).Contains("1 subject:   CN=FipsAppliance Test Root CA");
        await Assert.That(r.StdOut).Contains("relay path: SslStream under the relay's TlsPolicy agreed");
        await Assert.That(r.StdOut.TrimEnd()).EndsWith("OK");
    }

    [Test]
    public async Task Handshake_with_an_X25519_only_server_fails_and_says_why()
    {
        using var s = new Setup();
        await using var server = await OpenSslServer.StartAsync(s.Cert, s.Key, "-groups", "X25519");
        var r = await Probe(server.HostPort, "--ca-file", s.CaFile, "--sni", "intake.test");
        await Assert.That(r.ExitCode).IsEqualTo(1);
        await Assert.That(r.StdOut).Contains("FAILED: handshake failed");
        await Assert.That(r.StdOut).Contains("alert handshake failure");
        await Assert.That(r.StdOut).Contains("groups offered: P-256:P-384:P-521");
    }

    [Test]
    public async Task Name_mismatch_fails_and_says_why()
    {
        using var s = new Setup();
        await using var server = await OpenSslServer.StartAsync(s.Cert, s.Key);
        var r = await Probe(server.HostPort, "--ca-file", s.CaFile, "--sni", "other.test");
        await Assert.That(r.ExitCode).IsEqualTo(1);
        await Assert.That(r.StdOut).Contains("FAILED: certificate verification failed: hostname mismatch");
        await Assert.That(r.StdOut).Contains("certificate name mismatch: expected other.test");
    }

    [Test]
    public async Task Untrusted_CA_fails_and_says_why()
    {
        using var s = new Setup();
        var otherCa = new TestCa("Some Other CA");
        string otherCaFile = otherCa.WriteRoot(s.Dir.Path, "other-ca.pem");
        await using var server = await OpenSslServer.StartAsync(s.Cert, s.Key);
        var r = await Probe(server.HostPort, "--ca-file", otherCaFile, "--sni", "intake.test");
        await Assert.That(r.ExitCode).IsEqualTo(1);
        await Assert.That(r.StdOut).Contains("FAILED: certificate verification failed: unable to get local issuer certificate");
        await Assert.That(r.StdOut).Contains("relay path: SslStream under the relay's TlsPolicy failed too: unable to get local issuer certificate");
    }

    [Test]
    public async Task Refused_connection_says_so()
    {
        using var s = new Setup();
        var r = await Probe($"127.0.0.1:{Ports.Free()}", "--ca-file", s.CaFile);
        await Assert.That(r.ExitCode).IsEqualTo(1);
        await Assert.That(r.StdOut).Contains("FAILED: connection refused by 127.0.0.1:");
    }
}
