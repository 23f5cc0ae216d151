using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FipsAppliance.Logging;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Lifecycle;

/// <summary>A log destination that stops reading costs lines, never time or memory of the caller.</summary>
public class LogSinkTests
{
    private static readonly byte[] Line = System.Text.Encoding.ASCII.GetBytes(new string('x', 300) + "\n");

    [Test]
    public async Task A_unix_socket_nobody_reads_drops_lines_without_blocking()
    {
        using var dir = new TempDir();
        var path = dir.Combine("log");
        using var stuck = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        stuck.Bind(new UnixDomainSocketEndPoint(path));   // bound, never read
        using var sink = new DatagramSink(path, new UnixDomainSocketEndPoint(path));

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 20_000; i++) sink.Send(Line);
        sink.EndBatch();
        clock.Stop();

        await Assert.That(sink.Dropped).IsGreaterThan(0);
        await Assert.That(sink.LastError!).Contains("does not keep up");
        // A blocking send would never return here; 20k non-blocking sends take milliseconds.
        await Assert.That(clock.Elapsed).IsLessThan(TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task A_missing_unix_socket_drops_lines_and_connects_once_it_exists()
    {
        using var dir = new TempDir();
        var path = dir.Combine("log");
        using var sink = new DatagramSink(path, new UnixDomainSocketEndPoint(path));
        sink.Send(Line);
        sink.EndBatch();
        await Assert.That(sink.Dropped).IsEqualTo(1);

        using var syslog = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        syslog.Bind(new UnixDomainSocketEndPoint(path));
        // Reconnection is tried at most once a second.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var buffer = new byte[1024];
        while (DateTime.UtcNow < deadline && syslog.Available == 0)
        {
            sink.Send(Line);
            sink.EndBatch();
            await Task.Delay(100);
        }
        await Assert.That(syslog.Available).IsGreaterThan(0);
        int n = syslog.Receive(buffer);
        await Assert.That(n).IsEqualTo(Line.Length);
    }

    [Test]
    public async Task A_udp_target_gets_one_datagram_per_line()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sink = new DatagramSink("udp", receiver.LocalEndPoint!);
        sink.Send(Line);
        sink.Send(Line);
        sink.EndBatch();
        var buffer = new byte[4096];
        receiver.ReceiveTimeout = 5000;
        await Assert.That(receiver.Receive(buffer)).IsEqualTo(Line.Length);
        await Assert.That(receiver.Receive(buffer)).IsEqualTo(Line.Length);
        await Assert.That(sink.Dropped).IsEqualTo(0);
    }

    /// <summary>Distinct lines of <paramref name="length"/> bytes: "line 17 xxxx...\n".</summary>
    private static byte[][] Lines(int count, int length) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var text = $"line {i} ";
            return System.Text.Encoding.ASCII.GetBytes(text + new string('x', length - text.Length - 1) + "\n");
        })];

    private static Socket UdpReceiver()
    {
        var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.ReceiveBufferSize = 4 << 20;   // capped by net.core.rmem_max; the tests send less than the default holds
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        receiver.ReceiveTimeout = 5000;
        return receiver;
    }

    [Test]
    public async Task A_batch_larger_than_one_sendmmsg_arrives_complete_in_order_one_datagram_per_line()
    {
        using var receiver = UdpReceiver();
        using var sink = new DatagramSink("udp", receiver.LocalEndPoint!);
        // 150 lines: three sendmmsg calls of at most 64.
        var lines = Lines(3 * DatagramSink.MaxMessages - 42, 200);
        foreach (var line in lines) sink.Send(line);
        sink.EndBatch();

        var buffer = new byte[65536];
        foreach (var line in lines)
        {
            int n = receiver.Receive(buffer);
            await Assert.That(buffer.AsSpan(0, n).SequenceEqual(line)).IsTrue().Because(System.Text.Encoding.ASCII.GetString(line, 0, 12));
        }
        await Assert.That(receiver.Available).IsEqualTo(0);
        await Assert.That(sink.Dropped).IsEqualTo(0);
    }

    [Test]
    public async Task Lines_too_large_to_wait_together_still_arrive_whole_and_in_order()
    {
        using var receiver = UdpReceiver();
        using var sink = new DatagramSink("udp", receiver.LocalEndPoint!);
        // `len 65000`: a few such frames fill the sink's area before the batch ends; small ones between them.
        var large = Lines(5, 60_000);
        var small = Lines(5, 100);
        var lines = large.Zip(small).SelectMany(p => new[] { p.First, p.Second }).ToArray();
        var buffer = new byte[65536];
        // Received as sent, so the receive buffer never holds more than one large line.
        foreach (var line in lines)
        {
            sink.Send(line);
            sink.EndBatch();
            int n = receiver.Receive(buffer);
            await Assert.That(buffer.AsSpan(0, n).SequenceEqual(line)).IsTrue();
        }
        // And all at once: two large lines then a third that does not fit send the waiting ones early.
        foreach (var line in large.Take(3)) sink.Send(line);
        for (int i = 0; i < 2; i++)
        {
            int n = receiver.Receive(buffer);
            await Assert.That(buffer.AsSpan(0, n).SequenceEqual(large[i])).IsTrue();
        }
        sink.EndBatch();
        int last = receiver.Receive(buffer);
        await Assert.That(buffer.AsSpan(0, last).SequenceEqual(large[2])).IsTrue();
        await Assert.That(sink.Dropped).IsEqualTo(0);
    }

    [Test]
    public async Task A_udp_target_that_refuses_drops_the_batch_and_pauses_a_second()
    {
        // A port nothing listens on: each datagram sent there earns an ICMP port unreachable.
        int port = Ports.ClosedUdp();
        using var sink = new DatagramSink("udp", new IPEndPoint(IPAddress.Loopback, port));
        var lines = Lines(200, 100);
        foreach (var line in lines) sink.Send(line);
        sink.EndBatch();

        // The first line goes out and is refused; the refusal is seen within the next two lines (sendmmsg
        // loses the error of the line it stops at, see DatagramSink), the rest of the batch is dropped.
        await Assert.That(sink.Dropped).IsGreaterThanOrEqualTo(lines.Length - 2);
        await Assert.That(sink.Dropped).IsLessThan(lines.Length);
        await Assert.That(sink.LastError!).Contains("connection refused");

        // Within the second after a refusal nothing is sent: every line is dropped, none tries the socket.
        long before = sink.Dropped;
        foreach (var line in lines) sink.Send(line);
        sink.EndBatch();
        await Assert.That(sink.Dropped - before).IsEqualTo(lines.Length);
    }

    [Test]
    public async Task A_stream_nobody_reads_fills_its_ring_then_drops()
    {
        var pipe = new BlockingStream();
        using var sink = new StreamSink("stdout", pipe);
        var clock = Stopwatch.StartNew();
        int lines = 2 * StreamSink.Capacity / Line.Length;
        for (int i = 0; i < lines; i++) sink.Send(Line);
        clock.Stop();

        // The writer thread is stuck in Write; the caller is not, and what it sent beyond the ring was dropped.
        await Assert.That(clock.Elapsed).IsLessThan(TimeSpan.FromSeconds(5));
        await Assert.That(sink.Dropped).IsGreaterThanOrEqualTo(lines / 2 - 2);
        pipe.Release();
    }

    /// <summary>A stream whose Write blocks until released: stdout into a pipe nobody reads.</summary>
    private sealed class BlockingStream : Stream
    {
        private readonly ManualResetEventSlim _released = new();
        public void Release() => _released.Set();
        public override void Write(byte[] buffer, int offset, int count) => _released.Wait(TimeSpan.FromSeconds(30));
        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => 0;
        public override long Position { get; set; }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
