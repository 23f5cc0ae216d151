using FipsAppliance.Http.Parsing;

namespace FipsAppliance.Fuzz.Targets;

/// <summary>
/// ChunkedScanner.Scan. A crash is: an exception; one call on the whole input vs random reads of
/// 1-61 bytes disagreeing on the status, the end offset, the reason or the payload length; consumed
/// outside [0, input]; NeedMore that did not consume everything; Done not ending on the final LF or
/// counting more payload than it consumed; a rejection without a reason; a finished scanner that
/// does not stay finished; a Reset scanner that does not scan again as a new one.
/// </summary>
public static class ChunkedTarget
{
    private readonly record struct Outcome(ChunkStatus Status, long End, ChunkRejection Rejection, long Payload);

    public static void Check(ReadOnlySpan<byte> input)
    {
        var buf = input.ToArray();
        var scanner = new ChunkedScanner();
        var whole = ScanWhole(scanner, buf);

        var stepped = new ChunkedScanner();
        FuzzFailure.Equal(whole, ScanInReads(stepped, buf), "one call vs random reads");

        if (whole.Status != ChunkStatus.NeedMore)
        {
            FuzzFailure.Equal(whole.Status, scanner.Scan(buf, out int again), "status after the end");
            FuzzFailure.Equal(0, again, "bytes consumed after the end");
        }
        scanner.Reset();
        FuzzFailure.Equal(whole, ScanWhole(scanner, buf), "reset scanner vs new scanner");

        if (whole.Status == ChunkStatus.Done)
        {
            FuzzFailure.Check(whole.Payload <= whole.End, $"payload {whole.Payload} in a body of {whole.End} bytes");
            // The body alone, without what follows it, ends at the same place.
            FuzzFailure.Equal(whole, ScanWhole(new ChunkedScanner(), buf.AsSpan(0, (int)whole.End)), "the body without what follows");
        }
    }

    private static Outcome ScanWhole(ChunkedScanner scanner, ReadOnlySpan<byte> buf)
    {
        var status = scanner.Scan(buf, out int consumed);
        Verify(scanner, status, consumed, buf);
        return new Outcome(status, consumed, scanner.Rejection, scanner.PayloadLength);
    }

    private static Outcome ScanInReads(ChunkedScanner scanner, byte[] buf)
    {
        int offset = 0;
        foreach (int step in ReadSizes.For(buf))
        {
            var read = buf.AsSpan(offset, Math.Min(step, buf.Length - offset));
            var status = scanner.Scan(read, out int consumed);
            Verify(scanner, status, consumed, read);
            if (status != ChunkStatus.NeedMore || offset + read.Length == buf.Length)
            {
                return new Outcome(status, offset + consumed, scanner.Rejection, scanner.PayloadLength);
            }
            offset += read.Length;
        }
        throw new InvalidOperationException("unreachable");
    }

    private static void Verify(ChunkedScanner scanner, ChunkStatus status, int consumed, ReadOnlySpan<byte> read)
    {
        FuzzFailure.Check(consumed >= 0 && consumed <= read.Length, $"consumed {consumed} of {read.Length}");
        FuzzFailure.Check(scanner.PayloadLength >= 0, $"payload length {scanner.PayloadLength}");
        switch (status)
        {
            case ChunkStatus.NeedMore:
                FuzzFailure.Equal(read.Length, consumed, "consumed on NeedMore");
                FuzzFailure.Equal(ChunkRejection.None, scanner.Rejection, "rejection on NeedMore");
                break;
            case ChunkStatus.Done:
                FuzzFailure.Check(consumed > 0 && read[consumed - 1] == (byte)'\n', "Done not after an LF");
                FuzzFailure.Equal(ChunkRejection.None, scanner.Rejection, "rejection on Done");
                break;
            default:
                FuzzFailure.Check(scanner.Rejection != ChunkRejection.None, "rejected without a reason");
                FuzzFailure.Check(consumed < read.Length, "rejected past the input");
                break;
        }
    }
}
