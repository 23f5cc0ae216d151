using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using FipsAppliance.Backends;
using FipsAppliance.Http;

namespace FipsAppliance.Upstream;

/// <summary>
/// One connection to a server (TLS, or plain for a server line without `ssl`): leased to one
/// request at a time, or idle (kept by its session between requests, or in its server's pool).
///
/// An idle connection keeps a read armed, as HAProxy does: a server that speaks unasked (the rest
/// of a HEAD or 204 body, a second response) or closes while the connection is idle is seen at
/// once, and the connection is closed instead of being used for a later request. Polling the socket
/// cannot do this: bytes SslStream has already decrypted and buffered are invisible to poll(). The
/// armed read is a 1-byte read (<see cref="IdleProbe"/>); when a request takes the connection
/// while that read is still pending, the first byte of its response arrives through it, so the
/// response is read by consuming the pending read instead of issuing a second, concurrent one.
/// An armed read keeps an idle connection cheap: 500 idle TLS connections with it pending grew
/// the managed heap by about 360 bytes each (SslStream waits on the socket without a buffer).
/// </summary>
internal sealed class UpstreamConnection : HttpInput, IHttpOutput, IDisposable
{
    /// <summary>Closing: an idle connection told to close, its socket shut down, waiting for the armed read to end.</summary>
    private const int Leased = 0, Idle = 1, Dead = 2, Closing = 3;

    private readonly IdleProbe _probe;
    private bool _probeArmed;
    private int _state = Leased;
    private int _disposed;

    public UpstreamConnection(Server server, Socket socket, SslStream? tls)
    {
        Server = server;
        Socket = socket;
        Tls = tls;
        Stream = tls ?? (Stream)new NetworkStream(socket, ownsSocket: false);
        _probe = new IdleProbe(this);
        server.Backend.PoolFds.ServerConnectionOpened();
    }

    public Server Server { get; }
    public Socket Socket { get; }
    /// <summary>Null only for a server without `ssl`.</summary>
    public SslStream? Tls { get; }
    /// <summary>The stream the relay reads and writes: TLS, or the plain socket.</summary>
    public Stream Stream { get; }
    /// <summary>Requests already carried: 0 for a fresh connection.</summary>
    public int Requests { get; set; }
    /// <summary>When it went idle, on the model timer's clock (the pool closes the oldest first).</summary>
    public long IdleSinceMs { get; set; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0 || Volatile.Read(ref _state) == Closing;

    /// <summary>Idle, with nothing heard from the server since its last response.</summary>
    public bool IsIdle => Volatile.Read(ref _state) == Idle;

    /// <summary>
    /// The response is complete and nothing followed it (the caller checked its buffer is empty):
    /// the connection may carry another request, and until then listens for anything unasked.
    /// </summary>
    public void GoIdle()
    {
        Volatile.Write(ref _state, Idle);
        if (!_probeArmed)
        {
            _probeArmed = true;
            _probe.Arm();
        }
    }

    /// <summary>Takes the idle connection for a request; false when it spoke or closed while idle (then it is closed).</summary>
    public bool TryLease() => Interlocked.CompareExchange(ref _state, Leased, Idle) == Idle;

    /// <summary>
    /// The armed read came back (bytes, EOF or an error): if nothing was asked meanwhile, the
    /// connection cannot be trusted; if a close was waiting for it (<see cref="Dispose"/>), now.
    /// </summary>
    private void HeardWhileArmed()
    {
        if (Interlocked.CompareExchange(ref _state, Dead, Idle) is Idle or Closing) Close();
    }

    protected override ValueTask<int> ReadAsync(Memory<byte> destination)
    {
        if (!_probeArmed) return Stream.ReadAsync(destination);
        _probeArmed = false;
        return _probe.Consume(destination);
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        _bytesWritten += data.Length;
        return Stream.WriteAsync(data);
    }

    private long _bytesWritten;

    /// <summary>Bytes written to the server since the last call.</summary>
    public long TakeBytesWritten()
    {
        long n = _bytesWritten;
        _bytesWritten = 0;
        return n;
    }

    /// <summary>
    /// Closes the connection. Safe from any thread; the buffer stays with its owner, which returns it.
    ///
    /// An idle connection (the pool purging it, a model retiring) has its armed read pending. Closing
    /// the socket under that read aborts it: a SocketException, then SslStream's IOException, each
    /// thrown and unwound, and the aborted completion dispatched to a thread-pool worker rather than
    /// run on the event thread. Issue 9's churn run (`Connection: close`, so every request opens a
    /// server connection that later idles out) spent ~4 % of the relay's CPU unwinding those and
    /// ~10 % in workers woken for them (7.1 context switches per request against HAProxy's 2.5). So an idle
    /// connection is shut down instead: the kernel ends the pending read with EOF, on the event
    /// thread, and the read's completion closes the socket (<see cref="HeardWhileArmed"/>).
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Idle) == Idle && ShutDown()) return;
        Close();
    }

    private bool ShutDown()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Both);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private void Close()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Volatile.Write(ref _state, Dead);
        try { Stream.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
        Socket.Dispose();
        Server.Backend.PoolFds.ServerConnectionClosed();
    }

    /// <summary>
    /// The armed read, one object for every idle spell of the connection, which the response's
    /// read consumes without an async method of its own: that read begins on the client socket's
    /// event thread (where the request went out) and ends on the server socket's, so its pooled
    /// async box missed the per-thread cache and was allocated anew per request (issue 9; the
    /// most frequent box in SteadyStateAllocationTests' allocation samples before this).
    /// Its outcome is the watcher's first (<see cref="HeardWhileArmed"/>), then the response
    /// read's that consumes it (<see cref="Consume"/>): its 1 byte, or -1 for a broken connection.
    /// </summary>
    private sealed class IdleProbe : IValueTaskSource<int>
    {
        private readonly UpstreamConnection _connection;
        private readonly byte[] _byte = new byte[1];
        private readonly Action _readDone;
        private ManualResetValueTaskSourceCore<int> _outcome;
        private ValueTask<int> _read;
        private Memory<byte> _destination;

        public IdleProbe(UpstreamConnection connection)
        {
            _connection = connection;
            _readDone = ReadDone;
        }

        public void Arm()
        {
            _outcome.Reset();
            try { _read = _connection.Stream.ReadAsync(_byte); }
            catch (Exception e) { _read = ValueTask.FromException<int>(e); }
            if (_read.IsCompleted) ReadDone();
            else _read.GetAwaiter().UnsafeOnCompleted(_readDone);
        }

        /// <summary>The response's first read: its byte lands in <paramref name="destination"/>.</summary>
        public ValueTask<int> Consume(Memory<byte> destination)
        {
            _destination = destination;
            return new ValueTask<int>(this, _outcome.Version);
        }

        private void ReadDone()
        {
            var read = _read;
            _read = default;
            int n;
            try { n = read.GetAwaiter().GetResult(); }
            catch (Exception)
            {
                // Whatever broke it (reset, TLS alert, our own Dispose), the connection is done.
                n = -1;
            }
            _connection.HeardWhileArmed();
            _outcome.SetResult(n);
        }

        public int GetResult(short token)
        {
            int n = _outcome.GetResult(token);
            var destination = _destination;
            _destination = default;
            if (n < 0) throw new IOException("the connection to the server broke");
            if (n > 0) destination.Span[0] = _byte[0];
            return n;
        }

        public ValueTaskSourceStatus GetStatus(short token) => _outcome.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _outcome.OnCompleted(continuation, state, token, flags);
    }
}
