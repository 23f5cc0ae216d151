using static FipsAppliance.Http.Parsing.HttpChars;

namespace FipsAppliance.Http.Parsing;

public enum ChunkStatus
{
    NeedMore,
    /// <summary>The last chunk, trailers and final CRLF were seen; bytes after <c>consumed</c> belong to the next message.</summary>
    Done,
    Rejected,
}

public enum ChunkRejection
{
    None = 0,
    /// <summary>A chunk-size line with no hex digit.</summary>
    EmptyChunkSize,
    InvalidChunkSize,
    /// <summary>A chunk size above 2^60 bytes: no honest body is that long, and it must not wrap.</summary>
    ChunkSizeOverflow,
    /// <summary>A control byte in a chunk extension.</summary>
    InvalidChunkExtension,
    /// <summary>A chunk-size line longer than <see cref="ChunkedScanner.MaxChunkLineLength"/>.</summary>
    ChunkLineTooLong,
    /// <summary>CR not followed by LF, or LF without CR.</summary>
    InvalidLineEnding,
    /// <summary>The chunk data is not followed by CRLF.</summary>
    MissingCrlfAfterData,
    InvalidTrailer,
    TrailersTooLarge,
}

/// <summary>
/// Follows a chunked body (RFC 9112 7.1) as its bytes pass through unchanged, to find where the
/// message ends. Strict in the places request smuggling hides: hex sizes only, no bare LF, CRLF
/// after each chunk's data, trailer lines shaped like header fields. One instance per connection
/// direction, reused with <see cref="Reset"/>.
/// </summary>
public sealed class ChunkedScanner
{
    /// <summary>Longest chunk-size line, extensions included, that is accepted.</summary>
    public const int MaxChunkLineLength = 4096;

    /// <summary>Trailer section limit, the same as for a head.</summary>
    public const int MaxTrailerLength = Http1Limits.MaxHeadLength;

    private const long MaxChunkSize = 1L << 60;

    private enum State : byte
    {
        Size,
        SizeWhitespace,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerLineStart,
        TrailerName,
        TrailerValue,
        TrailerLf,
        FinalLf,
        Done,
        Rejected,
    }

    private State _state;
    private long _chunkSize;
    private long _remaining;
    private int _digits;
    private int _lineLength;
    private int _trailerLength;

    public ChunkRejection Rejection { get; private set; }

    /// <summary>Sum of the chunk data sizes seen so far (payload bytes, framing excluded).</summary>
    public long PayloadLength { get; private set; }

    public void Reset()
    {
        _state = State.Size;
        _chunkSize = 0;
        _remaining = 0;
        _digits = 0;
        _lineLength = 0;
        _trailerLength = 0;
        Rejection = ChunkRejection.None;
        PayloadLength = 0;
    }

    /// <summary>
    /// Scans the next bytes of the body. <paramref name="consumed"/> is how many of them belong to
    /// this message: all of them on NeedMore, up to and including the final LF on Done, and the
    /// offset of the offending byte on Rejected.
    /// </summary>
    public ChunkStatus Scan(ReadOnlySpan<byte> data, out int consumed)
    {
        int i = 0;
        var state = _state;
        if (state == State.Done || state == State.Rejected)
        {
            consumed = 0;
            return state == State.Done ? ChunkStatus.Done : ChunkStatus.Rejected;
        }
        while (i < data.Length)
        {
            if (state == State.Data)
            {
                int take = (int)Math.Min(_remaining, data.Length - i);
                i += take;
                _remaining -= take;
                if (_remaining == 0)
                {
                    state = State.DataCr;
                }
                continue;
            }

            byte b = data[i];
            switch (state)
            {
                case State.Size:
                    if (++_lineLength > MaxChunkLineLength)
                    {
                        return Fail(ChunkRejection.ChunkLineTooLong, i, out consumed);
                    }
                    int hex = HexValue(b);
                    if (hex >= 0)
                    {
                        if (_chunkSize >= MaxChunkSize >> 4)
                        {
                            return Fail(ChunkRejection.ChunkSizeOverflow, i, out consumed);
                        }
                        _chunkSize = (_chunkSize << 4) | (uint)hex;
                        _digits++;
                        break;
                    }
                    if (b == LF)
                    {
                        return Fail(ChunkRejection.InvalidLineEnding, i, out consumed);
                    }
                    if (_digits == 0)
                    {
                        return Fail(b == CR || b == Semicolon ? ChunkRejection.EmptyChunkSize : ChunkRejection.InvalidChunkSize, i, out consumed);
                    }
                    if (b == CR)
                    {
                        state = State.SizeLf;
                    }
                    else if (b == Semicolon)
                    {
                        state = State.Extension;
                    }
                    else if (IsOws(b))
                    {
                        // BWS before an extension (RFC 9112 7.1.1).
                        state = State.SizeWhitespace;
                    }
                    else
                    {
                        return Fail(ChunkRejection.InvalidChunkSize, i, out consumed);
                    }
                    break;

                case State.SizeWhitespace:
                    if (++_lineLength > MaxChunkLineLength)
                    {
                        return Fail(ChunkRejection.ChunkLineTooLong, i, out consumed);
                    }
                    if (b == Semicolon)
                    {
                        state = State.Extension;
                    }
                    else if (b == CR)
                    {
                        state = State.SizeLf;
                    }
                    else if (!IsOws(b))
                    {
                        return Fail(b == LF ? ChunkRejection.InvalidLineEnding : ChunkRejection.InvalidChunkSize, i, out consumed);
                    }
                    break;

                case State.Extension:
                    if (++_lineLength > MaxChunkLineLength)
                    {
                        return Fail(ChunkRejection.ChunkLineTooLong, i, out consumed);
                    }
                    if (b == CR)
                    {
                        state = State.SizeLf;
                    }
                    else if (InvalidInValue.Contains(b))
                    {
                        return Fail(b == LF ? ChunkRejection.InvalidLineEnding : ChunkRejection.InvalidChunkExtension, i, out consumed);
                    }
                    break;

                case State.SizeLf:
                    if (b != LF)
                    {
                        return Fail(ChunkRejection.InvalidLineEnding, i, out consumed);
                    }
                    PayloadLength += _chunkSize;
                    _remaining = _chunkSize;
                    _lineLength = 0;
                    _digits = 0;
                    state = _chunkSize == 0 ? State.TrailerLineStart : State.Data;
                    _chunkSize = 0;
                    break;

                case State.DataCr:
                    if (b != CR)
                    {
                        return Fail(ChunkRejection.MissingCrlfAfterData, i, out consumed);
                    }
                    state = State.DataLf;
                    break;

                case State.DataLf:
                    if (b != LF)
                    {
                        return Fail(ChunkRejection.MissingCrlfAfterData, i, out consumed);
                    }
                    state = State.Size;
                    break;

                case State.TrailerLineStart:
                    if (b == CR)
                    {
                        state = State.FinalLf;
                        break;
                    }
                    if (!IsToken(b))
                    {
                        // Includes SP/HTAB: obs-fold is refused in trailers as in heads.
                        return Fail(b == LF ? ChunkRejection.InvalidLineEnding : ChunkRejection.InvalidTrailer, i, out consumed);
                    }
                    if (!CountTrailer(ref _trailerLength))
                    {
                        return Fail(ChunkRejection.TrailersTooLarge, i, out consumed);
                    }
                    state = State.TrailerName;
                    break;

                case State.TrailerName:
                    if (!CountTrailer(ref _trailerLength))
                    {
                        return Fail(ChunkRejection.TrailersTooLarge, i, out consumed);
                    }
                    if (b == Colon)
                    {
                        state = State.TrailerValue;
                    }
                    else if (!IsToken(b))
                    {
                        return Fail(ChunkRejection.InvalidTrailer, i, out consumed);
                    }
                    break;

                case State.TrailerValue:
                    if (!CountTrailer(ref _trailerLength))
                    {
                        return Fail(ChunkRejection.TrailersTooLarge, i, out consumed);
                    }
                    if (b == CR)
                    {
                        state = State.TrailerLf;
                    }
                    else if (InvalidInValue.Contains(b))
                    {
                        return Fail(b == LF ? ChunkRejection.InvalidLineEnding : ChunkRejection.InvalidTrailer, i, out consumed);
                    }
                    break;

                case State.TrailerLf:
                    if (b != LF)
                    {
                        return Fail(ChunkRejection.InvalidLineEnding, i, out consumed);
                    }
                    state = State.TrailerLineStart;
                    break;

                case State.FinalLf:
                    if (b != LF)
                    {
                        return Fail(ChunkRejection.InvalidLineEnding, i, out consumed);
                    }
                    _state = State.Done;
                    consumed = i + 1;
                    return ChunkStatus.Done;
            }
            i++;
        }
        _state = state;
        consumed = data.Length;
        return ChunkStatus.NeedMore;
    }

    private static bool CountTrailer(ref int length) => ++length <= MaxTrailerLength;

    private ChunkStatus Fail(ChunkRejection reason, int at, out int consumed)
    {
        _state = State.Rejected;
        Rejection = reason;
        consumed = at;
        return ChunkStatus.Rejected;
    }
}
