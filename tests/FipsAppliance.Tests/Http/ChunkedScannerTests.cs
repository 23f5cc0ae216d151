using FipsAppliance.Http.Parsing;
using static FipsAppliance.Tests.Http.HttpTestText;

namespace FipsAppliance.Tests.Http;

public class ChunkedScannerTests
{
    private const string Body = "5\r\nhello\r\n1A;name=value;x=\"q\"\r\nabcdefghijklmnopqrstuvwxyz\r\n000\r\nX-Checksum: abc\r\nX-Other:\r\n\r\n";

    private static (ChunkStatus Status, int Consumed, ChunkRejection Rejection) Scan(string body)
    {
        var scanner = new ChunkedScanner();
        var status = scanner.Scan(Bytes(body), out int consumed);
        return (status, consumed, scanner.Rejection);
    }

    private static async Task AssertRejected(string body, ChunkRejection reason)
    {
        var (status, _, rejection) = Scan(body);
        await Assert.That(status).IsEqualTo(ChunkStatus.Rejected);
        await Assert.That(rejection).IsEqualTo(reason);
    }

    [Test]
    public async Task Finds_the_end_of_a_chunked_body_and_leaves_the_next_message()
    {
        var buf = Bytes(Body + "GET /next HTTP/1.1\r\n\r\n");
        var scanner = new ChunkedScanner();
        await Assert.That(scanner.Scan(buf, out int consumed)).IsEqualTo(ChunkStatus.Done);
        await Assert.That(consumed).IsEqualTo(Body.Length);
        await Assert.That(scanner.PayloadLength).IsEqualTo(31L);
    }

    [Test]
    public async Task Gives_the_same_end_for_every_split_point()
    {
        var buf = Bytes(Body + "NEXT");
        for (int split = 0; split <= buf.Length; split++)
        {
            var scanner = new ChunkedScanner();
            var first = scanner.Scan(buf.AsSpan(0, split), out int c1);
            int total = c1;
            var status = first;
            if (first == ChunkStatus.NeedMore)
            {
                await Assert.That(c1).IsEqualTo(split);
                status = scanner.Scan(buf.AsSpan(split), out int c2);
                total += c2;
            }
            await Assert.That(status).IsEqualTo(ChunkStatus.Done);
            await Assert.That(total).IsEqualTo(Body.Length);
        }
    }

    [Test]
    public async Task Gives_the_same_end_one_byte_at_a_time()
    {
        var buf = Bytes(Body);
        var scanner = new ChunkedScanner();
        for (int i = 0; i < buf.Length; i++)
        {
            var status = scanner.Scan(buf.AsSpan(i, 1), out int consumed);
            await Assert.That(consumed).IsEqualTo(1);
            await Assert.That(status).IsEqualTo(i == buf.Length - 1 ? ChunkStatus.Done : ChunkStatus.NeedMore);
        }
    }

    [Test]
    public async Task Can_be_reused_after_reset()
    {
        var scanner = new ChunkedScanner();
        scanner.Scan(Bytes("zz"), out _);
        await Assert.That(scanner.Rejection).IsEqualTo(ChunkRejection.InvalidChunkSize);
        scanner.Reset();
        await Assert.That(scanner.Scan(Bytes("0\r\n\r\n"), out int consumed)).IsEqualTo(ChunkStatus.Done);
        await Assert.That(consumed).IsEqualTo(5);
    }

    [Test]
    public async Task Accepts_whitespace_before_an_extension()
    {
        await Assert.That(Scan("1 ;a=b\r\nx\r\n0\t\r\n\r\n").Status).IsEqualTo(ChunkStatus.Done);
    }

    [Test]
    public Task Rejects_an_empty_chunk_size() => AssertRejected("\r\nabc", ChunkRejection.EmptyChunkSize);

    [Test]
    public Task Rejects_an_extension_without_a_size() => AssertRejected(";a\r\n", ChunkRejection.EmptyChunkSize);

    [Test]
    [Arguments("g\r\n")]
    [Arguments("+5\r\n")]
    [Arguments("-1\r\n")]
    [Arguments("0x5\r\n")]
    [Arguments("5 5\r\n")]
    public Task Rejects_non_hex_chunk_sizes(string line) => AssertRejected(line, ChunkRejection.InvalidChunkSize);

    [Test]
    public Task Rejects_chunk_size_overflow() => AssertRejected("10000000000000000\r\n", ChunkRejection.ChunkSizeOverflow);

    [Test]
    public async Task Accepts_a_large_chunk_size_with_leading_zeros()
    {
        var (status, _, _) = Scan("0000000000000000000FFFFFFFFFFFFFF\r\n");
        await Assert.That(status).IsEqualTo(ChunkStatus.NeedMore);
    }

    [Test]
    public Task Rejects_an_overlong_chunk_extension() =>
        AssertRejected("1;" + new string('a', ChunkedScanner.MaxChunkLineLength) + "\r\n", ChunkRejection.ChunkLineTooLong);

    [Test]
    public Task Rejects_control_characters_in_a_chunk_extension() =>
        AssertRejected("1;a\u0001\r\n", ChunkRejection.InvalidChunkExtension);

    [Test]
    [Arguments("1\nx\r\n0\r\n\r\n")]
    [Arguments("1\rx\r\n")]
    [Arguments("1;a\nx\r\n")]
    [Arguments("0\r\n\n")]
    [Arguments("0\r\nX: a\n\r\n")]
    public Task Rejects_bare_line_feeds_and_lone_carriage_returns(string body) =>
        AssertRejected(body, ChunkRejection.InvalidLineEnding);

    [Test]
    [Arguments("3\r\nabcd\r\n")]
    [Arguments("3\r\nabc\n")]
    [Arguments("3\r\nabc\r\r")]
    public Task Rejects_chunk_data_not_followed_by_crlf(string body) =>
        AssertRejected(body, ChunkRejection.MissingCrlfAfterData);

    [Test]
    [Arguments("0\r\n folded\r\n\r\n")]
    [Arguments("0\r\nNo colon\r\n\r\n")]
    [Arguments("0\r\n:empty\r\n\r\n")]
    [Arguments("0\r\nX: a\u0000b\r\n\r\n")]
    public Task Rejects_trailers_not_shaped_like_header_fields(string body) =>
        AssertRejected(body, ChunkRejection.InvalidTrailer);

    [Test]
    public Task Rejects_trailers_larger_than_the_head_limit() =>
        AssertRejected("0\r\nX: " + new string('a', ChunkedScanner.MaxTrailerLength) + "\r\n\r\n", ChunkRejection.TrailersTooLarge);

    [Test]
    public async Task Reports_the_offset_of_the_offending_byte()
    {
        var (_, consumed, _) = Scan("3\r\nabcX");
        await Assert.That(consumed).IsEqualTo(6);
    }
}
