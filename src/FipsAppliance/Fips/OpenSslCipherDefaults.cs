using System.Security.Authentication;

namespace FipsAppliance.Fips;

/// <summary>
/// The cipher lists every new SSL_CTX of this process starts with: what the OpenSSL config's
/// ssl_conf system_default section says (<c>CipherString</c>, <c>Ciphersuites</c>, written by
/// fipsinstall.sh), read back from OpenSSL itself in a fresh client SSL_CTX. .NET leaves these
/// lists untouched when an SslStream has no CipherSuitesPolicy (its shim applies its own default
/// list only when the config names none), so a policy whose lists are exactly these can go
/// without one, and reuse .NET's cached SSL_CTX and TLS sessions.
/// Process-wide and immutable: OpenSSL loads its config once per process (FipsBootstrap), before
/// the first use here.
/// </summary>
internal static class OpenSslCipherDefaults
{
    private sealed record Lists(string Tls12, string Tls13);

    private static readonly Lazy<Lists?> s_lists = new(Read);

    /// <summary>TLS 1.2 ciphers in OpenSSL's names, ':'-joined, in offer order; null when OpenSSL could not say.</summary>
    public static string? Tls12 => s_lists.Value?.Tls12;
    /// <summary>TLS 1.3 suites, ':'-joined, in offer order; null when OpenSSL could not say.</summary>
    public static string? Tls13 => s_lists.Value?.Tls13;

    /// <summary>
    /// Whether a new SSL_CTX already offers exactly <paramref name="tls12"/> / <paramref name="tls13"/>
    /// (same suites, same order) for the versions in <paramref name="protocols"/>.
    /// </summary>
    public static bool Offers(SslProtocols protocols, string? tls12, string? tls13)
    {
        if (s_lists.Value is not { } d) return false;
        if ((protocols & SslProtocols.Tls12) != 0 && !string.Equals(d.Tls12, tls12 ?? "", StringComparison.Ordinal)) return false;
        if ((protocols & SslProtocols.Tls13) != 0 && !string.Equals(d.Tls13, tls13 ?? "", StringComparison.Ordinal)) return false;
        return true;
    }

    private static Lists? Read()
    {
        nint ctx = 0, ssl = 0;
        try
        {
            ctx = LibSsl.SSL_CTX_new(LibSsl.TLS_client_method());
            if (ctx == 0) return null;
            ssl = LibSsl.SSL_new(ctx);
            if (ssl == 0) return null;
            nint stack = LibSsl.SSL_get_ciphers(ssl);
            if (stack == 0) return null;
            var tls12 = new List<string>();
            var tls13 = new List<string>();
            int n = LibCrypto.OPENSSL_sk_num(stack);
            for (int i = 0; i < n && i < 512; i++)
            {
                string? name = LibCrypto.Str(LibSsl.SSL_CIPHER_get_name(LibCrypto.OPENSSL_sk_value(stack, i)));
                if (name is null) return null;
                (name.StartsWith("TLS_", StringComparison.Ordinal) ? tls13 : tls12).Add(name);
            }
            return new Lists(string.Join(':', tls12), string.Join(':', tls13));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        finally
        {
            if (ssl != 0) LibSsl.SSL_free(ssl);
            if (ctx != 0) LibSsl.SSL_CTX_free(ctx);
            LibCrypto.ERR_clear_error();
        }
    }
}
