using System.Text;
using FipsAppliance.Http.Parsing;
using static FipsAppliance.Tests.Http.HttpTestText;

namespace FipsAppliance.Tests.Http;

/// <summary>
/// The fast parser against the reference on a corpus of mutated requests, each delivered in random
/// reads of 1 to 61 bytes (the read sizes .NET's HTTP fuzzers use). Fixed seed, bounded count.
/// </summary>
public class DifferentialTests
{
    private const int Cases = 2000;

    private static readonly string[] Seeds =
    [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /api/v2/series HTTP/1.1\r\nHost: 127.0.0.1:9804\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\n",
        "POST /api/v2/logs HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        "GET http://x.example/a?b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\n\r\n",
        "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
        "\r\nPUT /x HTTP/1.1\r\nConnection: close, X-A\r\nX-A: 1\r\nContent-Length: 0, 0\r\n\r\n",
        "GET /q?x=1 HTTP/1.0\r\nContent-Length: 0\r\nUser-Agent: t\r\n\r\n",
    ];

    private static readonly string[] Fields =
    [
        "Content-Length: 5", "content-length: 5", "Content-Length: 6", "Content-Length: 5, 5", "Content-Length: +5",
        "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: chunked, gzip", "Transfer-Encoding: ",
        "Connection: close", "Connection: keep-alive, X-B", "X-B: 2", "Host: h", "Keep-Alive: 1", "TE: trailers",
        "Upgrade: h2c", "Connection: upgrade", "Expect: 100-continue", "Proxy-Connection: close", "X-Fold: a\r\n b",
    ];

    private static readonly char[] Bytes_ = [' ', '\t', '\r', '\n', ':', ',', ';', '\0', '\u0001', '\u007f', '#', '\u00e9', 'a', 'Z', '0', '9', '/', '?', '*'];

    private static string Mutate(Random rng, string s)
    {
        int mutations = rng.Next(0, 4);
        for (int i = 0; i < mutations; i++)
        {
            int at = rng.Next(0, s.Length + 1);
            switch (rng.Next(0, 5))
            {
                case 0:
                    s = s.Insert(at, Bytes_[rng.Next(Bytes_.Length)].ToString());
                    break;
                case 1:
                    if (at < s.Length)
                    {
                        s = s.Remove(at, 1);
                    }
                    break;
                case 2:
                    if (at < s.Length)
                    {
                        s = s.Remove(at, 1).Insert(at, Bytes_[rng.Next(Bytes_.Length)].ToString());
                    }
                    break;
                case 3:
                    int lineEnd = s.IndexOf("\r\n", StringComparison.Ordinal);
                    if (lineEnd > 0)
                    {
                        s = s.Insert(lineEnd + 2, Fields[rng.Next(Fields.Length)] + "\r\n");
                    }
                    break;
                default:
                    if (rng.Next(0, 4) == 0)
                    {
                        s = s[..at];
                    }
                    break;
            }
        }
        return s;
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
            head.Host.Start < 0 ? "" : Of(buf, head.Host), head.Expect100Continue, Text(dest.AsSpan(0, n)));
    }

    [Test]
    public async Task Fast_parser_agrees_with_the_reference_parser_in_random_reads()
    {
        var rng = new Random(20240611);
        var head = new HttpRequestHead();
        var outcomes = new Dictionary<string, int>();
        for (int i = 0; i < Cases; i++)
        {
            string text = Mutate(rng, Seeds[rng.Next(Seeds.Length)]);
            var buf = Bytes(text);
            var expected = ReferenceRequestParser.Parse(text);

            head.Reset();
            var steps = Enumerable.Range(0, buf.Length + 1).Select(_ => rng.Next(1, 62));
            var (status, length) = ParseRequestInSteps(buf, head, steps);
            var actual = Describe(status, head, buf, length);
            if (actual != expected)
            {
                Assert.Fail($"case {i}: {Escape(text)}\n expected {expected}\n actual   {actual}");
            }

            var whole = new HttpRequestHead();
            var wholeStatus = Http1Parser.ParseRequestHead(buf, whole, out int wholeLength);
            await Assert.That(Describe(wholeStatus, whole, buf, wholeLength)).IsEqualTo(expected);
            outcomes[expected.Outcome + expected.Status] = outcomes.GetValueOrDefault(expected.Outcome + expected.Status) + 1;
        }
        // The corpus must exercise every kind of outcome, or the comparison proves little.
        foreach (string kind in new[] { "ok0", "more0", "reject400", "reject413", "reject422" })
        {
            await Assert.That(outcomes.GetValueOrDefault(kind)).IsGreaterThan(0);
        }
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s)
        {
            sb.Append(c is >= ' ' and < '\u007f' ? c.ToString() : $"\\x{(int)c:x2}");
        }
        return sb.ToString();
    }
}
