using System.Net.Sockets;
using System.Text;

namespace FipsAppliance.Lifecycle;

/// <summary>
/// sd_notify, written directly: one datagram per state change to the AF_UNIX socket named by
/// `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace). libsystemd is not linked:
/// the protocol is this one datagram, and Debian 12's systemd 252 understands every word we send
/// (READY, RELOADING + MONOTONIC_USEC, STOPPING, STATUS, WATCHDOG, MAINPID).
/// </summary>
internal sealed class SystemdNotifier : IDisposable
{
    public const string SocketVariable = "NOTIFY_SOCKET";

    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;
    private readonly Lock _gate = new();

    private SystemdNotifier(Socket socket, UnixDomainSocketEndPoint endPoint)
    {
        _socket = socket;
        _endPoint = endPoint;
    }

    /// <summary>Where the datagrams go, as systemd wrote it.</summary>
    public string Address { get; private init; } = "";

    /// <summary>Datagrams that could not be sent (systemd gone or not reading).</summary>
    public int Failures { get; private set; }

    /// <summary>The notifier for `$NOTIFY_SOCKET`, or null when the daemon does not run under systemd's Type=notify.</summary>
    public static SystemdNotifier? FromEnvironment() =>
        Environment.GetEnvironmentVariable(SocketVariable) is { Length: > 0 } address ? Create(address) : null;

    public static SystemdNotifier? Create(string address)
    {
        // Only absolute paths and abstract names are valid (sd_notify ignores anything else, e.g.
        // a vsock address this daemon has no use for).
        if (address[0] is not ('/' or '@')) return null;
        var endPoint = new UnixDomainSocketEndPoint(address[0] == '@' ? "\0" + address[1..] : address);
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        // Never wait for systemd: a notification that cannot go now is not worth stalling for.
        socket.Blocking = false;
        return new SystemdNotifier(socket, endPoint) { Address = address };
    }

    /// <summary>Sends one notification ("READY=1", "STATUS=...", several lines joined by '\n'). False when it could not go.</summary>
    public bool Send(string state)
    {
        var bytes = Encoding.UTF8.GetBytes(state);
        lock (_gate)
        {
            try
            {
                _socket.SendTo(bytes, SocketFlags.None, _endPoint);
                return true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                Failures++;
                return false;
            }
        }
    }

    public bool Ready(string status) => Send($"READY=1\nSTATUS={status}\nMAINPID={Environment.ProcessId}");

    /// <summary>
    /// RELOADING=1 with the CLOCK_MONOTONIC time in µs, as systemd 253's Type=notify-reload asks;
    /// harmless on 252, where the unit is Type=notify with ExecReload=kill -HUP.
    /// </summary>
    public bool Reloading(string status) => Send($"RELOADING=1\nMONOTONIC_USEC={Posix.MonotonicMicroseconds()}\nSTATUS={status}");

    public bool Stopping(string status) => Send($"STOPPING=1\nSTATUS={status}");

    public bool Status(string status) => Send("STATUS=" + status);

    public bool Watchdog() => Send("WATCHDOG=1");

    public void Dispose() => _socket.Dispose();
}
