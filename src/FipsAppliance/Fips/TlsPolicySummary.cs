using System.Net.Security;
using System.Security.Authentication;
using FipsAppliance.Configuration;

namespace FipsAppliance.Fips;

/// <summary>
/// The TLS policy in force, as OpenSSL itself reports it for a fresh client SSL_CTX: the OpenSSL
/// config's ssl_conf (MinProtocol, Groups) plus, when a cfg is given, the global
/// ssl-default-server-* settings as <see cref="TlsPolicy"/> translates them for .NET.
/// </summary>
public sealed class TlsPolicySummary
{
    public string Protocols { get; init; } = "";
    public string Groups { get; init; } = "";
    public string Ciphersuites { get; init; } = "";
    public string Ciphers { get; init; } = "";
    public string Source { get; init; } = "";

    internal static TlsPolicySummary InForce(string openSslConf, GlobalSection? global)
    {
        string? cipherList = null, suites = null;
        SslProtocols? range = null;
        string source = $"{openSslConf} (ssl_conf)";
        {
            var probe = new ServerLine { Name = "ssl-default-server", Address = "", Verify = VerifyMode.None };
            try
            {
                var policy = new TlsPolicies(global ?? new GlobalSection()).For(probe);
                cipherList = policy.OpenSslCipherList;
                suites = policy.OpenSslCiphersuites;
                range = policy.Protocols;
                source += global is null ? " + the relay's default cipher lists" : " + cfg global ssl-default-server-*";
            }
            catch (TlsPolicyException e)
            {
                source += $" (cfg global not applicable: {e.Message})";
            }
        }

        nint ctx = LibSsl.SSL_CTX_new(LibSsl.TLS_client_method());
        if (ctx == 0) return new TlsPolicySummary { Source = "OpenSSL could not create an SSL_CTX" };
        nint ssl = 0;
        try
        {
            if (range is { } r)
            {
                LibSsl.SetMinProto(ctx, (r & SslProtocols.Tls12) != 0 ? LibSsl.TLS1_2_VERSION : LibSsl.TLS1_3_VERSION);
                LibSsl.SetMaxProto(ctx, (r & SslProtocols.Tls13) != 0 ? LibSsl.TLS1_3_VERSION : LibSsl.TLS1_2_VERSION);
            }
            if (cipherList is not null) LibSsl.SSL_CTX_set_cipher_list(ctx, cipherList);
            if (suites is not null) LibSsl.SSL_CTX_set_ciphersuites(ctx, suites);
            int min = LibSsl.GetMinProto(ctx), max = LibSsl.GetMaxProto(ctx);
            ssl = LibSsl.SSL_new(ctx);
            var tls13 = new List<string>();
            var tls12 = new List<string>();
            if (ssl != 0)
            {
                nint stack = LibSsl.SSL_get_ciphers(ssl);
                int n = stack == 0 ? 0 : LibCrypto.OPENSSL_sk_num(stack);
                for (int i = 0; i < n && i < 512; i++)
                {
                    string name = LibCrypto.Str(LibSsl.SSL_CIPHER_get_name(LibCrypto.OPENSSL_sk_value(stack, i))) ?? "?";
                    (name.StartsWith("TLS_", StringComparison.Ordinal) ? tls13 : tls12).Add(name);
                }
            }
            bool has13 = max == 0 || max >= LibSsl.TLS1_3_VERSION;
            bool has12 = min <= LibSsl.TLS1_2_VERSION;
            LibCrypto.ERR_clear_error();
            return new TlsPolicySummary
            {
                Protocols = $"{(min == 0 ? "TLSv1.2" : LibSsl.ProtoName(min))}..{(max == 0 ? "TLSv1.3" : LibSsl.ProtoName(max))}",
                Groups = ConfiguredGroups(openSslConf) ?? "OpenSSL default (offers X25519, which is not approved)",
                Ciphersuites = has13 ? Join(tls13) : "(TLS 1.3 disabled)",
                Ciphers = has12 ? Join(tls12) : "(TLS 1.2 disabled)",
                Source = source,
            };
        }
        finally
        {
            if (ssl != 0) LibSsl.SSL_free(ssl);
            LibSsl.SSL_CTX_free(ctx);
        }
    }

    private static string Join(List<string> names) => names.Count == 0 ? "(none)" : string.Join(':', names);

    /// <summary>
    /// The `Groups` line of the config's ssl_conf. OpenSSL 3.0 has no getter for the configured
    /// groups of an SSL_CTX, so the file says it; tls-probe shows the group actually negotiated.
    /// </summary>
    internal static string? ConfiguredGroups(string openSslConf)
    {
        try
        {
            foreach (string line in File.ReadLines(openSslConf))
            {
                string t = line.Trim();
                if (t.StartsWith('#')) continue;
                int eq = t.IndexOf('=');
                if (eq > 0 && t[..eq].Trim() is "Groups" or "Curves") return t[(eq + 1)..].Trim();
            }
        }
        catch (IOException) { }
        return null;
    }
}
