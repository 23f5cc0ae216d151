using System.Net;
using System.Net.Sockets;
using System.Text;
using FipsAppliance.Configuration;
using FipsAppliance.Logging;
using FipsAppliance.Tests.Configuration;

namespace FipsAppliance.Tests.Lifecycle;

/// <summary>Which `log` lines a frontend's access lines go to, as HAProxy decides it.</summary>
public class AccessLogRoutingTests
{
    private static async Task<List<string>> ReceiveAllAsync(Socket socket, TimeSpan quiet)
    {
        var lines = new List<string>();
        var buffer = new byte[65536];
        while (true)
        {
            using var cts = new CancellationTokenSource(quiet);
            try { lines.Add(Encoding.UTF8.GetString(buffer, 0, await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token))); }
            catch (OperationCanceledException) { return lines; }
        }
    }

    [Test]
    public async Task Log_global_sends_to_globals_targets_own_lines_add_to_them_and_none_means_nowhere()
    {
        using var syslog = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        syslog.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)syslog.LocalEndPoint!).Port;
        using var f = new CfgFixture();
        var config = f.Valid($$"""
            global
                log 127.0.0.1:{{port}} format raw local0
            {{CfgFixture.Head}}
            frontend with-global
                bind 127.0.0.1:1
                log global
                log 127.0.0.1:{{port}} format short local1
                default_backend be
            frontend silent
                bind 127.0.0.1:2
                default_backend be
            frontend notice-only
                bind 127.0.0.1:3
                log 127.0.0.1:{{port}} local0 notice
                default_backend be
            backend be
                server s 127.0.0.1:443
            """);
        var warnings = new List<string>();
        var log = AccessLog.Create(config, _ => throw new InvalidOperationException("no stream target here"), "test", new ListLogger(), warnings);
        await Assert.That(log.Enabled).IsTrue();
        foreach (var frontend in new[] { "with-global", "silent", "notice-only" })
            log.Tcp("127.0.0.1", 5000, DateTime.UtcNow, frontend, "be", "s", 0, 1, 2, 3, "--", 1, 1, 1, 1, 0);
        await log.DisposeAsync();

        var lines = await ReceiveAllAsync(syslog, TimeSpan.FromSeconds(2));
        // with-global: its own line (short, <6>) and global's (raw); silent: nothing; notice-only: info lines filtered.
        await Assert.That(lines.Count).IsEqualTo(2);
        await Assert.That(lines).Contains(l => l.StartsWith("<6>127.0.0.1:5000 [", StringComparison.Ordinal) && l.Contains(" with-global be/s "));
        await Assert.That(lines).Contains(l => l.StartsWith("127.0.0.1:5000 [", StringComparison.Ordinal) && l.EndsWith(" -- 1/1/1/1/0 0/0\n", StringComparison.Ordinal));
        await Assert.That(warnings).IsEmpty();
    }

    /// <summary>A UDP syslog the test reads, and the access log of a frontend logging to it in `format raw`.</summary>
    private static (Socket Syslog, AccessLog Log, CfgFixture Fixture) RawUdpSyslog()
    {
        var syslog = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        syslog.ReceiveBufferSize = 4 << 20;
        syslog.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)syslog.LocalEndPoint!).Port;
        var f = new CfgFixture();
        var config = f.Valid(CfgFixture.Head + $"frontend fe\n    bind 127.0.0.1:1\n    log 127.0.0.1:{port} format raw local0\n    default_backend be\nbackend be\n    server s 127.0.0.1:443\n");
        return (syslog, AccessLog.Create(config, _ => throw new InvalidOperationException(), "test", new ListLogger(), []), f);
    }

    [Test]
    public async Task The_three_line_shapes_are_byte_for_byte_haproxys()
    {
        var (syslog, log, f) = RawUdpSyslog();
        using var _ = syslog;
        using var __ = f;
        var at = new DateTime(2026, 11, 6, 20, 5, 8, 7, DateTimeKind.Utc);
        log.Connect("10.1.2.3", 40412, "127.0.0.1", 9804, "fe", http: true);
        log.Connect("::1", 1, "::1", 9804, "fe", http: false);
        log.Tcp("10.1.2.3", 40412, at, "fe", "be", "s", -1, 2, 345, 6789, "--", 1, 2, 3, 4, 5);
        log.Http("10.1.2.3", 40412, at, "fe", "be", "s", 0, 1, 2, -1, 300, 202, 1234, "----", 9, 8, 7, 6, 0, "POST /api/v2/series HTTP/1.1");
        await log.DisposeAsync();

        var lines = await ReceiveAllAsync(syslog, TimeSpan.FromSeconds(2));
        await Assert.That(string.Concat(lines)).IsEqualTo(
            "Connect from 10.1.2.3:40412 to 127.0.0.1:9804 (fe/HTTP)\n" +
            "Connect from ::1:1 to ::1:9804 (fe/TCP)\n" +
            "10.1.2.3:40412 [06/Nov/2026:20:05:08.007] fe be/s -1/2/345 6789 -- 1/2/3/4/5 0/0\n" +
            "10.1.2.3:40412 [06/Nov/2026:20:05:08.007] fe be/s 0/1/2/-1/300 202 1234 - - ---- 9/8/7/6/0 0/0 \"POST /api/v2/series HTTP/1.1\"\n");
        await Assert.That(lines.Count).IsEqualTo(4);
    }

    [Test]
    public async Task Lines_posted_quickly_reach_a_udp_syslog_complete_in_order_one_datagram_each()
    {
        var (syslog, log, f) = RawUdpSyslog();
        using var _ = syslog;
        using var __ = f;
        const int Count = 3000;
        // Read while the writer sends, at 25k lines/s (a busy relay): its batches of ~250 lines go out
        // in sendmmsg calls of up to 64, and the receive buffer holds a few batches, not all 3000.
        var received = ReceiveAllAsync(syslog, TimeSpan.FromSeconds(2));
        for (int i = 0; i < Count; i++)
        {
            log.Connect("10.0.0.1", i, "127.0.0.1", 9804, "fe", http: true);
            if (i % 250 == 249) await Task.Delay(10);
        }
        await log.DisposeAsync();

        var lines = await received;
        await Assert.That(lines.Count).IsEqualTo(Count);
        for (int i = 0; i < Count; i++)
            await Assert.That(lines[i]).IsEqualTo($"Connect from 10.0.0.1:{i} to 127.0.0.1:9804 (fe/HTTP)\n");
    }

    /// <summary>A target whose first send throws (a bug, an fd limit); it keeps what it gets after.</summary>
    private sealed class ThrowsOnceSink() : LogSink("stdout")
    {
        private int _sends;
        public readonly List<string> Lines = [];

        public override void Send(ReadOnlySpan<byte> frame)
        {
            if (Interlocked.Increment(ref _sends) == 1) throw new InvalidOperationException("first send fails");
            lock (Lines) Lines.Add(Encoding.UTF8.GetString(frame));
        }

        public override void Dispose() { }
    }

    [Test]
    public async Task A_target_that_throws_once_loses_that_line_not_the_access_log()
    {
        using var f = new CfgFixture();
        var config = f.Valid(CfgFixture.Head + "frontend fe\n    bind 127.0.0.1:1\n    log stdout format raw local0\n    default_backend be\nbackend be\n    server s 127.0.0.1:443\n");
        var sink = new ThrowsOnceSink();
        var lifecycle = new ListLogger();
        var log = AccessLog.Create(config, _ => sink, "test", lifecycle, []);
        log.Tcp("127.0.0.1", 5001, DateTime.UtcNow, "fe", "be", "s", 0, 1, 2, 3, "--", 1, 1, 1, 1, 0);
        log.Tcp("127.0.0.1", 5002, DateTime.UtcNow, "fe", "be", "s", 0, 1, 2, 3, "--", 1, 1, 1, 1, 0);
        log.Tcp("127.0.0.1", 5003, DateTime.UtcNow, "fe", "be", "s", 0, 1, 2, 3, "--", 1, 1, 1, 1, 0);
        await log.DisposeAsync();

        await Assert.That(sink.Lines.Count).IsEqualTo(2);
        await Assert.That(sink.Lines[1]).StartsWith("127.0.0.1:5003 [");
        var said = lifecycle.Entries.Where(e => e.Message.Contains("Access log: a line could not be written", StringComparison.Ordinal)).ToList();
        await Assert.That(said.Count).IsEqualTo(1);
        await Assert.That(said[0].Message).Contains("InvalidOperationException: first send fails");
    }

    /// <summary>A stdout nobody reads: every write waits until the test lets go.</summary>
    private sealed class StuckStream : Stream
    {
        public readonly ManualResetEventSlim Released = new();
        public override void Write(byte[] buffer, int offset, int count) => Released.Wait();
        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Test]
    public async Task Stdout_drops_are_reported_once_by_the_process_not_by_every_live_model()
    {
        using var f = new CfgFixture();
        var config = f.Valid(CfgFixture.Head + "frontend fe\n    bind 127.0.0.1:1\n    log stdout format raw local0\n    default_backend be\nbackend be\n    server s 127.0.0.1:443\n");
        var stdout = new StuckStream();
        var lifecycle = new ListLogger();
        using var process = new FipsAppliance.Runtime.ProcessContext(lifecycle, 100, _ => stdout);
        try
        {
            // Two live models (a reload in progress) writing through the process's one stdout writer.
            var old = AccessLog.Create(config, process.Stream, "test", lifecycle, []);
            var current = AccessLog.Create(config, process.Stream, "test", lifecycle, []);
            for (int i = 0; i < 4000; i++)
                old.Tcp("127.0.0.1", 5000, DateTime.UtcNow, "fe", "be", "s", 0, 1, 2, 3, "--", 1, 1, 1, 1, 0);
            current.Tcp("127.0.0.1", 5001, DateTime.UtcNow, "fe", "be", "s", 0, 1, 2, 3, "--", 1, 1, 1, 1, 0);
            await old.DisposeAsync();
            await current.DisposeAsync();
            process.ReportStreamDrops(force: true);

            var said = lifecycle.Entries.Where(e => e.Message.StartsWith("log target stdout: ", StringComparison.Ordinal)).ToList();
            await Assert.That(said.Count).IsEqualTo(1);
            await Assert.That(said[0].Message).Contains("access line(s) dropped: the reader does not keep up");
        }
        finally
        {
            stdout.Released.Set();
        }
    }

    [Test]
    public async Task A_cfg_without_log_lines_logs_nowhere()
    {
        using var f = new CfgFixture();
        var config = f.Valid(CfgFixture.Head + "frontend fe\n    bind 127.0.0.1:1\n    option tcplog\n    default_backend be\nbackend be\n    server s 127.0.0.1:443\n");
        await using var log = AccessLog.Create(config, _ => throw new InvalidOperationException(), "test", new ListLogger(), []);
        await Assert.That(log.Enabled).IsFalse();
    }
}
