using System.Runtime.CompilerServices;
using FipsAppliance.Http.Parsing;

namespace FipsAppliance.Http;

/// <summary>How a relay ended (YARP's StreamCopyResult: which side failed, not an exception through the hot path).</summary>
internal enum RelayResult : byte
{
    /// <summary>The whole message went through.</summary>
    Done,
    /// <summary>The input ended before the framing said the body was complete.</summary>
    InputEnded,
    /// <summary>Reading the input failed (reset, aborted by a timeout).</summary>
    InputFailed,
    /// <summary>Writing the output failed.</summary>
    OutputFailed,
    /// <summary>The chunked framing was invalid; nothing past the last valid chunk went out.</summary>
    BadChunk,
    /// <summary>The head could not be rewritten within bufsize; nothing went out.</summary>
    HeadTooLarge,
}

/// <summary>What a session waits on; the relay says it before each read and write so the right timeout is armed.</summary>
internal enum Wait : byte
{
    None,
    /// <summary>Between requests, for the first byte of the next one.</summary>
    Idle,
    /// <summary>For the rest of a request head.</summary>
    RequestHead,
    /// <summary>Connecting and handshaking with a server: `timeout connect`, enforced by the connector.</summary>
    Connect,
    ClientRead,
    ClientWrite,
    ServerRead,
    ServerWrite,
}

/// <summary>Arms the timeout for a wait (implemented by the session, which knows its phase).</summary>
internal interface IWaits
{
    /// <summary>Arms the timeout for <paramref name="wait"/>; false when a timeout already ended the request.</summary>
    bool Waiting(Wait wait);
}

/// <summary>
/// The head that goes out first, in the same write as the body bytes already read: either in place
/// at the front of the input buffer (forwarded as received), or rewritten into a scratch buffer.
/// </summary>
internal readonly struct HeadToSend
{
    private HeadToSend(int start, int end, byte[]? rewritten, int rewrittenLength)
    {
        Start = start;
        End = end;
        Rewritten = rewritten;
        RewrittenLength = rewrittenLength;
    }

    /// <summary>Offsets of the head in the input buffer; the body starts at <see cref="End"/>.</summary>
    public int Start { get; }
    public int End { get; }
    public byte[]? Rewritten { get; }
    public int RewrittenLength { get; }

    public static HeadToSend InPlace(int start, int end) => new(start, end, null, 0);

    /// <summary>The head was rewritten into <paramref name="scratch"/>; the original ends at <paramref name="end"/> in the input.</summary>
    public static HeadToSend Rewrite(int end, byte[] scratch, int length) => new(end, end, scratch, length);

    public int Length => Rewritten is null ? End - Start : RewrittenLength;
}

/// <summary>
/// One body relay for both directions (client → server for requests, server → client for
/// responses), for each framing: Content-Length, chunked (only bytes the scanner accepted go out,
/// so a bad chunk never reaches the other side), and until close. The head goes out with the body
/// bytes already read in one write (one TLS record, one syscall, one wakeup of the peer). Bytes
/// past the message stay in the input (a pipelined request; for a server, a reason to close).
/// </summary>
internal sealed class BodyRelay
{
    /// <summary>
    /// The most body bytes a Content-Length relay writes at once: a little under a TLS record's
    /// 16 KiB of plaintext, rather than a full 16 KiB buffer. Issue 9, 256 KiB POSTs (wrk -t2
    /// -c64, two pairs of runs): 356-359 µs of CPU per request with full-buffer writes, 335-336
    /// with this cap, at the same sends and reads per request. Most likely SslStream's buffer for
    /// 16 KiB plus the record's overhead falls in ArrayPool's next size (32 KiB) and is not reused
    /// as well; not traced further. The rest of a full buffer goes with the next write.
    /// </summary>
    public const int MaxBodyWrite = 16384 - 256;

    private readonly ChunkedScanner _chunks = new();

    public ChunkRejection ChunkRejection => _chunks.Rejection;

    /// <summary>
    /// Whether the first bytes of a chunked body, already read with the head, are valid so far: a
    /// body already known bad is refused before anything goes to a server.
    /// </summary>
    public bool ChunksLookValid(ReadOnlySpan<byte> firstBytes)
    {
        if (firstBytes.IsEmpty) return true;
        _chunks.Reset();
        return _chunks.Scan(firstBytes, out _) != ChunkStatus.Rejected;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RelayResult> RelayAsync(HttpInput input, IHttpOutput output, HeadToSend head, BodyFraming framing,
        long contentLength, Wait readWait, Wait writeWait, IWaits waits)
    {
        long remaining = framing == BodyFraming.ContentLength ? contentLength : 0;
        if (framing == BodyFraming.Chunked) _chunks.Reset();
        bool headPending = true;
        int offset = head.End;   // where the body bytes begin in the input buffer
        while (true)
        {
            int available = input.Length - offset;
            int take;
            bool done;
            switch (framing)
            {
                case BodyFraming.ContentLength:
                    take = (int)Math.Min(Math.Min(available, remaining), MaxBodyWrite);
                    remaining -= take;
                    done = remaining == 0;
                    break;
                case BodyFraming.Chunked:
                    var status = _chunks.Scan(input.Span[offset..], out take);
                    if (status == ChunkStatus.Rejected) return RelayResult.BadChunk;
                    done = status == ChunkStatus.Done;
                    break;
                case BodyFraming.UntilClose:
                    take = available;
                    done = false;
                    break;
                default:   // None, Tunnel: the head only
                    take = 0;
                    done = true;
                    break;
            }
            if (headPending || take > 0)
            {
                if (!waits.Waiting(writeWait)) return RelayResult.InputFailed;
                try
                {
                    await WriteAsync(input, output, head, headPending, offset, take);
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
                {
                    return RelayResult.OutputFailed;
                }
                input.Consume(offset + take);
                offset = 0;
                headPending = false;
            }
            if (done) return RelayResult.Done;
            // A write cut at MaxBodyWrite may leave the body's end in the buffer: write it, do not wait for more.
            if (framing == BodyFraming.ContentLength && input.Length - offset >= remaining) continue;

            if (!waits.Waiting(readWait)) return RelayResult.OutputFailed;
            int n;
            try
            {
                n = await input.FillAsync();
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return RelayResult.InputFailed;
            }
            if (n == 0) return framing == BodyFraming.UntilClose ? RelayResult.Done : RelayResult.InputEnded;
        }
    }

    private static ValueTask WriteAsync(HttpInput input, IHttpOutput output, HeadToSend head, bool headPending, int offset, int take)
    {
        var buffer = input.Buffer!;
        if (!headPending) return output.WriteAsync(buffer.AsMemory(offset, take));
        if (head.Rewritten is null) return output.WriteAsync(buffer.AsMemory(head.Start, offset + take - head.Start));
        // Rewritten head: the body bytes already read follow it in the scratch buffer.
        var scratch = head.Rewritten;
        int fits = Math.Min(take, scratch.Length - head.RewrittenLength);
        buffer.AsSpan(offset, fits).CopyTo(scratch.AsSpan(head.RewrittenLength));
        if (fits == take) return output.WriteAsync(scratch.AsMemory(0, head.RewrittenLength + fits));
        return WriteInTwoAsync(output, scratch.AsMemory(0, head.RewrittenLength + fits), buffer.AsMemory(offset + fits, take - fits));
    }

    /// <summary>Only when a rewritten head grew past what the scratch buffer holds with the body bytes (a full buffer).</summary>
    private static async ValueTask WriteInTwoAsync(IHttpOutput output, ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second)
    {
        await output.WriteAsync(first);
        await output.WriteAsync(second);
    }
}
