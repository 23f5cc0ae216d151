using FipsAppliance.Http.Parsing;
using static FipsAppliance.Tests.Http.HttpTestText;

namespace FipsAppliance.Tests.Http;

public class HeadWriterTests
{
    [Test]
    public async Task Removes_hop_by_hop_fields_and_keeps_transfer_encoding()
    {
        var buf = Bytes("POST /api/v2/logs HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Trace\r\nX-Trace: 1\r\nKeep-Alive: 5\r\n" +
            "Proxy-Connection: x\r\nTE: trailers\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\nDD-API-KEY:  k \r\n\r\n");
        var head = new HttpRequestHead();
        Http1Parser.ParseRequestHead(buf, head, out _);
        var dest = new byte[1024];
        int n = HeadWriter.WriteRequestHead(buf, head, dest);
        await Assert.That(Text(dest.AsSpan(0, n))).IsEqualTo(
            "POST /api/v2/logs HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nDD-API-KEY: k\r\n\r\n");
    }

    [Test]
    public async Task Writes_merged_content_length_once()
    {
        var buf = Bytes("POST / HTTP/1.1\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\n");
        var head = new HttpRequestHead();
        Http1Parser.ParseRequestHead(buf, head, out _);
        var dest = new byte[1024];
        int n = HeadWriter.WriteRequestHead(buf, head, dest);
        await Assert.That(Text(dest.AsSpan(0, n))).IsEqualTo("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n");
    }

    [Test]
    public async Task Appends_connection_close_to_a_response()
    {
        var buf = Bytes("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
        var head = new HttpResponseHead();
        Http1Parser.ParseResponseHead(buf, head, out _);
        var dest = new byte[1024];
        int n = HeadWriter.WriteResponseHead(buf, head, dest, ConnectionDirective.Close);
        await Assert.That(Text(dest.AsSpan(0, n))).IsEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
    }

    [Test]
    public async Task Leaves_out_leading_empty_lines()
    {
        var buf = Bytes("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var head = new HttpRequestHead();
        Http1Parser.ParseRequestHead(buf, head, out _);
        var dest = new byte[1024];
        int n = HeadWriter.WriteRequestHead(buf, head, dest);
        await Assert.That(Text(dest.AsSpan(0, n))).IsEqualTo("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    }

    [Test]
    public async Task Returns_minus_one_when_the_destination_is_too_small()
    {
        const string request = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        var buf = Bytes(request);
        var head = new HttpRequestHead();
        Http1Parser.ParseRequestHead(buf, head, out _);
        int needed = "GET / HTTP/1.1\r\nHost: a\r\n\r\n".Length;
        for (int size = 0; size < needed; size++)
        {
            await Assert.That(HeadWriter.WriteRequestHead(buf, head, new byte[size])).IsEqualTo(-1);
        }
        await Assert.That(HeadWriter.WriteRequestHead(buf, head, new byte[needed])).IsEqualTo(needed);
    }
}
