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
        await Assert.That(sink.Dropped).IsEqualTo(1);

        using var syslog = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        syslog.Bind(new UnixDomainSocketEndPoint(path));
        // Reconnection is tried at most once a second.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var buffer = new byte[1024];
        while (DateTime.UtcNow < deadline && syslog.Available == 0)
        {
            sink.Send(Line);
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
        var buffer = new byte[4096];
        receiver.ReceiveTimeout = 5000;
        await Assert.That(receiver.Receive(buffer)).IsEqualTo(Line.Length);
        await Assert.That(receiver.Receive(buffer)).IsEqualTo(Line.Length);
        await Assert.That(sink.Dropped).IsEqualTo(0);
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
