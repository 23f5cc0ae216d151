using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace FipsAppliance.Tests.Infrastructure;

/// <summary>One sd_notify datagram as received, with the test's CLOCK_MONOTONIC time (µs) at arrival.</summary>
public sealed record Notification(long ReceivedMonotonicUsec, string Text)
{
    /// <summary>The value of `KEY=` in the datagram, or null.</summary>
    public string? this[string key] =>
        Text.Split('\n').Where(l => l.StartsWith(key + "=", StringComparison.Ordinal)).Select(l => l[(key.Length + 1)..]).FirstOrDefault();

    public bool Has(string assignment) => Text.Split('\n').Contains(assignment);
}

/// <summary>
/// What systemd is to a Type=notify service: an AF_UNIX datagram socket bound by the test (a path
/// in a temp dir, or an abstract `@name`), whose address goes to the relay as NOTIFY_SOCKET; every
/// datagram is kept in arrival order.
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket;
    private readonly List<Notification> _received = [];
    private readonly Task _loop;
    private readonly TempDir? _dir;

    public NotifySocket(bool abstractName = false)
    {
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        if (abstractName)
        {
            string name = "fips-appliance-test-" + Guid.NewGuid().ToString("N");
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
            Address = "@" + name;
        }
        else
        {
            _dir = new TempDir();
            Address = _dir.Combine("notify");
            _socket.Bind(new UnixDomainSocketEndPoint(Address));
        }
        _loop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>The value for NOTIFY_SOCKET.</summary>
    public string Address { get; }

    public IReadOnlyList<Notification> Received
    {
        get { lock (_received) return [.. _received]; }
    }

    /// <summary>CLOCK_MONOTONIC in µs, the clock of MONOTONIC_USEC (Stopwatch reads it on Linux).</summary>
    public static long MonotonicUsec() => (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try { n = await _socket.ReceiveAsync(buffer, SocketFlags.None); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            var text = Encoding.UTF8.GetString(buffer, 0, n);
            lock (_received) _received.Add(new Notification(MonotonicUsec(), text));
        }
    }

    /// <summary>Waits (bounded) for a datagram after the first <paramref name="skip"/> that satisfies <paramref name="match"/>.</summary>
    public async Task<Notification?> WaitForAsync(Func<Notification, bool> match, TimeSpan timeout, int skip = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = Received.Skip(skip).FirstOrDefault(match);
            if (found is not null || DateTime.UtcNow > deadline) return found;
            await Task.Delay(20);
        }
    }

    public Task<Notification?> WaitForAsync(string assignment, TimeSpan timeout, int skip = 0) =>
        WaitForAsync(n => n.Has(assignment), timeout, skip);

    public void Dispose()
    {
        _socket.Dispose();
        _dir?.Dispose();
    }
}
