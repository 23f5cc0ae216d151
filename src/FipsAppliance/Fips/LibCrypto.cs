using System.Runtime.InteropServices;
using System.Text;

namespace FipsAppliance.Fips;

// The few libcrypto.so.3 entry points the FIPS bootstrap needs. Bound by SONAME at first call
// (dlopen), never by DirectPInvoke: the .NET crypto shim dlopens libssl.so.3, which pulls in
// the same libcrypto.so.3, so these calls and .NET's share one library and one default library
// context (checked in /proc/self/maps: one libcrypto, one fips.so).
internal static unsafe partial class LibCrypto
{
    private const string Lib = "libcrypto.so.3";

    public const ulong OPENSSL_INIT_LOAD_CONFIG = 0x00000040;
    /// <summary>CONF_MFLAGS_DEFAULT_SECTION alone: unlike OpenSSL's default flags, a missing file or
    /// a failing module is an error (IGNORE_MISSING_FILE / IGNORE_RETURN_CODES are left out).</summary>
    public const ulong CONF_MFLAGS_DEFAULT_SECTION = 0x20;

    [LibraryImport(Lib)]
    public static partial nint OPENSSL_INIT_new();

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OPENSSL_INIT_set_config_filename(nint settings, string filename);

    [LibraryImport(Lib)]
    public static partial void OPENSSL_INIT_set_config_file_flags(nint settings, nuint flags);

    [LibraryImport(Lib)]
    public static partial void OPENSSL_INIT_free(nint settings);

    [LibraryImport(Lib)]
    public static partial int OPENSSL_init_crypto(ulong opts, nint settings);

    [LibraryImport(Lib)]
    public static partial nint OpenSSL_version(int type);

    [LibraryImport(Lib)]
    public static partial int EVP_default_properties_is_fips_enabled(nint libctx);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OSSL_PROVIDER_available(nint libctx, string name);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint EVP_MD_fetch(nint libctx, string algorithm, string? properties);

    [LibraryImport(Lib)]
    public static partial void EVP_MD_free(nint md);

    [LibraryImport(Lib)]
    public static partial nint EVP_MD_get0_provider(nint md);

    [LibraryImport(Lib)]
    public static partial nint OSSL_PROVIDER_get0_name(nint provider);

    [LibraryImport(Lib)]
    public static partial int OSSL_PROVIDER_get_params(nint provider, OsslParam* parameters);

    [LibraryImport(Lib)]
    private static partial nuint ERR_get_error_all(byte** file, int* line, byte** func, byte** data, int* flags);

    [LibraryImport(Lib)]
    private static partial void ERR_error_string_n(nuint e, byte* buf, nuint len);

    [LibraryImport(Lib)]
    public static partial void ERR_clear_error();

    [LibraryImport(Lib)]
    public static partial nint OBJ_nid2sn(int nid);

    [LibraryImport(Lib)]
    public static partial int OPENSSL_sk_num(nint stack);

    [LibraryImport(Lib)]
    public static partial nint OPENSSL_sk_value(nint stack, int index);

    [LibraryImport(Lib)]
    public static partial int i2d_X509(nint x509, byte** output);

    [LibraryImport(Lib)]
    public static partial nint X509_verify_cert_error_string(nint code);

    [LibraryImport(Lib)]
    public static partial void OSSL_SELF_TEST_set_callback(nint libctx, delegate* unmanaged<OsslParam*, nint, int> callback, nint arg);

    public static string? Str(nint p) => p == 0 ? null : Marshal.PtrToStringUTF8(p);

    /// <summary>OpenSSL_version(OPENSSL_VERSION): "OpenSSL 3.0.19 27 Jan 2026".</summary>
    public static string Version() => Str(OpenSSL_version(0)) ?? "unknown";

    /// <summary>
    /// Drains this thread's OpenSSL error queue, oldest first, each as OpenSSL prints it
    /// ("error:1C8000D4:Provider routines::invalid state") plus its data ("name=fips").
    /// </summary>
    public static List<string> DrainErrors()
    {
        var errors = new List<string>();
        byte* buf = stackalloc byte[256];
        for (int i = 0; i < 64; i++)
        {
            byte* file, func, data;
            int line, flags;
            nuint e = ERR_get_error_all(&file, &line, &func, &data, &flags);
            if (e == 0) break;
            ERR_error_string_n(e, buf, 256);
            string text = Marshal.PtrToStringUTF8((nint)buf) ?? "";
            // ERR_TXT_STRING (2): data is text worth showing (paths, provider names).
            if ((flags & 2) != 0 && data != null && *data != 0)
                text += " (" + Marshal.PtrToStringUTF8((nint)data) + ")";
            errors.Add(text);
        }
        return errors;
    }

    /// <summary>
    /// The provider's name, version, buildinfo and status as OSSL_PROVIDER_get_params gives them.
    /// </summary>
    public static (string? name, string? version, string? buildInfo, int? status) ProviderParams(nint provider)
    {
        byte* name = null, version = null, build = null;
        int status = -1;
        var keys = new[] { "name", "version", "buildinfo", "status" };
        var pinned = new GCHandle[keys.Length];
        var encoded = new byte[keys.Length][];
        for (int i = 0; i < keys.Length; i++)
        {
            encoded[i] = Encoding.ASCII.GetBytes(keys[i] + "\0");
            pinned[i] = GCHandle.Alloc(encoded[i], GCHandleType.Pinned);
        }
        try
        {
            OsslParam* p = stackalloc OsslParam[5];
            p[0] = OsslParam.Utf8Ptr(pinned[0].AddrOfPinnedObject(), &name);
            p[1] = OsslParam.Utf8Ptr(pinned[1].AddrOfPinnedObject(), &version);
            p[2] = OsslParam.Utf8Ptr(pinned[2].AddrOfPinnedObject(), &build);
            p[3] = OsslParam.Int(pinned[3].AddrOfPinnedObject(), &status);
            p[4] = default;
            if (OSSL_PROVIDER_get_params(provider, p) != 1) return (null, null, null, null);
            return (Str((nint)name), Str((nint)version), Str((nint)build), p[3].ReturnSize == OsslParam.Unmodified ? null : status);
        }
        finally
        {
            foreach (var h in pinned) h.Free();
        }
    }

    /// <summary>struct ossl_param_st (40 bytes on LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct OsslParam
    {
        public nint Key;
        public uint DataType;
        public nint Data;
        public nuint DataSize;
        public nuint ReturnSize;

        private const uint OSSL_PARAM_INTEGER = 1, OSSL_PARAM_UTF8_PTR = 6;
        // OSSL_PARAM_UNMODIFIED: OpenSSL sets return_size only for parameters it filled in.
        public static readonly nuint Unmodified = nuint.MaxValue;

        public static OsslParam Utf8Ptr(nint key, byte** slot) =>
            new() { Key = key, DataType = OSSL_PARAM_UTF8_PTR, Data = (nint)slot, DataSize = 0, ReturnSize = Unmodified };

        public static OsslParam Int(nint key, int* slot) =>
            new() { Key = key, DataType = OSSL_PARAM_INTEGER, Data = (nint)slot, DataSize = sizeof(int), ReturnSize = Unmodified };
    }

    /// <summary>The DER bytes of an X509*, for handing to .NET's X509Certificate2.</summary>
    public static byte[] X509Der(nint x509)
    {
        int len = i2d_X509(x509, null);
        if (len <= 0) return [];
        var der = new byte[len];
        fixed (byte* d = der)
        {
            byte* cursor = d;
            i2d_X509(x509, &cursor);
        }
        return der;
    }
}
