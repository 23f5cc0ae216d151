using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Fips;

/// <summary>
/// What the relay offers and negotiates upstream, seen from the server's side: an `openssl s_server
/// -www` answers each connection with a page naming the ciphers and groups the client offered and
/// whether the session was new or resumed. The relay (published binary, FIPS mode) reaches it in
/// mode http: each client connection's request opens its own upstream TLS connection (`http-reuse
/// safe`), which s_server closes after its HTTP/1.0 answer; one connection after the other.
/// </summary>
public partial class TlsSessionTests
{
    /// <summary>The TLS 1.2 list of the shipped cfg's ssl-default-server-ciphers, as the relay offers it.</summary>
    private const string ShippedCiphers =
        "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-GCM-SHA384";

    private sealed record Page(bool Reused, string Protocol, string Cipher, string OfferedCiphers, string OfferedGroups);

    private sealed class Setup : IAsyncDisposable
    {
        public TempDir Dir { get; } = new();
        public TestCa Ca { get; } = new();
        public string CaFile { get; }
        public string OtherCaFile { get; }
        public OpenSslServer Server { get; private set; } = null!;
        public RelayUnderTest Relay { get; private set; } = null!;
        /// <summary>The relay's `listen` sections bind Start, Start + 1, ... in the order given.</summary>
        public int Start { get; } = Ports.FreeRange(8);

        private Setup()
        {
            CaFile = Ca.WriteRoot(Dir.Path);
            OtherCaFile = new TestCa("Some Other Root CA").WriteRoot(Dir.Path, "other-ca.pem");
        }

        /// <summary>
        /// One `listen` section per entry, each with one TLS server line to the s_server; the
        /// entry is what the line adds (or @CA@ / @NAME@ replacements of the defaults).
        /// </summary>
        public static Task<Setup> StartAsync(params string[] serverOptions) => StartAsync(intermediate: false, serverOptions);

        /// <param name="intermediate">The server's certificate is signed by an intermediate CA it sends along; the relay trusts the root only.</param>
        public static async Task<Setup> StartAsync(bool intermediate, params string[] serverOptions)
        {
            var s = new Setup();
            try
            {
                string cert, key;
                string[] extra = [];
                if (intermediate)
                {
                    (cert, key, string chain) = IssueThroughIntermediate(s.Ca, s.Dir.Path);
                    extra = ["-cert_chain", chain];
                }
                else (cert, key) = s.Ca.Issue(["intake.test"]).Write(s.Dir.Path);
                s.Server = await OpenSslServer.StartAsync(cert, key, extra);
                var listens = new StringBuilder();
                for (int i = 0; i < serverOptions.Length; i++)
                {
                    string options = serverOptions[i];
                    string ca = options.Contains("@OTHER_CA@") ? s.OtherCaFile : s.CaFile;
                    string name = options.Contains("@OTHER_NAME@") ? "other.test" : "intake.test";
                    options = options.Replace("@OTHER_CA@", "").Replace("@OTHER_NAME@", "");
                    listens.Append($"""
                        listen l{i}
                            bind 127.0.0.1:{s.Start + i}
                            server s1 127.0.0.1:{s.Server.Port} ssl verify required ca-file {ca} sni str(intake.test) verifyhost {name} {options}

                        """);
                }
                string cfg = $"""
                    global
                        ssl-default-server-ciphers {ShippedCiphers}:!aNULL:!eNULL:!EXPORT
                        ssl-default-server-options no-sslv3 no-tlsv10 no-tlsv11 no-tlsv13
                    defaults
                        mode http
                        timeout client 10s
                        timeout server 10s
                        timeout connect 5s
                    {listens}
                    """;
                s.Relay = await RelayUnderTest.StartAsync(BlackBox.Relay.Ours, cfg, s.Ca.RootPem, s.Start);
                return s;
            }
            catch
            {
                await s.DisposeAsync();
                throw;
            }
        }

        private static (string Cert, string Key, string Chain) IssueThroughIntermediate(TestCa ca, string dir)
        {
            using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var ir = new CertificateRequest("CN=FipsAppliance Test Intermediate CA", intermediateKey, HashAlgorithmName.SHA256);
            ir.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            ir.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            ir.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(ir.PublicKey, false));
            using var intermediatePublic = ir.Create(ca.Root, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), [1, 2, 3, 4]);
            using var intermediate = intermediatePublic.CopyWithPrivateKey(intermediateKey);
            using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var lr = new CertificateRequest("CN=intake.test", leafKey, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("intake.test");
            lr.CertificateExtensions.Add(san.Build());
            lr.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            lr.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            lr.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using var leaf = lr.Create(intermediate, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), [5, 6, 7, 8]);
            string certFile = Path.Combine(dir, "leaf.crt"), keyFile = Path.Combine(dir, "leaf.key"), chainFile = Path.Combine(dir, "intermediate.crt");
            File.WriteAllText(certFile, leaf.ExportCertificatePem());
            File.WriteAllText(keyFile, leafKey.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(chainFile, intermediate.ExportCertificatePem());
            return (certFile, keyFile, chainFile);
        }

        public async ValueTask DisposeAsync()
        {
            if (Relay is not null) await Relay.DisposeAsync();
            if (Server is not null) await Server.DisposeAsync();
            Dir.Dispose();
        }
    }

    /// <summary>One client connection through the relay: s_server's page for its upstream connection, or null when the relay closed without one.</summary>
    private static async Task<Page?> FetchAsync(int port)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray(), cts.Token);
        var all = new MemoryStream();
        try { await stream.CopyToAsync(all, cts.Token); }
        catch (IOException) { }
        string text = Encoding.ASCII.GetString(all.ToArray());
        var session = SessionLine().Match(text);
        if (!session.Success) return null;
        var common = CommonCiphers().Match(text);
        var groups = SupportedGroups().Match(text);
        return new Page(
            session.Groups["how"].Value == "Reused",
            session.Groups["protocol"].Value,
            session.Groups["cipher"].Value,
            common.Success ? string.Join(':', common.Groups["list"].Value.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)) : "",
            groups.Success ? groups.Groups["groups"].Value.Trim() : "");
    }

    [GeneratedRegex(@"^(?<how>New|Reused), (?<protocol>TLSv1\.[23]), Cipher is (?<cipher>\S+)", RegexOptions.Multiline)]
    private static partial Regex SessionLine();

    [GeneratedRegex(@"Ciphers common between both SSL end points:\n(?<list>(?:[^\n]*\n)*?)Signature Algorithms")]
    private static partial Regex CommonCiphers();

    [GeneratedRegex(@"^Supported groups: (?<groups>[^\n]*)$", RegexOptions.Multiline)]
    private static partial Regex SupportedGroups();

    private static async Task<List<Page?>> FetchManyAsync(int port, int count)
    {
        var pages = new List<Page?>();
        for (int i = 0; i < count; i++) pages.Add(await FetchAsync(port));
        return pages;
    }

    [Test]
    public async Task Reconnects_to_a_server_with_the_global_cipher_list_resume_their_TLS_session()
    {
        await using var s = await Setup.StartAsync("");
        var pages = await FetchManyAsync(s.Start, 10);
        await Assert.That(pages.All(p => p is not null)).IsTrue().Because(s.Relay.Output);
        // What is offered and negotiated is what the cfg's global list and the FIPS config say
        // (s_server lists the offered ciphers and groups for a full handshake only).
        await Assert.That(pages[0]!.Reused).IsFalse();
        await Assert.That(pages[0]!.OfferedCiphers).IsEqualTo(ShippedCiphers);
        await Assert.That(pages[0]!.OfferedGroups).IsEqualTo("secp256r1:secp384r1:secp521r1");
        foreach (var p in pages)
        {
            await Assert.That(p!.Protocol).IsEqualTo("TLSv1.2");
            await Assert.That(p.Cipher).IsEqualTo("ECDHE-ECDSA-AES128-GCM-SHA256");
        }
        // The first connection has nothing to resume; every later one resumes.
        await Assert.That(pages.Skip(1).Count(p => p!.Reused)).IsEqualTo(9);
    }

    [Test]
    public async Task Reconnects_over_TLS13_resume_their_TLS_session()
    {
        await using var s = await Setup.StartAsync("ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3");
        var pages = await FetchManyAsync(s.Start, 6);
        await Assert.That(pages.All(p => p is not null)).IsTrue().Because(s.Relay.Output);
        await Assert.That(pages[0]!.Reused).IsFalse();
        await Assert.That(pages[0]!.OfferedGroups).IsEqualTo("secp256r1:secp384r1:secp521r1");
        foreach (var p in pages)
        {
            await Assert.That(p!.Protocol).IsEqualTo("TLSv1.3");
            await Assert.That(p.Cipher).IsEqualTo("TLS_AES_256_GCM_SHA384");
        }
        await Assert.That(pages.Skip(1).Count(p => p!.Reused)).IsEqualTo(5);
    }

    [Test]
    public async Task A_resumed_session_with_a_server_that_sends_an_intermediate_still_verifies()
    {
        // On a resumed handshake the server sends no certificates; the chain check runs on what
        // the session kept (leaf and intermediate), against the ca-file, which holds the root only.
        await using var s = await Setup.StartAsync(intermediate: true, "", "ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3");
        var tls12 = await FetchManyAsync(s.Start, 4);
        var tls13 = await FetchManyAsync(s.Start + 1, 4);
        await Assert.That(tls12.All(p => p is not null) && tls13.All(p => p is not null)).IsTrue().Because(s.Relay.Output);
        await Assert.That(tls12.Skip(1).All(p => p!.Reused && p.Protocol == "TLSv1.2")).IsTrue();
        await Assert.That(tls13.Skip(1).All(p => p!.Reused && p.Protocol == "TLSv1.3")).IsTrue();
    }

    [Test]
    public async Task A_server_with_its_own_ciphers_is_offered_exactly_those()
    {
        await using var s = await Setup.StartAsync("", "ciphers ECDHE-ECDSA-AES256-GCM-SHA384:AES256-GCM-SHA384");
        // A session of the shared context exists for the same SNI name: it must not leak into `own`.
        await Assert.That(await FetchAsync(s.Start)).IsNotNull();
        var pages = await FetchManyAsync(s.Start + 1, 3);
        foreach (var p in pages)
        {
            await Assert.That(p).IsNotNull().Because(s.Relay.Output);
            await Assert.That(p!.Protocol).IsEqualTo("TLSv1.2");
            await Assert.That(p.OfferedCiphers).IsEqualTo("ECDHE-ECDSA-AES256-GCM-SHA384:AES256-GCM-SHA384");
            await Assert.That(p.Cipher).IsEqualTo("ECDHE-ECDSA-AES256-GCM-SHA384");
            await Assert.That(p.OfferedGroups).IsEqualTo("secp256r1:secp384r1:secp521r1");
        }
    }

    [Test]
    public async Task A_resumable_session_never_skips_the_certificate_checks()
    {
        // `shipped` leaves a session for SNI intake.test in the shared cache; `wrongname` sends
        // the same SNI but wants another name, `otherca` trusts another CA: both must still fail.
        await using var s = await Setup.StartAsync("", "@OTHER_NAME@", "@OTHER_CA@");
        var first = await FetchAsync(s.Start);
        var second = await FetchAsync(s.Start);
        await Assert.That(first).IsNotNull().Because(s.Relay.Output);
        await Assert.That(second!.Reused).IsTrue();
        await Assert.That(await FetchAsync(s.Start + 1)).IsNull();
        await Assert.That(await FetchAsync(s.Start + 2)).IsNull();
        await Assert.That(s.Relay.Output).Contains("certificate name mismatch: expected other.test");
        // The good server still resumes afterwards.
        await Assert.That((await FetchAsync(s.Start))!.Reused).IsTrue();
    }
}
