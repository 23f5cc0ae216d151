using FipsAppliance.Http.Parsing;

namespace FipsAppliance.Fuzz.Targets;

/// <summary>
/// Http1Parser.ParseResponseHead and the body framing derived from it. A crash is: an exception;
/// one call vs random reads of 1-61 bytes disagreeing; a reused head reading the next response
/// differently from a fresh one; an offset outside the head, a status outside 100-999, a reason
/// outside the status line, a negative Content-Length, chunked without Transfer-Encoding, a framing
/// with a body for HEAD, 1xx, 204 or 304; a rejection without a reason; a forwarded head that our
/// parser refuses or reads differently.
/// </summary>
public static class ResponseTarget
{
    private static readonly KnownMethod[] Methods = Enum.GetValues<KnownMethod>();

    public static void Check(ReadOnlySpan<byte> input)
    {
        var buf = input.ToArray();
        var head = new HttpResponseHead();
        var status = Http1Parser.ParseResponseHead(buf, head, out int length);
        Verify(buf, status, head, length);
        var whole = HeadSnapshot.Of(status, head, length, exactReason: false);

        var stepped = new HttpResponseHead();
        FuzzFailure.Equal(whole, ParseInReads(buf, stepped), "one call vs random reads");

        if (status != ParseStatus.Complete)
        {
            return;
        }
        Forwarded(buf, head);

        var next = buf.AsSpan(length);
        var reusedStatus = Http1Parser.ParseResponseHead(next, head, out int reusedLength);
        var fresh = new HttpResponseHead();
        var freshStatus = Http1Parser.ParseResponseHead(next, fresh, out int freshLength);
        FuzzFailure.Equal(HeadSnapshot.Of(freshStatus, fresh, freshLength), HeadSnapshot.Of(reusedStatus, head, reusedLength), "next response, reused head vs fresh head");
    }

    private static HeadSnapshot ParseInReads(byte[] buf, HttpResponseHead head)
    {
        int available = 0;
        foreach (int step in ReadSizes.For(buf))
        {
            available = Math.Min(buf.Length, available + step);
            var status = Http1Parser.ParseResponseHead(buf.AsSpan(0, available), head, out int length);
            if (status != ParseStatus.NeedMore || available == buf.Length)
            {
                Verify(buf.AsSpan(0, available), status, head, length);
                return HeadSnapshot.Of(status, head, length, exactReason: false);
            }
        }
        throw new InvalidOperationException("unreachable");
    }

    private static void Verify(ReadOnlySpan<byte> buf, ParseStatus status, HttpResponseHead h, int length)
    {
        if (status != ParseStatus.Complete)
        {
            HeadRules.NotComplete(status, length, buf.Length, h.Rejection != ResponseRejection.None);
            return;
        }
        HeadRules.CompleteHead(h, length, buf.Length);
        FuzzFailure.Equal(ResponseRejection.None, h.Rejection, "rejection on a complete head");
        FuzzFailure.Check(h.StatusCode is >= 100 and <= 999, $"status {h.StatusCode}");
        HeadRules.InRange(h.Reason, h.StartLine.Start, h.StartLine.End, "reason");
        foreach (var method in Methods)
        {
            var framing = h.GetBodyFraming(method);
            bool bodyless = method == KnownMethod.Head || h.StatusCode is < 200 or 204 or 304;
            if (bodyless)
            {
                FuzzFailure.Check(framing is BodyFraming.None or BodyFraming.Tunnel, $"{framing} for {h.StatusCode} to {method}");
            }
            if (framing == BodyFraming.ContentLength)
            {
                FuzzFailure.Check(h.ContentLength >= 0 && !h.HasTransferEncoding, "Content-Length framing without a usable Content-Length");
            }
        }
    }

    private static void Forwarded(byte[] buf, HttpResponseHead head)
    {
        var dest = new byte[Http1Limits.BufferSize];
        int n = HeadWriter.WriteResponseHead(buf, head, dest);
        FuzzFailure.Check(n > 0, $"HeadWriter needed more than {dest.Length} bytes");
        var written = dest.AsSpan(0, n).ToArray();
        var again = new HttpResponseHead();
        var status = Http1Parser.ParseResponseHead(written, again, out int length);
        FuzzFailure.Equal(ParseStatus.Complete, status, $"forwarded head re-parsed ({again.Rejection})");
        FuzzFailure.Equal(n, length, "forwarded head length");
        FuzzFailure.Equal(head.StatusCode, again.StatusCode, "forwarded status");
        FuzzFailure.Equal(head.Version, again.Version, "forwarded version");
        FuzzFailure.Equal(head.ContentLength, again.ContentLength, "forwarded Content-Length");
        FuzzFailure.Equal(head.IsChunked, again.IsChunked, "forwarded chunked");
        foreach (var method in Methods)
        {
            FuzzFailure.Equal(head.GetBodyFraming(method), again.GetBodyFraming(method), $"forwarded framing for {method}");
        }
        var dest2 = new byte[Http1Limits.BufferSize];
        int n2 = HeadWriter.WriteResponseHead(written, again, dest2);
        FuzzFailure.Check(dest2.AsSpan(0, n2).SequenceEqual(written), "forwarding the forwarded head changed it");
    }
}
