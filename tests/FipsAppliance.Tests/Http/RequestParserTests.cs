using FipsAppliance.Http.Parsing;
using static FipsAppliance.Tests.Http.HttpTestText;

namespace FipsAppliance.Tests.Http;

public class RequestParserTests
{
    private const string AgentPost =
        "POST /api/v2/series?dd-api-key=x HTTP/1.1\r\nHost: 127.0.0.1:9804\r\nUser-Agent: datadog-agent/7.50.0\r\n" +
        "Content-Length: 11\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\nDd-Api-Key: abc\r\n\r\n";

    private static async Task AssertRejected(string request, RequestRejection reason, int status = 400)
    {
        var (result, head, _) = ParseRequest(request);
        await Assert.That(result).IsEqualTo(ParseStatus.Rejected);
        await Assert.That(head.Rejection).IsEqualTo(reason);
        await Assert.That(HttpErrorPages.StatusFor(head.Rejection)).IsEqualTo(status);
    }

    [Test]
    public async Task Parses_an_agent_post_with_content_length()
    {
        var buf = Bytes(AgentPost + "hello world");
        var head = new HttpRequestHead();
        var status = Http1Parser.ParseRequestHead(buf, head, out int length);
        await Assert.That(status).IsEqualTo(ParseStatus.Complete);
        await Assert.That(length).IsEqualTo(AgentPost.Length);
        await Assert.That(head.KnownMethod).IsEqualTo(KnownMethod.Post);
        await Assert.That(Of(buf, head.Method)).IsEqualTo("POST");
        await Assert.That(Of(buf, head.Target)).IsEqualTo("/api/v2/series?dd-api-key=x");
        await Assert.That(Of(buf, head.Path)).IsEqualTo("/api/v2/series");
        await Assert.That(Of(buf, head.Host)).IsEqualTo("127.0.0.1:9804");
        await Assert.That(head.Version).IsEqualTo(HttpVersion.Http11);
        await Assert.That(head.ContentLength).IsEqualTo(11L);
        await Assert.That(head.BodyFraming).IsEqualTo(BodyFraming.ContentLength);
        await Assert.That(head.KeepAlive).IsTrue();
        await Assert.That(head.HasHopByHop).IsFalse();
        await Assert.That(head.Headers.Length).IsEqualTo(6);
        await Assert.That(Of(buf, head.Headers[5].Value)).IsEqualTo("abc");
    }

    [Test]
    [Arguments("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", "/", 11, true)]
    [Arguments("GET / HTTP/1.0\r\n\r\n", "GET", "/", "/", 10, false)]
    [Arguments("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", "/", "/", 10, true)]
    [Arguments("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "GET", "/", "/", 11, false)]
    [Arguments("GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", "GET", "/", "/", 11, false)]
    [Arguments("GET /a/b?c=d&e HTTP/1.2\r\n\r\n", "GET", "/a/b?c=d&e", "/a/b", 11, true)]
    [Arguments("HEAD /x HTTP/1.1\r\nhost:a\r\n\r\n", "HEAD", "/x", "/x", 11, true)]
    [Arguments("OPTIONS * HTTP/1.1\r\n\r\n", "OPTIONS", "*", "", 11, true)]
    [Arguments("CONNECT example.com:443 HTTP/1.1\r\n\r\n", "CONNECT", "example.com:443", "", 11, true)]
    [Arguments("GET http://a.example:80/p/q?x HTTP/1.1\r\n\r\n", "GET", "http://a.example:80/p/q?x", "/p/q", 11, true)]
    [Arguments("GET http://a.example HTTP/1.1\r\n\r\n", "GET", "http://a.example", "", 11, true)]
    [Arguments("GET https://a.example?q HTTP/1.1\r\n\r\n", "GET", "https://a.example?q", "", 11, true)]
    [Arguments("\r\n\r\nDELETE /x HTTP/1.1\r\n\r\n", "DELETE", "/x", "/x", 11, true)]
    [Arguments("M-SEARCH /%7e HTTP/1.1\r\nX-Empty:\r\nX-Spaces: \t \r\n\r\n", "M-SEARCH", "/%7e", "/%7e", 11, true)]
    public async Task Parses_valid_request_shapes(string request, string method, string target, string path, int version, bool keepAlive)
    {
        var buf = Bytes(request);
        var head = new HttpRequestHead();
        var status = Http1Parser.ParseRequestHead(buf, head, out int length);
        await Assert.That(status).IsEqualTo(ParseStatus.Complete);
        await Assert.That(length).IsEqualTo(buf.Length);
        await Assert.That(Of(buf, head.Method)).IsEqualTo(method);
        await Assert.That(Of(buf, head.Target)).IsEqualTo(target);
        await Assert.That(Of(buf, head.Path)).IsEqualTo(path);
        await Assert.That((int)head.Version).IsEqualTo(version);
        await Assert.That(head.KeepAlive).IsEqualTo(keepAlive);
    }

    [Test]
    public async Task Skips_leading_empty_lines_and_reports_where_the_request_starts()
    {
        var (status, head, length) = ParseRequest("\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        await Assert.That(status).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.HeadStart).IsEqualTo(4);
        await Assert.That(length).IsEqualTo(22);
    }

    [Test]
    public async Task Trims_optional_whitespace_around_values()
    {
        var buf = Bytes("GET / HTTP/1.1\r\nX-A: \t v  a \t\r\nX-B:v\r\n\r\n");
        var head = new HttpRequestHead();
        Http1Parser.ParseRequestHead(buf, head, out _);
        await Assert.That(Headers(head, buf)).IsEqualTo("X-A=v  a|X-B=v|");
    }

    [Test]
    public async Task Reads_chunked_framing_and_expect_continue()
    {
        var (status, head, _) = ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nExpect: 100-Continue\r\n\r\n");
        await Assert.That(status).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.IsChunked).IsTrue();
        await Assert.That(head.BodyFraming).IsEqualTo(BodyFraming.Chunked);
        await Assert.That(head.ContentLength).IsEqualTo(-1L);
        await Assert.That(head.Expect100Continue).IsTrue();
        await Assert.That(head.KeepAlive).IsTrue();
    }

    [Test]
    public Task Rejects_an_http10_request_with_transfer_encoding() =>
        AssertRejected("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n", RequestRejection.Http10TransferEncoding, 400);

    [Test]
    public async Task Merges_identical_duplicate_content_lengths_like_haproxy()
    {
        var buf = Bytes("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\nX: y\r\n\r\n");
        var head = new HttpRequestHead();
        await Assert.That(Http1Parser.ParseRequestHead(buf, head, out _)).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.ContentLength).IsEqualTo(2L);
        await Assert.That(head.HasHopByHop).IsTrue();
        await Assert.That(Headers(head, buf)).IsEqualTo("Content-Length=2|content-length=2 (removed)|X=y|");
    }

    [Test]
    public async Task Normalizes_a_content_length_list_of_identical_values()
    {
        var buf = Bytes("POST / HTTP/1.1\r\nContent-Length: 7 , 7,7\r\n\r\n");
        var head = new HttpRequestHead();
        await Assert.That(Http1Parser.ParseRequestHead(buf, head, out _)).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.ContentLength).IsEqualTo(7L);
        await Assert.That(Headers(head, buf)).IsEqualTo("Content-Length=7|");
        await Assert.That(head.HasHopByHop).IsTrue();
    }

    [Test]
    public async Task Marks_hop_by_hop_fields_and_fields_named_by_connection()
    {
        var buf = Bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Trace: 1\r\nConnection: keep-alive, x-trace, Content-Length, host, upgrade\r\n" +
            "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: websocket\r\nContent-Length: 0\r\nAccept: */*\r\n\r\n");
        var head = new HttpRequestHead();
        await Assert.That(Http1Parser.ParseRequestHead(buf, head, out _)).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.HasHopByHop).IsTrue();
        await Assert.That(head.HasUpgrade).IsTrue();
        await Assert.That(Headers(head, buf)).IsEqualTo(
            "Host=a|X-Trace=1 (removed)|Connection=keep-alive, x-trace, Content-Length, host, upgrade (removed)|Keep-Alive=timeout=5 (removed)|" +
            "Proxy-Connection=keep-alive (removed)|TE=trailers (removed)|Upgrade=websocket (removed)|Content-Length=0|Accept=*/*|");
    }

    [Test]
    public async Task Accepts_exactly_the_maximum_number_of_headers()
    {
        var request = "GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, Http1Limits.MaxHeaders).Select(i => $"X{i}: a\r\n")) + "\r\n";
        var (status, head, _) = ParseRequest(request);
        await Assert.That(status).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.Headers.Length).IsEqualTo(100);
    }

    [Test]
    public async Task Accepts_a_head_of_exactly_the_maximum_length()
    {
        string start = "GET / HTTP/1.1\r\nX: ";
        string request = start + new string('a', Http1Limits.MaxHeadLength - start.Length - 4) + "\r\n\r\n";
        await Assert.That(request.Length).IsEqualTo(15360);
        await Assert.That(ParseRequest(request).Status).IsEqualTo(ParseStatus.Complete);
    }

    [Test]
    public async Task Parses_pipelined_requests_back_to_back()
    {
        string[] requests =
        [
            "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
            "GET /b HTTP/1.1\r\n\r\n",
            "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /d HTTP/1.1\r\nConnection: close\r\n\r\n",
        ];
        string[] bodies = ["abc", "", "3\r\nxyz\r\n0\r\n\r\n", ""];
        var buf = Bytes(string.Concat(requests.Zip(bodies, (r, b) => r + b)));
        var head = new HttpRequestHead();
        var chunked = new ChunkedScanner();
        int offset = 0;
        var paths = new List<string>();
        while (offset < buf.Length)
        {
            var status = Http1Parser.ParseRequestHead(buf.AsSpan(offset), head, out int headLength);
            await Assert.That(status).IsEqualTo(ParseStatus.Complete);
            paths.Add(Text(head.Path.Of(buf.AsSpan(offset))));
            offset += headLength;
            if (head.BodyFraming == BodyFraming.ContentLength)
            {
                offset += (int)head.ContentLength;
            }
            else if (head.BodyFraming == BodyFraming.Chunked)
            {
                chunked.Reset();
                var chunkStatus = chunked.Scan(buf.AsSpan(offset), out int consumed);
                await Assert.That(chunkStatus).IsEqualTo(ChunkStatus.Done);
                offset += consumed;
            }
            head.Reset();
        }
        await Assert.That(string.Join(",", paths)).IsEqualTo("/a,/b,/c,/d");
        await Assert.That(offset).IsEqualTo(buf.Length);
    }

    [Test]
    public async Task Gives_the_same_result_for_every_split_point()
    {
        var buf = Bytes("\r\n" + AgentPost.Replace("Host:", "Connection: close\r\nHost:"));
        var whole = new HttpRequestHead();
        Http1Parser.ParseRequestHead(buf, whole, out int wholeLength);
        string expected = Headers(whole, buf);
        for (int split = 0; split <= buf.Length; split++)
        {
            var head = new HttpRequestHead();
            var first = Http1Parser.ParseRequestHead(buf.AsSpan(0, split), head, out _);
            await Assert.That(first).IsEqualTo(split == buf.Length ? ParseStatus.Complete : ParseStatus.NeedMore);
            var second = Http1Parser.ParseRequestHead(buf, head, out int length);
            await Assert.That(second).IsEqualTo(ParseStatus.Complete);
            await Assert.That(length).IsEqualTo(wholeLength);
            await Assert.That(Headers(head, buf)).IsEqualTo(expected);
            await Assert.That(head.KeepAlive).IsFalse();
            await Assert.That(head.ContentLength).IsEqualTo(11L);
        }
    }

    [Test]
    public async Task Reuses_one_head_for_ten_thousand_requests_without_allocating()
    {
        var buf = Bytes(AgentPost.Replace("Host:", "Connection: keep-alive, x-a\r\nX-A: 1\r\nHost:"));
        var head = new HttpRequestHead();
        var dest = new byte[Http1Limits.BufferSize];
        Http1Parser.ParseRequestHead(buf, head, out _);
        HeadWriter.WriteRequestHead(buf, head, dest);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            head.Reset();
            Http1Parser.ParseRequestHead(buf.AsSpan(0, 40), head, out _);
            Http1Parser.ParseRequestHead(buf, head, out _);
            HeadWriter.WriteRequestHead(buf, head, dest);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        await Assert.That(allocated).IsLessThan(1024L);
    }

    // One test per rejection rule.

    [Test]
    public Task Rejects_chunked_body_with_content_length() =>
        AssertRejected("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", RequestRejection.ContentLengthWithTransferEncoding);

    [Test]
    public Task Rejects_content_length_after_transfer_encoding() =>
        AssertRejected("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", RequestRejection.ContentLengthWithTransferEncoding);

    [Test]
    public Task Rejects_differing_duplicate_content_lengths() =>
        AssertRejected("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", RequestRejection.ConflictingContentLength);

    [Test]
    public Task Rejects_a_content_length_list_with_differing_values() =>
        AssertRejected("POST / HTTP/1.1\r\nContent-Length: 2, 3\r\n\r\n", RequestRejection.ConflictingContentLength);

    [Test]
    [Arguments("2x")]
    [Arguments("-1")]
    [Arguments("+2")]
    [Arguments("")]
    [Arguments("2,")]
    [Arguments("0x10")]
    [Arguments("9223372036854775808")]
    [Arguments("99999999999999999999999")]
    public Task Rejects_non_numeric_or_overflowing_content_length(string value) =>
        AssertRejected($"POST / HTTP/1.1\r\nContent-Length: {value}\r\n\r\n", RequestRejection.InvalidContentLength);

    [Test]
    public async Task Accepts_the_largest_content_length()
    {
        var (status, head, _) = ParseRequest("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n");
        await Assert.That(status).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.ContentLength).IsEqualTo(long.MaxValue);
    }

    [Test]
    [Arguments("gzip")]
    [Arguments("chunked, gzip")]
    [Arguments("identity")]
    public Task Rejects_transfer_encoding_whose_final_coding_is_not_chunked(string value) =>
        AssertRejected($"POST / HTTP/1.1\r\nTransfer-Encoding: {value}\r\n\r\n", RequestRejection.ChunkedNotFinal);

    [Test]
    public Task Rejects_chunked_applied_twice() =>
        AssertRejected("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", RequestRejection.ChunkedTwice);

    [Test]
    public Task Rejects_chunked_applied_twice_across_fields() =>
        AssertRejected("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", RequestRejection.ChunkedTwice);

    [Test]
    public Task Answers_422_to_a_coding_before_chunked_like_haproxy() =>
        AssertRejected("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", RequestRejection.UnsupportedTransferCoding, 422);

    [Test]
    [Arguments("")]
    [Arguments("chunked,")]
    [Arguments(", chunked")]
    public Task Rejects_empty_transfer_codings(string value) =>
        AssertRejected($"POST / HTTP/1.1\r\nTransfer-Encoding: {value}\r\n\r\n", RequestRejection.InvalidTransferEncoding);

    [Test]
    public Task Rejects_obs_fold() =>
        AssertRejected("GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", RequestRejection.ObsoleteLineFolding);

    [Test]
    public Task Rejects_obs_fold_with_htab() =>
        AssertRejected("GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n", RequestRejection.ObsoleteLineFolding);

    [Test]
    [Arguments("b\u0001c")]
    [Arguments("b\u0000c")]
    [Arguments("b\rc")]
    [Arguments("b\u007fc")]
    public Task Rejects_control_characters_in_values(string value) =>
        AssertRejected($"GET / HTTP/1.1\r\nX-A: {value}\r\n\r\n", RequestRejection.InvalidHeaderValue);

    [Test]
    public async Task Accepts_htab_and_obs_text_in_values()
    {
        var (status, _, _) = ParseRequest("GET / HTTP/1.1\r\nX-A: b\tc\u00e9\r\n\r\n");
        await Assert.That(status).IsEqualTo(ParseStatus.Complete);
    }

    [Test]
    [Arguments("X\u0001A")]
    [Arguments("X\tA")]
    [Arguments("X A")]
    [Arguments("X\u00e9")]
    [Arguments("X(A)")]
    public Task Rejects_invalid_characters_in_header_names(string name) =>
        AssertRejected($"GET / HTTP/1.1\r\n{name}: b\r\n\r\n", RequestRejection.InvalidHeaderName);

    [Test]
    [Arguments(" ")]
    [Arguments("\t")]
    public Task Rejects_whitespace_between_header_name_and_colon(string ws) =>
        AssertRejected($"POST / HTTP/1.1\r\nTransfer-Encoding{ws}: chunked\r\n\r\n", RequestRejection.WhitespaceBeforeColon);

    [Test]
    public Task Rejects_empty_header_name() =>
        AssertRejected("GET / HTTP/1.1\r\n: b\r\n\r\n", RequestRejection.EmptyHeaderName);

    [Test]
    public Task Rejects_header_line_without_colon() =>
        AssertRejected("GET / HTTP/1.1\r\nfoo\r\n\r\n", RequestRejection.MissingColon);

    [Test]
    [Arguments("G(T")]
    [Arguments("GE\u00e9T")]
    [Arguments("\u0016\u0003\u0001")]
    public Task Rejects_invalid_token_characters_in_method(string method) =>
        AssertRejected($"{method} / HTTP/1.1\r\n\r\n", RequestRejection.InvalidMethod);

    [Test]
    public async Task Rejects_a_tls_client_hello_without_waiting_for_a_line_end()
    {
        var (status, head, _) = ParseRequest("\u0016\u0003\u0001\u0002\u0000\u0001");
        await Assert.That(status).IsEqualTo(ParseStatus.Rejected);
        await Assert.That(head.Rejection).IsEqualTo(RequestRejection.InvalidMethod);
    }

    [Test]
    [Arguments("GET / HTTP/1.1\nHost: a\n\n")]
    [Arguments("GET / HTTP/1.1\r\nHost: a\n\r\n")]
    [Arguments("GET / HTTP/1.1\r\nHost: a\r\n\n")]
    [Arguments("\nGET / HTTP/1.1\r\n\r\n")]
    public Task Rejects_bare_line_feeds(string request) =>
        AssertRejected(request, RequestRejection.BareLineFeed);

    [Test]
    public async Task Rejects_bare_line_feed_before_the_head_is_complete()
    {
        var (status, head, _) = ParseRequest("GET / HTTP/1.1\nHost: a");
        await Assert.That(status).IsEqualTo(ParseStatus.Rejected);
        await Assert.That(head.Rejection).IsEqualTo(RequestRejection.BareLineFeed);
    }

    // Found by `./build.sh fuzz request`: with the first line whole and the head not, the CR that
    // belongs to the method was taken for the line's CRLF and the request was waited for.
    [Test]
    public async Task Rejects_a_carriage_return_ending_the_method_before_the_head_is_complete()
    {
        var (status, head, _) = ParseRequest("GET\r\r\nHost: a\r\n");
        await Assert.That(status).IsEqualTo(ParseStatus.Rejected);
        await Assert.That(head.Rejection).IsEqualTo(RequestRejection.InvalidMethod);
    }

    [Test]
    public Task Rejects_a_lone_carriage_return_in_the_request_line() =>
        AssertRejected("GET / HTTP/1.1\rHost: a\r\n\r\n", RequestRejection.InvalidVersion);

    [Test]
    public async Task Rejects_a_head_larger_than_the_buffer_minus_maxrewrite()
    {
        string start = "GET / HTTP/1.1\r\nX: ";
        await AssertRejected(start + new string('a', Http1Limits.MaxHeadLength - start.Length - 3) + "\r\n\r\n", RequestRejection.HeadTooLarge);
    }

    [Test]
    public async Task Rejects_an_unfinished_head_once_it_fills_the_limit()
    {
        await AssertRejected("GET / HTTP/1.1\r\nX: " + new string('a', Http1Limits.MaxHeadLength), RequestRejection.HeadTooLarge);
        await AssertRejected("GET /" + new string('a', Http1Limits.MaxHeadLength), RequestRejection.HeadTooLarge);
    }

    [Test]
    public Task Rejects_more_than_the_maximum_number_of_headers() =>
        AssertRejected("GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, 101).Select(i => $"X{i}: a\r\n")) + "\r\n", RequestRejection.TooManyHeaders);

    [Test]
    [Arguments("GET / HTTP/2.0")]
    [Arguments("GET / HTTP/3.0")]
    [Arguments("GET / HTTP/0.9")]
    [Arguments("GET /")]
    public Task Rejects_http_versions_other_than_1x(string line) =>
        AssertRejected(line + "\r\n\r\n", RequestRejection.UnsupportedVersion);

    [Test]
    [Arguments("GET / HTTP/1.10")]
    [Arguments("GET / http/1.1")]
    [Arguments("GET / HTTP/1")]
    [Arguments("GET / HTTP/1.1 ")]
    [Arguments("GET / HTTP/1.x")]
    public Task Rejects_malformed_versions(string line) =>
        AssertRejected(line + "\r\n\r\n", RequestRejection.InvalidVersion);

    [Test]
    public Task Rejects_the_http2_preface() =>
        AssertRejected("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", RequestRejection.Http2Preface);

    [Test]
    [Arguments("GET  / HTTP/1.1")]
    [Arguments(" GET / HTTP/1.1")]
    [Arguments("GET")]
    public Task Rejects_request_lines_not_separated_by_single_spaces(string line) =>
        AssertRejected(line + "\r\n\r\n", RequestRejection.InvalidRequestLine);

    [Test]
    [Arguments("/a#b")]
    [Arguments("/a\u00e9")]
    [Arguments("/a\u0001")]
    [Arguments("a.example:443")]
    [Arguments("*")]
    [Arguments("://x/")]
    public Task Rejects_invalid_request_targets(string target) =>
        AssertRejected($"GET {target} HTTP/1.1\r\n\r\n", RequestRejection.InvalidRequestTarget);

    [Test]
    public Task Rejects_connect_with_an_origin_form_target() =>
        AssertRejected("CONNECT /x HTTP/1.1\r\n\r\n", RequestRejection.InvalidRequestTarget);

    [Test]
    public Task Rejects_two_host_fields() =>
        AssertRejected("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", RequestRejection.DuplicateHost);

    [Test]
    [Arguments("GET", "Content-Length: 2")]
    [Arguments("HEAD", "Content-Length: 1")]
    [Arguments("DELETE", "Transfer-Encoding: chunked")]
    public Task Answers_413_to_an_http10_bodyless_method_with_a_payload(string method, string field) =>
        AssertRejected($"{method} / HTTP/1.0\r\n{field}\r\n\r\n", RequestRejection.Http10PayloadOnBodylessMethod, 413);

    [Test]
    public async Task Accepts_an_http10_get_with_zero_content_length()
    {
        await Assert.That(ParseRequest("GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n").Status).IsEqualTo(ParseStatus.Complete);
    }
}
