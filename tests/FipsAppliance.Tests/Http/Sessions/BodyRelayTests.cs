using System.Text;
using FipsAppliance.Http;
using FipsAppliance.Http.Parsing;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>The one body relay, both directions, without sockets.</summary>
public class BodyRelayTests
{
    private sealed class Input(string bytes, params string[] more) : HttpInput
    {
        private readonly Queue<string> _more = new(more);
        public Input Start(RelayBufferPool pool)
        {
            EnsureBuffer(pool);
            Encoding.Latin1.GetBytes(bytes).CopyTo(Buffer!, 0);
            SetLength(bytes.Length);
            return this;
        }
        protected override ValueTask<int> ReadAsync(Memory<byte> destination)
        {
            if (!_more.TryDequeue(out var next)) return ValueTask.FromResult(0);
            return ValueTask.FromResult(Encoding.Latin1.GetBytes(next, destination.Span));
        }
    }

    private sealed class Output : IHttpOutput
    {
        public List<string> Writes { get; } = [];
        public ValueTask WriteAsync(ReadOnlyMemory<byte> data)
        {
            Writes.Add(Encoding.Latin1.GetString(data.Span));
            return ValueTask.CompletedTask;
        }
    }

    private sealed class NoWaits : IWaits
    {
        public bool Waiting(Wait wait) => true;
    }

    [Test]
    public async Task Sends_a_rewritten_head_and_the_body_already_read_in_one_write()
    {
        var pool = new RelayBufferPool();
        const string message = "POST /x HTTP/1.1\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello";
        var input = new Input(message).Start(pool);
        var head = new HttpRequestHead();
        await Assert.That(Http1Parser.ParseRequestHead(input.Span, head, out _)).IsEqualTo(ParseStatus.Complete);
        await Assert.That(head.HasHopByHop).IsTrue();
        var scratch = pool.Rent();
        int n = HeadWriter.WriteRequestHead(input.Span, head, scratch);
        var output = new Output();

        var result = await new BodyRelay().RelayAsync(input, output, HeadToSend.Rewrite(head.HeadEnd, scratch, n),
            BodyFraming.ContentLength, 5, Wait.ClientRead, Wait.ServerWrite, new NoWaits());

        await Assert.That(result).IsEqualTo(RelayResult.Done);
        await Assert.That(output.Writes.Count).IsEqualTo(1);
        await Assert.That(output.Writes[0]).IsEqualTo("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    }

    [Test]
    public async Task Relays_chunks_as_they_come_and_keeps_what_follows_the_message()
    {
        var pool = new RelayBufferPool();
        var input = new Input("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc", "\r\n0\r\n\r\nGET /next").Start(pool);
        var output = new Output();
        int headEnd = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".Length;

        var result = await new BodyRelay().RelayAsync(input, output, HeadToSend.InPlace(0, headEnd), BodyFraming.Chunked, -1,
            Wait.ServerRead, Wait.ClientWrite, new NoWaits());

        await Assert.That(result).IsEqualTo(RelayResult.Done);
        await Assert.That(output.Writes).IsEquivalentTo(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc", "\r\n0\r\n\r\n"]);
        await Assert.That(Encoding.Latin1.GetString(input.Span)).IsEqualTo("GET /next");
    }

    [Test]
    public async Task Stops_at_a_bad_chunk_without_passing_it_on()
    {
        var pool = new RelayBufferPool();
        var input = new Input("3\r\nabc\r\nzz\r\n").Start(pool);
        var output = new Output();
        var result = await new BodyRelay().RelayAsync(input, output, HeadToSend.InPlace(0, 0), BodyFraming.Chunked, -1,
            Wait.ClientRead, Wait.ServerWrite, new NoWaits());
        await Assert.That(result).IsEqualTo(RelayResult.BadChunk);
        await Assert.That(string.Concat(output.Writes)).DoesNotContain("zz");
    }

    [Test]
    public async Task Reports_an_input_that_ends_before_its_content_length()
    {
        var pool = new RelayBufferPool();
        var input = new Input("abc").Start(pool);
        var result = await new BodyRelay().RelayAsync(input, new Output(), HeadToSend.InPlace(0, 0), BodyFraming.ContentLength, 10,
            Wait.ServerRead, Wait.ClientWrite, new NoWaits());
        await Assert.That(result).IsEqualTo(RelayResult.InputEnded);
    }

    [Test]
    public async Task Writes_a_full_buffer_of_body_in_parts_of_at_most_a_record_and_its_end_without_waiting()
    {
        var pool = new RelayBufferPool();
        // A body continuing past a whole buffer: a full 16 KiB read, then the rest (which ends the body).
        var first = new string('a', RelayBufferPool.BufferSize);
        var rest = new string('b', 1000);
        var input = new Input(first, rest).Start(pool);
        var output = new Output();
        var result = await new BodyRelay().RelayAsync(input, output, HeadToSend.InPlace(0, 0), BodyFraming.ContentLength,
            first.Length + rest.Length, Wait.ClientRead, Wait.ServerWrite, new NoWaits());
        await Assert.That(result).IsEqualTo(RelayResult.Done);
        await Assert.That(string.Concat(output.Writes)).IsEqualTo(first + rest);
        await Assert.That(output.Writes.Max(w => w.Length)).IsLessThanOrEqualTo(BodyRelay.MaxBodyWrite);

        // The body's end already buffered behind a cut write: written at once (no more input comes).
        var body = new string('c', RelayBufferPool.BufferSize - 10);
        input = new Input(body + "GET /next!").Start(pool);
        output = new Output();
        result = await new BodyRelay().RelayAsync(input, output, HeadToSend.InPlace(0, 0), BodyFraming.ContentLength,
            body.Length, Wait.ClientRead, Wait.ServerWrite, new NoWaits());
        await Assert.That(result).IsEqualTo(RelayResult.Done);
        await Assert.That(string.Concat(output.Writes)).IsEqualTo(body);
        await Assert.That(Encoding.Latin1.GetString(input.Span)).IsEqualTo("GET /next!");
    }
}
