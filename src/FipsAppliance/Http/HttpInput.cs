using System.Threading.Tasks.Sources;

namespace FipsAppliance.Http;

/// <summary>
/// Bytes from one side of the relay (the client, or a server connection): what was read and not
/// yet consumed, in a buffer taken from the model's pool only while data flows, and a way to read
/// more. The bytes belong to the connection they came from, so when a connection is dropped its
/// leftover bytes go with it and can never be parsed as the next message.
///
/// A fill that has to wait completes through this object, reused for every read of the
/// connection (Kestrel's SocketReceiver pattern), rather than through an async method's box: with
/// inline socket completions a wait for the server's response begins on the client socket's event
/// thread and ends on the server socket's, where PoolingAsyncValueTaskMethodBuilder's per-thread
/// cache misses, so each wait allocated its boxes anew (issue 9; see <see cref="HttpSession"/>).
/// </summary>
internal abstract class HttpInput : IValueTaskSource<int>
{
    private RelayBufferPool? _pool;

    /// <summary>Bytes read and not consumed: [0, <see cref="Length"/>). Null while nothing flows.</summary>
    public byte[]? Buffer { get; private set; }
    public int Length { get; private set; }
    public bool HasBuffer => Buffer is not null;
    public int Capacity => Buffer?.Length ?? 0;
    public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);
    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    /// <summary>Bytes read from this side since the last <see cref="TakeBytesRead"/>.</summary>
    private long _bytesRead;

    /// <summary>Takes a buffer from <paramref name="pool"/> if none is held.</summary>
    public void EnsureBuffer(RelayBufferPool pool)
    {
        if (Buffer is not null) return;
        _pool = pool;
        Buffer = pool.Rent();
    }

    /// <summary>Gives the buffer back when it holds nothing. Only the owner calls this, with no read pending.</summary>
    public void ReleaseBufferIfEmpty()
    {
        if (Length == 0) ReleaseBuffer();
    }

    /// <summary>Gives the buffer back, dropping what it holds. Only the owner calls this, with no read pending.</summary>
    public void ReleaseBuffer()
    {
        if (Buffer is { } b)
        {
            Buffer = null;
            Length = 0;
            _pool!.Return(b);
        }
    }

    /// <summary>The fill waiting for its read, if any (one at a time).</summary>
    private ManualResetValueTaskSourceCore<int> _fill;
    private ValueTask<int> _pendingRead;
    private readonly Action _readDone;

    protected HttpInput() => _readDone = ReadDone;

    /// <summary>Reads more after what is buffered; 0 at end of stream. Throws on a broken connection.</summary>
    public ValueTask<int> FillAsync()
    {
        var buffer = Buffer ?? throw new InvalidOperationException("no buffer");
        if (Length == buffer.Length) throw new InvalidOperationException("buffer full");
        var read = ReadAsync(buffer.AsMemory(Length));
        if (read.IsCompleted) return new ValueTask<int>(Filled(read.GetAwaiter().GetResult()));
        _pendingRead = read;
        _fill.Reset();
        read.GetAwaiter().UnsafeOnCompleted(_readDone);
        return new ValueTask<int>(this, _fill.Version);
    }

    private void ReadDone()
    {
        var read = _pendingRead;
        _pendingRead = default;
        int n;
        try { n = Filled(read.GetAwaiter().GetResult()); }
        catch (Exception e)
        {
            _fill.SetException(e);
            return;
        }
        _fill.SetResult(n);
    }

    private int Filled(int n)
    {
        Length += n;
        _bytesRead += n;
        return n;
    }

    int IValueTaskSource<int>.GetResult(short token) => _fill.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _fill.GetStatus(token);
    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _fill.OnCompleted(continuation, state, token, flags);

    /// <summary>Drops the first <paramref name="count"/> bytes, keeping what follows (a pipelined request).</summary>
    public void Consume(int count)
    {
        int rest = Length - count;
        if (rest > 0) System.Buffer.BlockCopy(Buffer!, count, Buffer!, 0, rest);
        Length = rest;
    }

    /// <summary>For tests that fill the buffer themselves.</summary>
    internal void SetLength(int length) => Length = length;

    public long TakeBytesRead()
    {
        long n = _bytesRead;
        _bytesRead = 0;
        return n;
    }

    protected abstract ValueTask<int> ReadAsync(Memory<byte> destination);
}

/// <summary>Where relayed bytes go: the client, or a server connection.</summary>
internal interface IHttpOutput
{
    /// <summary>Writes all of <paramref name="data"/>; throws on a broken connection.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data);
}
