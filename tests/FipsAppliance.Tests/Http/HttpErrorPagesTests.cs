using System.Text;
using FipsAppliance.Http.Parsing;
using static FipsAppliance.Tests.Http.HttpTestText;

namespace FipsAppliance.Tests.Http;

public class HttpErrorPagesTests
{
    public static IEnumerable<(int Status, bool Closing)> AllPages()
    {
        foreach (int status in new[] { 400, 408, 413, 422, 500, 502, 503, 504 })
        {
            yield return (status, false);
            yield return (status, true);
        }
    }

    [Test]
    [MethodDataSource(nameof(AllPages))]
    public async Task Error_page_is_a_well_formed_response_whose_content_length_matches_its_body(int status, bool closing)
    {
        var page = HttpErrorPages.ForStatus(status, closing)!;
        var head = new HttpResponseHead();
        await Assert.That(Http1Parser.ParseResponseHead(page, head, out int headLength)).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.StatusCode).IsEqualTo(status);
        await Assert.That(head.ContentLength).IsEqualTo((long)(page.Length - headLength));
        string body = Text(page.AsSpan(headLength));
        await Assert.That(body).StartsWith($"<html><body><h1>{status} ");
        await Assert.That(body).EndsWith("\n</body></html>\n");
        await Assert.That(head.IndexOfHeader(page, "cache-control"u8)).IsGreaterThanOrEqualTo(0);
    }

    [Test]
    public async Task Bad_request_page_matches_haproxy_byte_for_byte()
    {
        await Assert.That(Encoding.Latin1.GetString(HttpErrorPages.BadRequest400)).IsEqualTo(
            "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n" +
            "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n");
    }

    [Test]
    public async Task Service_unavailable_page_matches_haproxy_byte_for_byte()
    {
        await Assert.That(Encoding.Latin1.GetString(HttpErrorPages.ServiceUnavailable503)).IsEqualTo(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n" +
            "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n");
    }

    [Test]
    public async Task Closing_variants_announce_connection_close()
    {
        foreach (int status in new[] { 500, 502, 503, 504 })
        {
            var page = HttpErrorPages.ForStatus(status, closing: true)!;
            var head = new HttpResponseHead();
            Http1Parser.ParseResponseHead(page, head, out _);
            await Assert.That(head.KeepAlive).IsFalse();
        }
    }

    [Test]
    public async Task Maps_every_request_rejection_to_a_page_with_its_status()
    {
        foreach (var rejection in Enum.GetValues<RequestRejection>())
        {
            var page = HttpErrorPages.For(rejection);
            int status = HttpErrorPages.StatusFor(rejection);
            await Assert.That(Text(page.AsSpan(0, 12))).IsEqualTo($"HTTP/1.1 {status}");
        }
    }
}
