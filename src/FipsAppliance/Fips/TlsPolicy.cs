using System.Net;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using FipsAppliance.Configuration;

namespace FipsAppliance.Fips;

/// <summary>A server's TLS settings cannot be turned into a policy (no usable cipher, bad CA file, ...).</summary>
public sealed class TlsPolicyException(string message) : Exception(message);

/// <summary>
/// The single place where TLS settings for a connection to a server are decided: protocol range,
/// cipher suites, SNI, the name the certificate must carry, and the trust anchors. Built once per
/// <see cref="ServerLine"/> by the <see cref="TlsPolicies"/> of one live model (a reload builds a
/// new set, which re-reads CA files). Groups are not here: .NET has no API for them; the OpenSSL
/// config's ssl_conf restricts them to P-256/P-384/P-521 for every SSL_CTX in the process.
///
/// Session resumption: .NET's OpenSSL layer shares one SSL_CTX (and so its client session cache,
/// one session per TargetHost) between connections only when <c>CipherSuitesPolicy</c> is null
/// (see <see cref="ResumesSessions"/>). So the approved cipher lists are enforced for the whole
/// process by the OpenSSL config fipsinstall.sh writes (<c>CipherString</c>/<c>Ciphersuites</c> in
/// ssl_conf's system_default, which OpenSSL applies to every new SSL_CTX), and a policy whose
/// lists are exactly those leaves <c>CipherSuitesPolicy</c> null. A server whose lists differ (its
/// own <c>ciphers</c>/<c>ciphersuites</c>, or a global list other than the config's) gets a
/// CipherSuitesPolicy with exactly its lists, and full handshakes.
/// </summary>
public sealed partial class TlsPolicy
{
    private static readonly ConditionalWeakTable<object, StrongBox<string>> s_failureBySender = new();

    public const string DefaultCaFile = "/etc/ssl/certs/ca-certificates.crt";

    /// <summary>TLS 1.3 suites offered when the cfg names TLS 1.2 ciphers only (HAProxy leaves 1.3 at OpenSSL's default).</summary>
    private static readonly TlsCipherSuite[] DefaultTls13 = [TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_AES_128_GCM_SHA256];
    private static readonly TlsCipherSuite[] DefaultTls12 =
    [
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ];

    /// <summary>Server name for messages ("backend/server" is up to the caller; this is the line's name).</summary>
    public string Server { get; }
    public SslClientAuthenticationOptions Options { get; }
    /// <summary>The SNI sent, or null (an IP literal is never sent as SNI).</summary>
    public string? Sni { get; }
    /// <summary>The name (or IP) the certificate must carry; null with `verify none`.</summary>
    public string? ExpectedName { get; }
    public bool Verify { get; }
    public string? CaFile { get; }
    public SslProtocols Protocols { get; }
    /// <summary>TLS 1.2 ciphers in OpenSSL's names, null = OpenSSL's default list (restricted by the FIPS provider).</summary>
    public string? OpenSslCipherList { get; }
    /// <summary>TLS 1.3 suites, null = OpenSSL's default.</summary>
    public string? OpenSslCiphersuites { get; }
    /// <summary>Names dropped from the cfg's lists (unknown to us, or not FIPS-approved): for a `[WARNING]`.</summary>
    public IReadOnlyList<string> Warnings { get; }
    /// <summary>
    /// Whether reconnects can resume a TLS session (.NET's shared SSL_CTX and its session cache):
    /// the lists are the process-wide ones (no CipherSuitesPolicy) and there is an SNI name,
    /// which is the key of .NET's client session cache.
    /// </summary>
    public bool ResumesSessions { get; }
    /// <summary>Why <see cref="ResumesSessions"/> is false, in a few words; null when it is true.</summary>
    public string? NoResumptionReason { get; }

    private readonly X509Certificate2Collection? _trust;

    internal TlsPolicy(ServerLine server, GlobalSection global, TlsPolicies owner)
    {
        Server = server.Name;
        var warnings = new List<string>();

        Protocols = ProtocolRange(
            server.SslOptions.MinVersion ?? global.SslDefaultServerOptions.MinVersion,
            server.SslOptions.MaxVersion ?? global.SslDefaultServerOptions.MaxVersion, warnings);

        string? ciphers = server.Ciphers ?? global.SslDefaultServerCiphers;
        string? suites = server.Ciphersuites ?? global.SslDefaultServerCiphersuites;
        CipherSuitesPolicy? policy = null;
        // With neither given, the approved AES-GCM lists are offered rather than OpenSSL's
        // default, which under the FIPS provider still carries CBC, PSK and SRP suites.
        {
            var tls12 = ciphers is null ? [.. DefaultTls12] : ParseCipherList(ciphers, tls13: false, warnings);
            var tls13 = suites is null ? [.. DefaultTls13] : ParseCipherList(suites, tls13: true, warnings);
            if ((Protocols & SslProtocols.Tls12) == 0) tls12.Clear();
            if ((Protocols & SslProtocols.Tls13) == 0) tls13.Clear();
            if (tls12.Count + tls13.Count == 0)
                throw new TlsPolicyException($"server '{server.Name}': no FIPS-approved cipher suite is left for {ProtocolText(Protocols)} from ciphers '{ciphers}' / ciphersuites '{suites}'.");
            OpenSslCipherList = tls12.Count == 0 ? null : string.Join(':', tls12.Select(OpenSslName));
            OpenSslCiphersuites = tls13.Count == 0 ? null : string.Join(':', tls13.Select(OpenSslName));
            // Exactly the process-wide lists: OpenSSL's config already offers them, and no policy
            // lets .NET share its SSL_CTX and resume sessions. Otherwise exactly these lists.
            // (CipherSuitesPolicy exists on Linux/macOS only; this relay runs on Linux.)
            if (!OpenSslCipherDefaults.Offers(Protocols, OpenSslCipherList, OpenSslCiphersuites) && !OperatingSystem.IsWindows())
                policy = new CipherSuitesPolicy([.. tls13, .. tls12]);
        }

        Verify = server.Verify == VerifyMode.Required;
        Sni = SniName(server.Sni, server.Address, warnings);
        ExpectedName = !Verify ? null
            : server.VerifyHost is { Length: > 0 } vh ? vh
            : Sni ?? server.Address;
        if (Verify)
        {
            CaFile = server.CaFile ?? DefaultCaFile;
            _trust = owner.Trust(CaFile);
        }
        Warnings = warnings;
        NoResumptionReason = policy is not null ? "its cipher lists are not the process-wide ones of the OpenSSL config"
            : Sni is null ? "no SNI name (the key of the TLS session cache)"
            : null;
        ResumesSessions = NoResumptionReason is null;

        var chainPolicy = Verify ? NewChainPolicy(_trust!) : null;
        Options = new SslClientAuthenticationOptions
        {
            // TargetHost carries the SNI only; the name check is ours (ExpectedName), so `verifyhost`
            // can differ from the SNI. .NET sends no SNI when TargetHost is empty or an IP literal.
            TargetHost = Sni ?? "",
            EnabledSslProtocols = Protocols,
            CipherSuitesPolicy = policy,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = chainPolicy,
            RemoteCertificateValidationCallback = Validate,
        };
    }

    /// <summary>
    /// <see cref="Options"/> with another SNI (a health check's `check-sni`): the same protocols,
    /// ciphers, trust and name check as traffic; the certificate must still carry <see cref="ExpectedName"/>.
    /// </summary>
    public SslClientAuthenticationOptions WithSni(string sni) => new()
    {
        TargetHost = sni,
        EnabledSslProtocols = Options.EnabledSslProtocols,
        CipherSuitesPolicy = Options.CipherSuitesPolicy,
        CertificateRevocationCheckMode = Options.CertificateRevocationCheckMode,
        CertificateChainPolicy = Options.CertificateChainPolicy,
        RemoteCertificateValidationCallback = Options.RemoteCertificateValidationCallback,
        AllowTlsResume = Options.AllowTlsResume,
        AllowRenegotiation = Options.AllowRenegotiation,
        ApplicationProtocols = Options.ApplicationProtocols,
    };

    /// <summary>PEM only: PKCS#12 needs PKCS12KDF, which the FIPS provider lacks.</summary>
    internal static X509Certificate2Collection LoadPem(string path)
    {
        var certs = new X509Certificate2Collection();
        try
        {
            certs.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new TlsPolicyException($"ca-file {path} cannot be loaded as PEM: {e.Message}");
        }
        if (certs.Count == 0) throw new TlsPolicyException($"ca-file {path} holds no PEM certificate.");
        return certs;
    }

    private static X509ChainPolicy NewChainPolicy(X509Certificate2Collection trust)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // Downloads of intermediates/CRLs can stall a handshake for seconds; intake sends its chain.
            DisableCertificateDownloads = true,
            RevocationMode = X509RevocationMode.NoCheck,
            VerificationFlags = X509VerificationFlags.NoFlag,
        };
        policy.CustomTrustStore.AddRange(trust);
        return policy;
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (!Verify) return true;
        string? reason = Check(certificate, chain, errors);
        if (reason is null)
        {
            s_failureBySender.Remove(sender);
            return true;
        }
        s_failureBySender.AddOrUpdate(sender, new StrongBox<string>(reason));
        return false;
    }

    /// <summary>Null when the certificate is acceptable, else the reason in OpenSSL's words where there is one.</summary>
    internal string? Check(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            return "the server sent no certificate";
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0 || chain is null)
            return ChainReason(chain);
        var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        if (ExpectedName is not null && !leaf.MatchesHostname(ExpectedName))
            return $"certificate name mismatch: expected {ExpectedName}, certificate has {Names(leaf)}";
        return null;
    }

    private static string ChainReason(X509Chain? chain)
    {
        if (chain is null) return "certificate chain could not be built";
        var parts = new List<string>();
        foreach (var status in chain.ChainStatus)
        {
            string text = status.Status switch
            {
                X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain => "unable to get local issuer certificate",
                X509ChainStatusFlags.NotTimeValid => "certificate has expired or is not yet valid",
                X509ChainStatusFlags.NotSignatureValid => "certificate signature failure",
                X509ChainStatusFlags.Revoked => "certificate revoked",
                X509ChainStatusFlags.NotValidForUsage => "unsupported certificate purpose",
                X509ChainStatusFlags.InvalidBasicConstraints => "invalid CA certificate",
                _ => status.StatusInformation.Trim(),
            };
            if (text.Length > 0 && !parts.Contains(text)) parts.Add(text);
        }
        string subject = chain.ChainElements.Count > 0 ? chain.ChainElements[^1].Certificate.Subject : "?";
        return parts.Count == 0
            ? "certificate chain is not trusted"
            : $"{string.Join(", ", parts)} (chain ends at '{subject}', not in the ca-file)";
    }

    private static string Names(X509Certificate2 cert)
    {
        var names = new List<string>();
        foreach (var ext in cert.Extensions)
            if (ext is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                names.AddRange(san.EnumerateIPAddresses().Select(ip => ip.ToString()));
            }
        return names.Count > 0 ? string.Join(", ", names) : cert.Subject;
    }

    /// <summary>The reason the last certificate check of this stream failed, or null.</summary>
    public static string? FailureReason(SslStream stream) =>
        s_failureBySender.TryGetValue(stream, out var box) ? box.Value : null;

    /// <summary>
    /// Why AuthenticateAsClientAsync failed, for the 502 log line: our certificate verdict when we
    /// rejected the certificate, else OpenSSL's own words (alerts, no shared cipher, ...).
    /// </summary>
    public static string DescribeFailure(SslStream stream, Exception e)
    {
        if (FailureReason(stream) is { } reason) return reason;
        return DescribeException(e);
    }

    internal static string DescribeException(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null && parts.Count < 4; x = x.InnerException)
        {
            // UseSystemResourceKeys leaves .NET's resource keys ("net_ssl_handshake_failed_error")
            // in messages; OpenSSL's own text ("error:0A000410:SSL routines::sslv3 alert handshake
            // failure") is what explains the failure.
            string m = ResourceKey().Replace(x.Message, "").Trim(' ', ',', ':');
            if (m.Length > 0 && !parts.Any(p => p.Contains(m, StringComparison.Ordinal))) parts.Add(m);
        }
        return parts.Count == 0 ? "TLS handshake failed" : "TLS handshake failed: " + string.Join(": ", parts);
    }

    [GeneratedRegex(@"\bnet_\w+(:\s*|,\s*)?")]
    private static partial Regex ResourceKey();

    // --- protocol range -------------------------------------------------------------------

    private static readonly string[] VersionOrder = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

    /// <summary>
    /// The contiguous version range as .NET flags, TLS 1.2..1.3 by default. Versions below 1.2
    /// are dropped (the FIPS policy and the OpenSSL config's MinProtocol forbid them anyway).
    /// </summary>
    internal static SslProtocols ProtocolRange(string? min, string? max, List<string> warnings)
    {
        int lo = min is null ? 3 : Array.IndexOf(VersionOrder, min);
        int hi = max is null ? 4 : Array.IndexOf(VersionOrder, max);
        if (lo < 0) throw new TlsPolicyException($"unknown minimum TLS version '{min}'.");
        if (hi < 0) throw new TlsPolicyException($"unknown maximum TLS version '{max}'.");
        if (lo < 3)
        {
            warnings.Add($"{VersionOrder[lo]} is below the FIPS policy's minimum; TLSv1.2 is the lowest version used");
            lo = 3;
        }
        if (hi < lo) throw new TlsPolicyException($"no TLS version left between {min ?? "TLSv1.2"} and {max}: FIPS mode needs TLSv1.2 or TLSv1.3.");
        var result = SslProtocols.None;
        if (lo <= 3 && hi >= 3) result |= SslProtocols.Tls12;
        if (hi >= 4) result |= SslProtocols.Tls13;
        return result;
    }

    public static string ProtocolText(SslProtocols p) => p switch
    {
        SslProtocols.Tls12 => "TLSv1.2",
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 | SslProtocols.Tls13 => "TLSv1.2..TLSv1.3",
        _ => p.ToString(),
    };

    // --- cipher names ---------------------------------------------------------------------

    /// <summary>(OpenSSL name, IANA suite, FIPS-approved) for the suites a cfg is likely to name.</summary>
    private static readonly (string OpenSsl, TlsCipherSuite Suite, bool Approved)[] CipherTable =
    [
        ("TLS_AES_256_GCM_SHA384", TlsCipherSuite.TLS_AES_256_GCM_SHA384, true),
        ("TLS_AES_128_GCM_SHA256", TlsCipherSuite.TLS_AES_128_GCM_SHA256, true),
        ("TLS_AES_128_CCM_SHA256", TlsCipherSuite.TLS_AES_128_CCM_SHA256, true),
        ("TLS_AES_128_CCM_8_SHA256", TlsCipherSuite.TLS_AES_128_CCM_8_SHA256, true),
        ("TLS_CHACHA20_POLY1305_SHA256", TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, false),
        ("ECDHE-ECDSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true),
        ("ECDHE-RSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, true),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true),
        ("ECDHE-RSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true),
        ("DHE-RSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384, true),
        ("DHE-RSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256, true),
        ("AES256-GCM-SHA384", TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384, true),
        ("AES128-GCM-SHA256", TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256, true),
        ("ECDHE-ECDSA-AES256-SHA384", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, true),
        ("ECDHE-RSA-AES256-SHA384", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, true),
        ("ECDHE-ECDSA-AES128-SHA256", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, true),
        ("ECDHE-RSA-AES128-SHA256", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, true),
        ("ECDHE-ECDSA-AES256-SHA", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, true),
        ("ECDHE-RSA-AES256-SHA", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, true),
        ("ECDHE-ECDSA-AES128-SHA", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, true),
        ("ECDHE-RSA-AES128-SHA", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, true),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, false),
        ("ECDHE-RSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, false),
        ("DHE-RSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256, false),
        ("DES-CBC3-SHA", TlsCipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA, false),
        ("RC4-SHA", TlsCipherSuite.TLS_RSA_WITH_RC4_128_SHA, false),
    ];

    private static string OpenSslName(TlsCipherSuite suite)
    {
        foreach (var row in CipherTable) if (row.Suite == suite) return row.OpenSsl;
        return suite.ToString();
    }

    /// <summary>
    /// An OpenSSL cipher string reduced to explicit suite names: exclusions (`!aNULL`, `-x`) and
    /// ordering directives (`+x`, `@STRENGTH`) are ignored, since only named suites are offered;
    /// unknown names, aliases (HIGH, DEFAULT) and non-approved suites are dropped with a warning.
    /// IANA names (TLS_ECDHE_RSA_WITH_...) are accepted too.
    /// </summary>
    internal static List<TlsCipherSuite> ParseCipherList(string list, bool tls13, List<string> warnings)
    {
        var result = new List<TlsCipherSuite>();
        foreach (string raw in list.Split([':', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw[0] is '!' or '-' or '+' or '@') continue;
            var row = CipherTable.FirstOrDefault(r => string.Equals(r.OpenSsl, raw, StringComparison.OrdinalIgnoreCase));
            if (row.OpenSsl is null && Enum.TryParse<TlsCipherSuite>(raw, ignoreCase: false, out var iana))
                row = CipherTable.FirstOrDefault(r => r.Suite == iana) is { OpenSsl: not null } known ? known : (raw, iana, false);
            if (row.OpenSsl is null)
            {
                warnings.Add($"cipher '{raw}' is not a cipher suite name this relay knows; ignored");
                continue;
            }
            if (!row.Approved)
            {
                warnings.Add($"cipher '{raw}' is not FIPS-approved; ignored");
                continue;
            }
            bool is13 = row.OpenSsl.StartsWith("TLS_AES_", StringComparison.Ordinal);
            if (is13 != tls13)
            {
                warnings.Add($"cipher '{raw}' is a TLS {(is13 ? "1.3 suite (belongs in ciphersuites)" : "1.2 cipher (belongs in ciphers)")}; ignored");
                continue;
            }
            if (!result.Contains(row.Suite)) result.Add(row.Suite);
        }
        return result;
    }

    // --- SNI ------------------------------------------------------------------------------

    [GeneratedRegex(@"^str\((?<name>[^()]*)\)$")]
    private static partial Regex StrSample();

    /// <summary>`sni str(name)` when given, else the server's host name; never an IP literal.</summary>
    internal static string? SniName(string? sni, string address, List<string> warnings)
    {
        if (sni is { Length: > 0 })
        {
            var m = StrSample().Match(sni.Trim());
            if (m.Success)
            {
                string name = m.Groups["name"].Value.Trim();
                return name.Length == 0 || IPAddress.TryParse(name, out _) ? null : name;
            }
            warnings.Add($"sni '{sni}': only str(<name>) is supported; the server's host name is sent instead");
        }
        return address.Length == 0 || IPAddress.TryParse(address.Trim('[', ']'), out _) ? null : address;
    }
}
