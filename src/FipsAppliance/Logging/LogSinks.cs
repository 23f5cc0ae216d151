using System.Net;
using System.Net.Sockets;

namespace FipsAppliance.Logging;

/// <summary>
/// Where framed log lines go. A sink never blocks its caller: a line it cannot take now is
/// dropped and counted (HAProxy counts `dropped_logs` the same way), so a syslog that stops
/// reading costs lines, never memory or relay time.
/// </summary>
internal abstract class LogSink : IDisposable
{
    private long _dropped;
    private volatile string? _lastError;

    protected LogSink(string name) => Name = name;

    /// <summary>The target as the cfg names it (`127.0.0.1:514`, `/dev/log`, `stdout`).</summary>
    public string Name { get; }
    public long Dropped => Volatile.Read(ref _dropped);
    /// <summary>Why the last line was dropped, in the system's words; null when none was.</summary>
    public string? LastError => _lastError;

    public abstract void Send(ReadOnlySpan<byte> frame);

    protected void Drop(string reason)
    {
        Interlocked.Increment(ref _dropped);
        _lastError = reason;
    }

    public abstract void Dispose();
}

/// <summary>
/// A UDP syslog address or a unix datagram socket (`/dev/log`): one datagram per line, sent
/// without waiting (a non-blocking socket; EAGAIN means the receiver is behind: the line is dropped).
/// </summary>
internal sealed class DatagramSink : LogSink
{
    private const int ReconnectMilliseconds = 1000;
    private readonly EndPoint _target;
    private readonly Lock _gate = new();
    private Socket? _socket;
    private long _nextConnect;

    public DatagramSink(string name, EndPoint target) : base(name) => _target = target;

    public override void Send(ReadOnlySpan<byte> frame)
    {
        // One writer thread sends for a model; the lock only guards against a reconnect racing Dispose.
        lock (_gate)
        {
            var socket = _socket ?? Connect();
            if (socket is null) return;
            socket.Send(frame, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success) return;
            Drop(Reason(error));
            // The receiver went away (unix socket closed, recreated by a restarted syslog): connect anew later.
            if (error is not (SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable or SocketError.MessageSize))
            {
                socket.Dispose();
                _socket = null;
                _nextConnect = Environment.TickCount64 + ReconnectMilliseconds;
            }
        }
    }

    private Socket? Connect()
    {
        if (Environment.TickCount64 < _nextConnect)
        {
            Drop(LastError ?? "not connected");
            return null;
        }
        Socket? socket = null;
        try
        {
            // Inside the try: socket() itself fails when the process is out of descriptors (EMFILE).
            socket = _target is UnixDomainSocketEndPoint
                ? new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified)
                : new Socket(_target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Blocking = false;
            // A connected datagram socket lets Send report errors without an exception per line.
            socket.Connect(_target);
            _socket = socket;
            return socket;
        }
        catch (SocketException e)
        {
            socket?.Dispose();
            _nextConnect = Environment.TickCount64 + ReconnectMilliseconds;
            Drop(Reason(e.SocketErrorCode));
            return null;
        }
    }

    private static string Reason(SocketError e) => e switch
    {
        SocketError.WouldBlock => "the receiver does not keep up (socket buffer full)",
        SocketError.NoBufferSpaceAvailable => "no buffer space",
        SocketError.ConnectionRefused => "connection refused (nothing listens there)",
        SocketError.AddressNotAvailable => "no such socket",
        SocketError.AccessDenied => "permission denied",
        _ => e.ToString(),
    };

    public override void Dispose()
    {
        lock (_gate)
        {
            _socket?.Dispose();
            _socket = null;
            _nextConnect = long.MaxValue;
        }
    }
}

/// <summary>
/// `stdout` / `stderr`: a fixed ring of bytes drained by a thread of its own, so a pipe nobody
/// reads (a stuck journald) blocks that thread only; once the ring is full, lines are dropped.
/// One per stream per process (two writers on one fd would interleave half lines).
/// </summary>
internal sealed class StreamSink : LogSink
{
    /// <summary>About 1000 access lines; more than a second of a busy appliance.</summary>
    public const int Capacity = 256 * 1024;

    private readonly Stream _stream;
    private readonly byte[] _ring = new byte[Capacity];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _ready = new(0);
    private readonly Thread _thread;
    private int _head, _length;   // bytes [head, head+length) modulo Capacity wait to be written
    private volatile bool _stopping;

    public StreamSink(string name, Stream stream) : base(name)
    {
        _stream = stream;
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = "log " + name };
        _thread.Start();
    }

    public override void Send(ReadOnlySpan<byte> frame)
    {
        lock (_gate)
        {
            if (frame.Length > Capacity - _length)
            {
                Drop("the reader does not keep up (buffer full)");
                return;
            }
            int tail = (_head + _length) % Capacity;
            int first = Math.Min(frame.Length, Capacity - tail);
            frame[..first].CopyTo(_ring.AsSpan(tail));
            frame[first..].CopyTo(_ring);
            _length += frame.Length;
        }
        if (_ready.CurrentCount == 0) _ready.Release();
    }

    private void WriteLoop()
    {
        while (true)
        {
            _ready.Wait();
            while (true)
            {
                int start, count;
                lock (_gate)
                {
                    if (_length == 0) break;
                    start = _head;
                    count = Math.Min(_length, Capacity - _head);
                }
                try
                {
                    _stream.Write(_ring, start, count);
                    _stream.Flush();
                }
                catch (IOException e) { Drop(e.Message); }
                catch (ObjectDisposedException) { return; }
                lock (_gate)
                {
                    _head = (_head + count) % Capacity;
                    _length -= count;
                }
            }
            if (_stopping) return;
        }
    }

    /// <summary>Waits (bounded) until what was sent is written.</summary>
    public void Flush(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            lock (_gate) if (_length == 0) return;
            Thread.Sleep(10);
        }
    }

    public override void Dispose()
    {
        _stopping = true;
        _ready.Release();
    }
}

/// <summary>Resolves a `log` target of the cfg to its sink.</summary>
internal static class LogTargets
{
    public const int DefaultSyslogPort = 514;

    /// <summary>The endpoint of a network or unix target; null for stdout/stderr or an address that does not resolve.</summary>
    public static EndPoint? EndPointOf(string target, out string? error)
    {
        error = null;
        if (target.StartsWith('/')) return new UnixDomainSocketEndPoint(target);
        string t = target;
        if (t.StartsWith("udp@", StringComparison.Ordinal) || t.StartsWith("ipv4@", StringComparison.Ordinal)) t = t[(t.IndexOf('@') + 1)..];
        if (IPAddress.TryParse(t.Trim('[', ']'), out var bare)) return new IPEndPoint(bare, DefaultSyslogPort);
        int colon = t.LastIndexOf(':');
        string host = t;
        int port = DefaultSyslogPort;
        if (colon > 0 && int.TryParse(t.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out int p))
        {
            host = t[..colon].Trim('[', ']');
            port = p;
        }
        if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
        try
        {
            // A host name is resolved when the configuration is loaded, as HAProxy does.
            var addresses = Dns.GetHostAddresses(host);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
            if (chosen is not null) return new IPEndPoint(chosen, port);
            error = $"log target '{target}': '{host}' has no address";
        }
        catch (SocketException e)
        {
            error = $"log target '{target}': cannot resolve '{host}': {e.Message}";
        }
        return null;
    }
}
