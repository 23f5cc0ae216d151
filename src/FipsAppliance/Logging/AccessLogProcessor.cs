using System.Buffers;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ZLogger;

namespace FipsAppliance.Logging;

/// <summary>One `log` line of the cfg as a destination of access lines.</summary>
internal sealed record LogDestination(LogSink Sink, SyslogFormat Format, int Facility, int MaxLevel, int MinLevel, int MaxLength)
{
    /// <summary>The level a line of <paramref name="level"/> is sent with, or -1 when this target does not take it (HAProxy: `level`, `minlevel`).</summary>
    public int LevelFor(int level) => level > MaxLevel ? -1 : Math.Max(level, MinLevel);
}

/// <summary>
/// The ZLogger processor of one model's access log: sessions post entries (ZLogger has already
/// captured the values without formatting), one writer task formats each line once and frames it
/// for every destination of its frontend; when the queue is empty the batch ends and each target
/// sends what it kept (a datagram target: one sendmmsg per 64 lines). The queue in front is
/// bounded: when the writer falls behind, new lines are dropped and counted instead of growing
/// memory or slowing the sessions (HAProxy drops the same way). Drops are reported on stderr, the first at once, then at most
/// once a minute per destination (stdout and stderr by the process, see ProcessContext).
/// </summary>
internal sealed partial class AccessLogProcessor : IAsyncLogProcessor
{
    /// <summary>Lines waiting to be written; a few seconds of a busy appliance.</summary>
    public const int QueueCapacity = 8192;
    private const long ReportEveryMilliseconds = 60_000;
    /// <summary>How long the writer gathers lines after a batch before it looks again.</summary>
    private const int BatchMilliseconds = 10;

    private readonly Channel<IZLoggerEntry> _queue = Channel.CreateBounded<IZLoggerEntry>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Dictionary<string, LogDestination[]> _byFrontend;
    private readonly LogSink[] _sinks;
    private readonly SinkDropReports _sinkReports;
    private readonly IZLoggerFormatter _formatter;
    private readonly ILogger _log;
    private readonly byte[] _tag;
    /// <summary>`log-send-hostname`; empty when not set.</summary>
    private readonly byte[] _hostname;
    private readonly byte[] _pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    private readonly Task _writer;
    private long _queueDropped, _queueReported;
    private long _failed, _failedReported;
    private long _lastFailureReport;
    private long _lastQueueReport = long.MinValue / 2;   // half: "now - it" must not overflow

    public AccessLogProcessor(Dictionary<string, LogDestination[]> byFrontend, IZLoggerFormatter formatter, string tag, string? hostname, ILogger log)
    {
        _byFrontend = byFrontend;
        _sinks = [.. byFrontend.Values.SelectMany(d => d).Select(d => d.Sink).Distinct()];
        _formatter = formatter;
        _tag = Encoding.UTF8.GetBytes(tag);
        _hostname = Encoding.UTF8.GetBytes(hostname ?? "");
        _log = log;
        _sinkReports = new SinkDropReports(log);
        _writer = StartWriter();
    }

    public long QueueDropped => Volatile.Read(ref _queueDropped);
    /// <summary>Lines (or copies of a line for one target) lost because writing them threw.</summary>
    public long Failures => Volatile.Read(ref _failed);

    public void Post(IZLoggerEntry log)
    {
        if (_queue.Writer.TryWrite(log)) return;
        log.Return();
        Interlocked.Increment(ref _queueDropped);
    }

    /// <summary>
    /// The writer on a thread of its own, which sleeps between batches. On the thread pool (a task
    /// awaiting Task.Delay) every batch went timer thread -> pool worker, and the worker then spun
    /// before sleeping again: ~3 % of the relay's CPU in sched_yield at 20k requests/s with a line
    /// per request (perf; with inline socket completions the pool has little else to do). Without
    /// spinning (ThreadPool UnfairSemaphoreSpinLimit=0) workers were woken twice as often: worse.
    /// </summary>
    private Task StartWriter()
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try { WriteLoop(); }
            finally { ended.SetResult(); }
        })
        {
            IsBackground = true,
            Name = "Access log",
        };
        thread.Start();
        return ended.Task;
    }

    private void WriteLoop()
    {
        var message = new ArrayBufferWriter<byte>(2048);
        var frame = new byte[64 * 1024 + 1];
        var reader = _queue.Reader;
        while (WaitToRead(reader))
        {
            while (reader.TryRead(out var entry))
            {
                LogDestination[]? destinations;
                try
                {
                    _byFrontend.TryGetValue(entry.LogInfo.Category.Name, out destinations);
                    message.ResetWrittenCount();
                    entry.FormatUtf8(message, _formatter);
                }
                catch (Exception e)
                {
                    Failed(e);
                    continue;
                }
                finally
                {
                    entry.Return();
                }
                if (destinations is null) continue;
                var now = DateTimeOffset.Now;
                foreach (var d in destinations)
                {
                    int level = d.LevelFor(SyslogFrame.Info);
                    if (level < 0) continue;
                    // One line that cannot be framed or sent must not end the model's access log.
                    try
                    {
                        int n = SyslogFrame.Write(frame, d.Format, d.Facility, level, now, _tag, _pid, message.WrittenSpan, d.MaxLength, _hostname);
                        d.Sink.Send(frame.AsSpan(0, n));
                    }
                    catch (Exception e)
                    {
                        Failed(e);
                    }
                }
            }
            foreach (var sink in _sinks)
            {
                try { sink.EndBatch(); }
                catch (Exception e) { Failed(e); }
            }
            ReportDrops();
            // Gather lines before waking again (issue 9). Without this pause the writer sleeps after
            // every line and the next Post wakes it through the thread pool. With an access line per
            // request (1 KiB, 64 connections, perf stat) that cost 0.43-0.59 context switches and
            // 0.32-0.52 sched_yield per request and 16 threads; with the pause 0.29 and 0.10-0.14,
            // 12-13 threads (HAProxy: 0.26). A line waits at most this long; the queue holds 8192,
            // far more than a pause's worth at any rate the relay reaches. Idle costs nothing: the
            // pause is taken only after lines came.
            Thread.Sleep(BatchMilliseconds);
        }
        ReportDrops(force: true);
    }

    /// <summary>Blocks this writer's thread until lines wait (true) or the queue is completed (false).</summary>
    private static bool WaitToRead(ChannelReader<IZLoggerEntry> reader)
    {
        var wait = reader.WaitToReadAsync();
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>A line lost to a bug (formatter, framing, a sink that threw): counted, the first said at once with its cause.</summary>
    private void Failed(Exception e)
    {
        if (Interlocked.Increment(ref _failed) != 1) return;
        LogWriteFailed(_log, e.GetType().Name, e.Message);
        _failedReported = 1;
        _lastFailureReport = Environment.TickCount64;
    }

    private void ReportDrops(bool force = false)
    {
        long now = Environment.TickCount64;
        long queued = QueueDropped;
        if (queued > _queueReported && (force || now - _lastQueueReport >= ReportEveryMilliseconds))
        {
            LogQueueDropped(_log, queued - _queueReported, QueueCapacity);
            _queueReported = queued;
            _lastQueueReport = now;
        }
        long failed = Failures;
        if (failed > _failedReported && (force || now - _lastFailureReport >= ReportEveryMilliseconds))
        {
            LogWritesFailed(_log, failed - _failedReported);
            _failedReported = failed;
            _lastFailureReport = now;
        }
        foreach (var sink in _sinks)
        {
            // stdout/stderr are the process's, written by every live model: it reports them, once.
            if (sink is not StreamSink) _sinkReports.Report(sink, now, force);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        // Bounded: a writer stuck on a sink must not hold a reload or a stop.
        await _writer.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Access log: {Count} line(s) dropped, the log writer fell behind ({Capacity} lines waiting).")]
    private static partial void LogQueueDropped(ILogger log, long count, int capacity);

    [LoggerMessage(Level = LogLevel.Error, Message = "Access log: a line could not be written ({Type}: {Message}); it is dropped and the log goes on.")]
    private static partial void LogWriteFailed(ILogger log, string type, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Access log: {Count} more line(s) dropped, writing them failed (see the first error above).")]
    private static partial void LogWritesFailed(ILogger log, long count);

}
