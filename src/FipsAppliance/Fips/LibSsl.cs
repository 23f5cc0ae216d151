using System.Runtime.InteropServices;

namespace FipsAppliance.Fips;

// libssl.so.3 entry points for what .NET does not expose: the negotiated key-exchange group
// (tls-probe) and the protocol range OpenSSL's ssl_conf puts on every new SSL_CTX (fips-status).
// Only used after FipsBootstrap has loaded our OpenSSL config, so they run under the same
// providers and ssl_conf as .NET's SslStream.
internal static unsafe partial class LibSsl
{
    private const string Lib = "libssl.so.3";

    public const int TLS1_2_VERSION = 0x0303, TLS1_3_VERSION = 0x0304;
    public const int SSL_VERIFY_NONE = 0, SSL_VERIFY_PEER = 1;
    public const int SSL_ERROR_SSL = 1, SSL_ERROR_SYSCALL = 5, SSL_ERROR_ZERO_RETURN = 6;

    private const int SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;
    private const int SSL_CTRL_SET_MIN_PROTO_VERSION = 123, SSL_CTRL_SET_MAX_PROTO_VERSION = 124;
    private const int SSL_CTRL_GET_MIN_PROTO_VERSION = 130, SSL_CTRL_GET_MAX_PROTO_VERSION = 131;
    private const int SSL_CTRL_GET_NEGOTIATED_GROUP = 134;
    private const int SSL_CTRL_MODE = 33;
    public const long SSL_MODE_RELEASE_BUFFERS = 0x10;

    [LibraryImport(Lib)]
    public static partial nint TLS_client_method();

    [LibraryImport(Lib)]
    public static partial nint SSL_CTX_new(nint method);

    [LibraryImport(Lib)]
    public static partial void SSL_CTX_free(nint ctx);

    [LibraryImport(Lib)]
    private static partial nint SSL_CTX_ctrl(nint ctx, int cmd, nint larg, nint parg);

    [LibraryImport(Lib)]
    private static partial nint SSL_ctrl(nint ssl, int cmd, nint larg, nint parg);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_set_cipher_list(nint ctx, string list);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_set_ciphersuites(nint ctx, string list);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_load_verify_locations(nint ctx, string? caFile, string? caPath);

    [LibraryImport(Lib)]
    public static partial void SSL_CTX_set_verify(nint ctx, int mode, nint callback);

    [LibraryImport(Lib)]
    public static partial nint SSL_new(nint ctx);

    [LibraryImport(Lib)]
    public static partial void SSL_free(nint ssl);

    [LibraryImport(Lib)]
    public static partial int SSL_set_fd(nint ssl, int fd);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_set1_host(nint ssl, string host);

    [LibraryImport(Lib)]
    public static partial int SSL_connect(nint ssl);

    [LibraryImport(Lib)]
    public static partial int SSL_shutdown(nint ssl);

    [LibraryImport(Lib)]
    public static partial int SSL_get_error(nint ssl, int ret);

    [LibraryImport(Lib)]
    public static partial nint SSL_get_version(nint ssl);

    [LibraryImport(Lib)]
    public static partial nint SSL_get_current_cipher(nint ssl);

    [LibraryImport(Lib)]
    public static partial nint SSL_CIPHER_get_name(nint cipher);

    [LibraryImport(Lib)]
    public static partial nint SSL_CIPHER_standard_name(nint cipher);

    [LibraryImport(Lib)]
    public static partial nint SSL_get_ciphers(nint ssl);

    [LibraryImport(Lib)]
    public static partial nint SSL_group_to_name(nint ssl, int id);

    [LibraryImport(Lib)]
    public static partial nint SSL_get0_verified_chain(nint ssl);

    [LibraryImport(Lib)]
    public static partial nint SSL_get_peer_cert_chain(nint ssl);

    [LibraryImport(Lib)]
    public static partial nint SSL_get_verify_result(nint ssl);

    [LibraryImport(Lib)]
    public static partial nint SSL_alert_desc_string_long(int value);

    public static bool SetMinProto(nint ctx, int version) => SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, version, 0) == 1;
    public static bool SetMaxProto(nint ctx, int version) => SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, version, 0) == 1;
    public static int GetMinProto(nint ctx) => (int)SSL_CTX_ctrl(ctx, SSL_CTRL_GET_MIN_PROTO_VERSION, 0, 0);
    public static int GetMaxProto(nint ctx) => (int)SSL_CTX_ctrl(ctx, SSL_CTRL_GET_MAX_PROTO_VERSION, 0, 0);
    /// <summary>SSL_set_mode (a macro over SSL_ctrl): adds the bits (none: only reads), returns the mode now in force.</summary>
    public static long SetMode(nint ssl, long mode) => SSL_ctrl(ssl, SSL_CTRL_MODE, (nint)mode, 0);
    public static int NegotiatedGroup(nint ssl) => (int)SSL_ctrl(ssl, SSL_CTRL_GET_NEGOTIATED_GROUP, 0, 0);

    public static bool SetSni(nint ssl, string name)
    {
        nint p = Marshal.StringToCoTaskMemUTF8(name);
        try { return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, 0 /* TLSEXT_NAMETYPE_host_name */, p) == 1; }
        finally { Marshal.FreeCoTaskMem(p); }
    }

    public static string ProtoName(int version) => version switch
    {
        0 => "any",
        0x0300 => "SSLv3",
        0x0301 => "TLSv1.0",
        0x0302 => "TLSv1.1",
        TLS1_2_VERSION => "TLSv1.2",
        TLS1_3_VERSION => "TLSv1.3",
        _ => $"0x{version:x4}",
    };
}
