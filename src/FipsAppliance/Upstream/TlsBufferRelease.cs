using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using FipsAppliance.Fips;

namespace FipsAppliance.Upstream;

/// <summary>
/// Lets OpenSSL give back an upstream connection's record buffers while no record is in flight
/// (<c>SSL_MODE_RELEASE_BUFFERS</c>), as HAProxy and nginx do for every connection. Without it each
/// SSL object keeps a read and a write buffer of about 17 KiB each for its whole life: 4 MB for
/// the bench's 128 pooled and leased intake connections, most of them idle. With it an idle
/// connection holds neither, and a busy one takes them per record from malloc's free lists.
///
/// .NET never sets the mode and exposes no handle to set it on, so the SSL* is read from
/// SslStream's private field <c>_securityContext</c>, and used only when that field holds exactly
/// .NET's SafeSslHandle (whose handle is the SSL*): a pointer of any other kind must never reach
/// SSL_ctrl. The trimmer keeps the field and the type because their names are constants. A later
/// .NET may rename either: then this does nothing (the connection works as before, only larger),
/// the warm-up logs a warning at start, and the tests that read the mode back fail at the upgrade.
/// </summary>
internal static class TlsBufferRelease
{
    // Reflection metadata, the same for every live model; no state.
    private static readonly FieldInfo? SecurityContext =
        typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly Type? SslHandleType =
        Type.GetType("Microsoft.Win32.SafeHandles.SafeSslHandle, System.Net.Security", throwOnError: false);

    /// <summary>
    /// Call right after the handshake, before the connection's first read or write: SSL_ctrl must
    /// not race SslStream's own calls on the same SSL object. Returns whether the mode is now set.
    /// </summary>
    public static bool Apply(SslStream stream) => Mode(stream, LibSsl.SSL_MODE_RELEASE_BUFFERS) is { } mode && (mode & LibSsl.SSL_MODE_RELEASE_BUFFERS) != 0;

    /// <summary>For tests: whether the connection's SSL object has the mode; null when it cannot be reached.</summary>
    public static bool? IsSet(SslStream stream) => Mode(stream, 0) is { } mode ? (mode & LibSsl.SSL_MODE_RELEASE_BUFFERS) != 0 : null;

    /// <summary>SSL_set_mode with <paramref name="add"/> (0 only reads), or null when the SSL object is out of reach.</summary>
    private static long? Mode(SslStream stream, long add)
    {
        if (SslHandleType is null || SecurityContext?.GetValue(stream) is not SafeHandle handle
            || handle.GetType() != SslHandleType || handle.IsInvalid)
            return null;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return LibSsl.SetMode(handle.DangerousGetHandle(), add);
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }
}
