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
/// SslStream's private field <c>_securityContext</c> (on Linux a SafeSslHandle whose handle is the
/// SSL*). The trimmer keeps that field because GetField's name is a constant. A later .NET may
/// rename it: then this does nothing (the connection works as before, only larger) and the test
/// that checks the mode on a live connection fails, so the rename is seen at the upgrade.
/// </summary>
internal static class TlsBufferRelease
{
    // Reflection metadata, the same for every live model; no state.
    private static readonly FieldInfo? SecurityContext =
        typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>
    /// Call right after the handshake, before the connection's first read or write: SSL_ctrl must
    /// not race SslStream's own calls on the same SSL object. Returns whether the mode is now set.
    /// </summary>
    public static bool Apply(SslStream stream)
    {
        if (SecurityContext?.GetValue(stream) is not SafeHandle handle || handle.IsInvalid)
            return false;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return (LibSsl.SetMode(handle.DangerousGetHandle(), LibSsl.SSL_MODE_RELEASE_BUFFERS) & LibSsl.SSL_MODE_RELEASE_BUFFERS) != 0;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>For tests: whether the connection's SSL object has the mode; null when unreachable.</summary>
    public static bool? IsSet(SslStream stream)
    {
        if (SecurityContext?.GetValue(stream) is not SafeHandle handle || handle.IsInvalid)
            return null;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return (LibSsl.GetMode(handle.DangerousGetHandle()) & LibSsl.SSL_MODE_RELEASE_BUFFERS) != 0;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }
}
