using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

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

    /// <summary>Takes a framed line; it is on its way after <see cref="EndBatch"/> at the latest.</summary>
    public abstract void Send(ReadOnlySpan<byte> frame);

    /// <summary>The writer's batch is over: send what <see cref="Send"/> kept.</summary>
    public virtual void EndBatch() { }

    protected void Drop(string reason)
    {
        Interlocked.Increment(ref _dropped);
        _lastError = reason;
    }

    public abstract void Dispose();
}

/// <summary>
/// Says what log sinks dropped since it was last said: at once the first time, then at most once a
/// minute per sink. One for each model's own targets (AccessLogProcessor), one for the process's
/// stdout and stderr (ProcessContext), which every live model writes through. Not thread-safe:
/// each owner calls it from one thread or under its lock.
/// </summary>
internal sealed partial class SinkDropReports(ILogger log)
{
    public const long EveryMilliseconds = 60_000;
    private readonly Dictionary<LogSink, (long Reported, long At)> _last = [];

    public void Report(LogSink sink, long now, bool force)
    {
        long dropped = sink.Dropped;
        _last.TryGetValue(sink, out var last);
        if (dropped <= last.Reported) return;
        if (!force && last.At != 0 && now - last.At < EveryMilliseconds) return;
        LogSinkDropped(log, sink.Name, dropped - last.Reported, sink.LastError ?? "");
        _last[sink] = (dropped, now);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "log target {Target}: {Count} access line(s) dropped: {Reason}.")]
    private static partial void LogSinkDropped(ILogger log, string target, long count, string reason);
}

/// <summary>
/// A UDP syslog address or a unix datagram socket (`/dev/log`): one datagram per line, sent
/// without waiting (a non-blocking socket; EAGAIN means the receiver is behind: the line is dropped).
/// Lines wait for the end of the writer's batch and go out with one sendmmsg(2) per
/// <see cref="MaxMessages"/>: with a line per request, one sendto per line was a third of the
/// relay's sends (perf stat, 1 KiB POSTs: sendto per request 3.0 -> 2.0, sendmmsg 0.02).
/// </summary>
internal sealed unsafe partial class DatagramSink : LogSink
{
    /// <summary>Lines per sendmmsg call (the writer's 10 ms batch is ~250 lines at 25k req/s).</summary>
    public const int MaxMessages = 64;
    /// <summary>Bytes of waiting frames: 64 lines of the default `len` 1024, or one of the largest.</summary>
    private const int Capacity = 128 * 1024;
    private const int ReconnectMilliseconds = 1000;
    private const int MsgDontWait = 0x40;
    private const int EINTR = 4;

    private readonly EndPoint _target;
    private readonly Lock _gate = new();
    // The waiting frames and the kernel's view of them, allocated once and pinned: the message
    // headers point into _frames through _vectors.
    private readonly byte[] _frames = GC.AllocateArray<byte>(Capacity, pinned: true);
    private readonly IoVec[] _vectors = GC.AllocateArray<IoVec>(MaxMessages, pinned: true);
    private readonly MMsgHdr[] _headers = GC.AllocateArray<MMsgHdr>(MaxMessages, pinned: true);
    private int _count, _used;
    private Socket? _socket;
    private long _nextConnect;

    public DatagramSink(string name, EndPoint target) : base(name)
    {
        _target = target;
        for (int i = 0; i < MaxMessages; i++)
        {
            _headers[i].Header.Vectors = (IoVec*)Unsafe.AsPointer(ref _vectors[i]);
            _headers[i].Header.VectorCount = 1;
        }
    }

    /// <summary>Keeps <paramref name="frame"/> for <see cref="EndBatch"/> (sooner when the batch is full).</summary>
    public override void Send(ReadOnlySpan<byte> frame)
    {
        // One writer thread sends for a model; the lock only guards against a reconnect racing Dispose.
        lock (_gate)
        {
            if (_count == MaxMessages || frame.Length > Capacity - _used) SendWaiting();
            frame.CopyTo(_frames.AsSpan(_used));
            _vectors[_count] = new IoVec((byte*)Unsafe.AsPointer(ref _frames[_used]), frame.Length);
            _used += frame.Length;
            _count++;
        }
    }

    public override void EndBatch()
    {
        lock (_gate) SendWaiting();
    }

    /// <summary>
    /// Sends the waiting lines, each as its own datagram, in order; a line that cannot go now is
    /// dropped and counted, as it was when each line had its own send.
    /// </summary>
    private void SendWaiting()
    {
        int next = 0;
        while (next < _count)
        {
            var socket = _socket ?? Connect();
            if (socket is null)
            {
                next++;   // Connect counted it
                continue;
            }
            int sent = SendMmsg(socket.SafeHandle, (MMsgHdr*)Unsafe.AsPointer(ref _headers[next]), (uint)(_count - next), MsgDontWait);
            if (sent > 0)
            {
                next += sent;
                // Stopped early: the next line failed and sendmmsg(2) returns what went out, not why
                // ("the error code is lost"). A lasting cause (a full buffer, a unix peer gone) fails
                // again on its own send and is handled there. A UDP target's ICMP port unreachable is
                // reported once and was spent on the line that failed, which therefore goes out on
                // its own send; the refusal is seen on the line after it.
                if (next < _count) SendOne(socket, next++);
                continue;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            Failed(socket, ErrorOf(errno), errno);
            next++;
        }
        _count = 0;
        _used = 0;
    }

    private void SendOne(Socket socket, int index)
    {
        var frame = new ReadOnlySpan<byte>(_vectors[index].Base, (int)_vectors[index].Length);
        socket.Send(frame, SocketFlags.None, out SocketError error);
        if (error != SocketError.Success) Failed(socket, error);
    }

    /// <summary>A line could not be sent: dropped; the socket is let go unless the receiver is only behind.</summary>
    private void Failed(Socket socket, SocketError error, int errno = 0)
    {
        Drop(error == SocketError.SocketError && errno != 0 ? Marshal.GetPInvokeErrorMessage(errno) : Reason(error));
        // The receiver went away (unix socket closed, recreated by a restarted syslog): connect anew later.
        if (error is SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable or SocketError.MessageSize) return;
        socket.Dispose();
        _socket = null;
        _nextConnect = Environment.TickCount64 + ReconnectMilliseconds;
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
            // A connected datagram socket: sendmmsg needs no addresses and reports errors without an exception.
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

    /// <summary>The errors a send is expected to meet, as Socket.Send names them (Linux errno values).</summary>
    private static SocketError ErrorOf(int errno) => errno switch
    {
        11 => SocketError.WouldBlock,               // EAGAIN
        105 => SocketError.NoBufferSpaceAvailable,  // ENOBUFS
        90 => SocketError.MessageSize,              // EMSGSIZE
        111 => SocketError.ConnectionRefused,       // ECONNREFUSED
        99 => SocketError.AddressNotAvailable,      // EADDRNOTAVAIL
        1 or 13 => SocketError.AccessDenied,        // EPERM, EACCES
        _ => SocketError.SocketError,
    };

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

    // Linux's struct iovec, msghdr and mmsghdr (LP64: x64 and arm64).
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct IoVec(byte* @base, int length)
    {
        public readonly byte* Base = @base;
        public readonly nuint Length = (nuint)length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;   // bytes sent, set by the kernel
    }

    // The socket's SafeHandle (kept alive for the call) is passed as the int fd: on LP64 the callee reads the low 32 bits.
    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMmsg(SafeHandle socket, MMsgHdr* messages, uint count, int flags);
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
