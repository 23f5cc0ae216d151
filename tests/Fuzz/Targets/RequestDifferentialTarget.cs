using System.Text;
using FipsAppliance.Http.Parsing;
using FipsAppliance.Tests.Http;

namespace FipsAppliance.Fuzz.Targets;

/// <summary>
/// Differential: Http1Parser.ParseRequestHead against the slow ReferenceRequestParser (strings and
/// regular expressions, tests/FipsAppliance.Tests/Http), in one call and in random reads of 1-61
/// bytes. A crash is an exception or any disagreement: the outcome (more / ok / the rejection's
/// status code), the head length, method, target, path, version, Content-Length, chunked,
/// keep-alive, Host, Expect, and the forwarded head byte for byte.
/// </summary>
public static class RequestDifferentialTarget
{
    public static void Check(ReadOnlySpan<byte> input)
    {
        var buf = input.ToArray();
        string text = Encoding.Latin1.GetString(buf);
        var expected = ReferenceRequestParser.Parse(text);

        var head = new HttpRequestHead();
        var status = Http1Parser.ParseRequestHead(buf, head, out int length);
        FuzzFailure.Equal(expected, Describe(status, head, buf, length), "reference vs one call");

        head = new HttpRequestHead();
        int available = 0;
        foreach (int step in ReadSizes.For(buf))
        {
            available = Math.Min(buf.Length, available + step);
            status = Http1Parser.ParseRequestHead(buf.AsSpan(0, available), head, out length);
            if (status != ParseStatus.NeedMore || available == buf.Length)
            {
                break;
            }
        }
        FuzzFailure.Equal(expected, Describe(status, head, buf, length), "reference vs random reads");
    }

    private static ParseOutcome Describe(ParseStatus status, HttpRequestHead head, byte[] buf, int length)
    {
        if (status == ParseStatus.NeedMore)
        {
            return new ParseOutcome("more", 0);
        }
        if (status == ParseStatus.Rejected)
        {
            return new ParseOutcome("reject", HttpErrorPages.StatusFor(head.Rejection));
        }
        var dest = new byte[Http1Limits.BufferSize];
        int n = HeadWriter.WriteRequestHead(buf, head, dest);
        return new ParseOutcome("ok", 0, length, Of(buf, head.Method), Of(buf, head.Target), Of(buf, head.Path),
            (int)head.Version, head.ContentLength, head.IsChunked, head.KeepAlive,
            head.Host.Start < 0 ? "" : Of(buf, head.Host), head.Expect100Continue, Encoding.Latin1.GetString(dest, 0, Math.Max(n, 0)));
    }

    private static string Of(byte[] buf, ByteRange r) => Encoding.Latin1.GetString(r.Of(buf));
}
