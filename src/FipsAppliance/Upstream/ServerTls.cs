using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using FipsAppliance.Configuration;

namespace FipsAppliance.Upstream;

/// <summary>
/// The TLS side of one server line, prepared once: which name goes in SNI, which name the
/// certificate must carry, which CA bundle it must chain to. Per connection it hands out options
/// whose validation callback records why a handshake was refused, for the 502's log line.
/// </summary>
internal sealed class ServerTls
{
    private readonly ServerLine _server;
    private readonly SslProtocols _protocols;
    private readonly X509Certificate2Collection? _roots;

    public ServerTls(GlobalSection global, ServerLine server)
    {
        _server = server;
        Enabled = server.Ssl;
        // Secure by default, beyond HAProxy: with no `sni`, the server line's host name is sent,
        // and with no `verifyhost` the certificate must carry that name (HAProxy checks the name
        // only when told). An IP literal is never sent as SNI.
        SniName = SniFromExpression(server.Sni) ?? (IsIpLiteral(server.Address) ? null : server.Address);
        VerifyName = server.VerifyHost ?? SniName ?? server.Address;
        _protocols = Protocols(server.SslOptions.MinVersion is null && server.SslOptions.MaxVersion is null
            ? global.SslDefaultServerOptions : server.SslOptions);
        if (Enabled && server.Verify == VerifyMode.Required && server.CaFile is not null)
            _roots = CaBundles.Get(server.CaFile);
    }

    public bool Enabled { get; }
    public string? SniName { get; }
    public string VerifyName { get; }

    /// <summary>Options for one handshake; <paramref name="failure"/> receives the refusal reason.</summary>
    public SslClientAuthenticationOptions CreateOptions(HandshakeFailure failure) => new()
    {
        TargetHost = SniName ?? "",
        EnabledSslProtocols = _protocols,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, cert, _, _) => Validate(cert as X509Certificate2, failure),
    };

    private bool Validate(X509Certificate2? cert, HandshakeFailure failure)
    {
        if (_server.Verify == VerifyMode.None) return true;
        if (cert is null) { failure.Reason = "server sent no certificate"; return false; }
        if (_roots is null) { failure.Reason = "no ca-file to verify the server certificate against"; return false; }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        // Never fetch intermediates or CRLs from the network: the appliance may be air-gapped,
        // and a stalled download would stall every handshake.
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(cert))
        {
            var status = chain.ChainStatus.Length > 0 ? chain.ChainStatus[0] : default;
            failure.Reason = status.Status switch
            {
                X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain =>
                    $"certificate verify failed: untrusted issuer (unable to get local issuer certificate) for '{cert.Subject}'",
                X509ChainStatusFlags.NotTimeValid => $"certificate verify failed: certificate has expired or is not yet valid ('{cert.Subject}')",
                _ => $"certificate verify failed: {status.StatusInformation.Trim()} ('{cert.Subject}')",
            };
            return false;
        }
        if (!cert.MatchesHostname(VerifyName, allowWildcards: true, allowCommonName: false))
        {
            failure.Reason = $"certificate name mismatch: expected '{VerifyName}', certificate is for '{cert.GetNameInfo(X509NameType.DnsName, false)}'";
            return false;
        }
        return true;
    }

    private static string? SniFromExpression(string? sni)
    {
        if (sni is null) return null;
        // Only the constant form `str(<name>)` is meaningful towards a fixed intake host.
        if (sni.StartsWith("str(", StringComparison.Ordinal) && sni.EndsWith(')')) return sni[4..^1];
        return sni;
    }

    private static bool IsIpLiteral(string address) => System.Net.IPAddress.TryParse(address, out _);

    internal static SslProtocols Protocols(SslOptions o)
    {
        // Only TLS 1.2 and 1.3 exist under the FIPS policy (MinProtocol TLSv1.2 in our openssl.cnf).
        int min = Rank(o.MinVersion) ?? 12, max = Rank(o.MaxVersion) ?? 13;
        SslProtocols p = SslProtocols.None;
        if (min <= 12 && max >= 12) p |= SslProtocols.Tls12;
        if (min <= 13 && max >= 13) p |= SslProtocols.Tls13;
        return p == SslProtocols.None ? SslProtocols.Tls12 : p;
    }

    private static int? Rank(string? v) => v switch
    {
        null => null,
        "SSLv3" => 3,
        "TLSv1.0" => 10,
        "TLSv1.1" => 11,
        "TLSv1.2" => 12,
        "TLSv1.3" => 13,
        _ => null,
    };
}

/// <summary>Why the last handshake was refused, filled in by the validation callback.</summary>
internal sealed class HandshakeFailure
{
    public string? Reason { get; set; }
}

/// <summary>CA bundles are loaded once per path and shared by every server that names them.</summary>
internal static class CaBundles
{
    private static readonly Dictionary<string, X509Certificate2Collection> Loaded = new(StringComparer.Ordinal);

    public static X509Certificate2Collection Get(string path)
    {
        lock (Loaded)
        {
            if (Loaded.TryGetValue(path, out var c)) return c;
            c = new X509Certificate2Collection();
            c.ImportFromPemFile(path);
            Loaded[path] = c;
            return c;
        }
    }
}
