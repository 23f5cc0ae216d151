using FipsAppliance.Http.Parsing;

namespace FipsAppliance.Fuzz.Targets;

/// <summary>
/// Http1Parser.ParseRequestHead. A crash is: an exception; a result that differs between one call
/// on the whole input and calls on growing prefixes (random reads of 1-61 bytes); a pipelined
/// second request parsed differently by a reused head than by a fresh one; an offset outside the
/// head or the input, a negative Content-Length, chunked without Transfer-Encoding, a rejection
/// without a reason or with a status other than 4xx/5xx; a forwarded head (HeadWriter) that our own
/// parser refuses or reads differently.
/// </summary>
public static class RequestTarget
{
    public static void Check(ReadOnlySpan<byte> input)
    {
        var buf = input.ToArray();
        var head = new HttpRequestHead();
        var status = Http1Parser.ParseRequestHead(buf, head, out int length);
        Verify(buf, status, head, length);
        var whole = HeadSnapshot.Of(status, head, length, exactReason: false);

        var stepped = new HttpRequestHead();
        FuzzFailure.Equal(whole, ParseInReads(buf, stepped), "one call vs random reads");

        if (status != ParseStatus.Complete)
        {
            return;
        }
        Forwarded(buf, head);

        // The next request on the connection: the same head object, not reset, must parse it as a new one would.
        var next = buf.AsSpan(length);
        var reusedStatus = Http1Parser.ParseRequestHead(next, head, out int reusedLength);
        var fresh = new HttpRequestHead();
        var freshStatus = Http1Parser.ParseRequestHead(next, fresh, out int freshLength);
        FuzzFailure.Equal(HeadSnapshot.Of(freshStatus, fresh, freshLength), HeadSnapshot.Of(reusedStatus, head, reusedLength), "pipelined request, reused head vs fresh head");
    }

    internal static HeadSnapshot ParseInReads(byte[] buf, HttpRequestHead head)
    {
        int available = 0;
        foreach (int step in ReadSizes.For(buf))
        {
            available = Math.Min(buf.Length, available + step);
            var status = Http1Parser.ParseRequestHead(buf.AsSpan(0, available), head, out int length);
            if (status != ParseStatus.NeedMore || available == buf.Length)
            {
                Verify(buf.AsSpan(0, available), status, head, length);
                return HeadSnapshot.Of(status, head, length, exactReason: false);
            }
        }
        throw new InvalidOperationException("unreachable");
    }

    private static void Verify(ReadOnlySpan<byte> buf, ParseStatus status, HttpRequestHead h, int length)
    {
        if (status == ParseStatus.Complete)
        {
            HeadRules.CompleteHead(h, length, buf.Length);
            FuzzFailure.Equal(RequestRejection.None, h.Rejection, "rejection on a complete head");
            HeadRules.InRange(h.Method, h.HeadStart, h.HeadEnd, "method");
            HeadRules.InRange(h.Target, h.HeadStart, h.HeadEnd, "target");
            HeadRules.InRange(h.Path, h.Target.Start, h.Target.End, "path");
            FuzzFailure.Check(h.Method.Length > 0 && h.Target.Length > 0, "empty method or target");
            if (h.Host.Start >= 0)
            {
                HeadRules.InRange(h.Host, h.HeadStart, h.HeadEnd, "host");
            }
            FuzzFailure.Check(!(h.IsChunked && h.ContentLength >= 0), "a request both chunked and with Content-Length");
        }
        else
        {
            HeadRules.NotComplete(status, length, buf.Length, h.Rejection != RequestRejection.None);
            if (status == ParseStatus.Rejected)
            {
                int code = HttpErrorPages.StatusFor(h.Rejection);
                FuzzFailure.Check(code is >= 400 and < 600, $"{h.Rejection} answered with {code}");
            }
        }
    }

    /// <summary>What we forward must be a request our own parser reads the same way, and writing it again changes nothing.</summary>
    private static void Forwarded(byte[] buf, HttpRequestHead head)
    {
        var dest = new byte[Http1Limits.BufferSize];
        int n = HeadWriter.WriteRequestHead(buf, head, dest);
        FuzzFailure.Check(n > 0, $"HeadWriter needed more than {dest.Length} bytes");
        var written = dest.AsSpan(0, n).ToArray();
        var again = new HttpRequestHead();
        var status = Http1Parser.ParseRequestHead(written, again, out int length);
        FuzzFailure.Equal(ParseStatus.Complete, status, $"forwarded head re-parsed ({again.Rejection})");
        FuzzFailure.Equal(n, length, "forwarded head length");
        FuzzFailure.Equal(Text(buf, head.Method), Text(written, again.Method), "forwarded method");
        FuzzFailure.Equal(Text(buf, head.Target), Text(written, again.Target), "forwarded target");
        FuzzFailure.Equal(head.Version, again.Version, "forwarded version");
        FuzzFailure.Equal(head.ContentLength, again.ContentLength, "forwarded Content-Length");
        FuzzFailure.Equal(head.IsChunked, again.IsChunked, "forwarded chunked");
        FuzzFailure.Equal(head.Host.Start < 0 ? null : Text(buf, head.Host), again.Host.Start < 0 ? null : Text(written, again.Host), "forwarded Host");
        var dest2 = new byte[Http1Limits.BufferSize];
        int n2 = HeadWriter.WriteRequestHead(written, again, dest2);
        FuzzFailure.Check(dest2.AsSpan(0, n2).SequenceEqual(written), "forwarding the forwarded head changed it");
    }

    private static string Text(ReadOnlySpan<byte> buf, ByteRange r) => System.Text.Encoding.Latin1.GetString(r.Of(buf));
}
