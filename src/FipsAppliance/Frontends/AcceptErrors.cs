using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Frontends;

/// <summary>
/// accept() failures, reported at a bounded rate. Out of file descriptors (EMFILE/ENFILE) or
/// memory, accept() fails again at every retry; before issue 7 each failure was a line and the
/// retries a tight loop. Now a failing listener retries every <see cref="RetryMilliseconds"/>
/// (connections wait in the backlog meanwhile) and the process says so at most once a second,
/// with the count, then once more when accept() works again.
/// </summary>
internal sealed partial class AcceptErrors(ILogger log, Func<long> now)
{
    public const int RetryMilliseconds = 100;
    private const int ReportEveryMilliseconds = 1000;

    private readonly Lock _gate = new();
    private long? _lastReport;
    private int _sinceReport;
    private int _total;
    private long _firstFailure;

    public AcceptErrors(ILogger log) : this(log, () => Environment.TickCount64) { }

    /// <summary>Failures since the last recovery (for tests and the status line).</summary>
    public int Failing { get { lock (_gate) return _total; } }

    /// <summary>
    /// Errors that concern one connection, not the listener (the client reset it while it waited in
    /// the backlog, a signal interrupted the call): the next accept() is tried at once, silently.
    /// </summary>
    public static bool IsTransient(SocketError e) => e is SocketError.ConnectionAborted or SocketError.ConnectionReset
        or SocketError.Interrupted or SocketError.WouldBlock or SocketError.ProtocolType or SocketError.ProtocolOption
        or SocketError.NetworkDown or SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.TimedOut;

    public void Failed(string frontend, SocketError error, string message)
    {
        int count;
        lock (_gate)
        {
            long t = now();
            if (_total == 0) _firstFailure = t;
            _total++;
            _sinceReport++;
            if (_lastReport is long last && t - last < ReportEveryMilliseconds) return;
            _lastReport = t;
            count = _sinceReport;
            _sinceReport = 0;
        }
        string what = error switch
        {
            SocketError.TooManyOpenSockets => "reached the file descriptor limit",
            SocketError.NoBufferSpaceAvailable => "reached the system memory limit",
            _ => "cannot accept connections",
        };
        LogAcceptFailing(log, frontend, what, message, count, RetryMilliseconds);
    }

    public void Succeeded(string frontend)
    {
        if (Volatile.Read(ref _total) == 0) return;
        int total;
        long seconds;
        lock (_gate)
        {
            if (_total == 0) return;
            total = _total;
            seconds = (now() - _firstFailure) / 1000;
            _total = 0;
            _sinceReport = 0;
            _lastReport = null;
        }
        LogAcceptRecovered(log, frontend, total, seconds);
    }

    public void Crashed(string address, Exception e) => LogLoopCrashed(log, address, e.GetType().Name, e.Message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Listener {Address}: accept loop failed unexpectedly ({Type}: {Message}); accepting again.")]
    private static partial void LogLoopCrashed(ILogger log, string address, string type, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Proxy {Frontend} {What}: accept() failed ({Reason}), {Count} time(s) since the last report; connections wait in the backlog, retrying every {Retry}ms. Check 'ulimit -n' (LimitNOFILE=) and maxconn.")]
    private static partial void LogAcceptFailing(ILogger log, string frontend, string what, string reason, int count, int retry);

    [LoggerMessage(Level = LogLevel.Information, Message = "Proxy {Frontend}: accept() works again after {Count} failure(s) in {Seconds}s.")]
    private static partial void LogAcceptRecovered(ILogger log, string frontend, int count, long seconds);
}
