using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Lifecycle;

/// <summary>
/// Keeps systemd informed while the daemon runs: `WATCHDOG=1` at half of `WATCHDOG_USEC`, and
/// `STATUS=` when the status line changed. The ping is sent only after a probe went through the
/// same machinery that runs the sessions: a datagram on a loopback socket wakes a pending receive
/// through the socket engine's event thread, and its continuation then queues a work item on the
/// thread pool. A timer alone would keep ticking while the relay is stuck (event thread blocked,
/// pool starved); then the probe does not come back, no ping is sent, and systemd restarts the
/// service after WatchdogSec, which is the point of having one.
/// </summary>
internal sealed partial class Watchdog : IDisposable
{
    public const string IntervalVariable = "WATCHDOG_USEC";
    public const string PidVariable = "WATCHDOG_PID";
    private static readonly TimeSpan StatusEvery = TimeSpan.FromSeconds(5);

    private readonly SystemdNotifier _notifier;
    private readonly TimeSpan? _watchdogInterval;
    private readonly Func<string> _status;
    private readonly ILogger _log;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Socket _probe;
    private readonly byte[] _probeIn = new byte[1];
    private Task? _pendingProbe;
    private string? _lastStatus;
    private long _lastProbeWarning = long.MinValue / 2;   // half: "now - it" must not overflow

    public Watchdog(SystemdNotifier notifier, TimeSpan? watchdogInterval, Func<string> status, ILogger log)
    {
        _notifier = notifier;
        _watchdogInterval = watchdogInterval;
        _status = status;
        _log = log;
        _probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _probe.Connect(_probe.LocalEndPoint!);
        _thread = new Thread(Loop) { IsBackground = true, Name = "sd_notify" };
    }

    /// <summary>
    /// The watchdog interval systemd asked for, or null: `WATCHDOG_USEC` when `WATCHDOG_PID` is
    /// unset or names this process (sd_watchdog_enabled's rule).
    /// </summary>
    public static TimeSpan? IntervalFromEnvironment()
    {
        if (Environment.GetEnvironmentVariable(PidVariable) is { Length: > 0 } pid
            && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture)) return null;
        if (Environment.GetEnvironmentVariable(IntervalVariable) is not { Length: > 0 } text
            || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long usec) || usec <= 0) return null;
        return TimeSpan.FromMicroseconds(usec);
    }

    public void Start() => _thread.Start();

    private void Loop()
    {
        // systemd wants a ping at least every WATCHDOG_USEC: one at each half leaves room for a
        // slow probe. The STATUS line is refreshed every 5 s, or at each ping if those come faster.
        var half = _watchdogInterval is { } w ? TimeSpan.FromTicks(w.Ticks / 2) : (TimeSpan?)null;
        var period = half is { } h && h < StatusEvery ? h : StatusEvery;
        long lastPing = Environment.TickCount64;
        while (!_stop.Wait(period))
        {
            if (half is { } interval && Environment.TickCount64 - lastPing >= (long)interval.TotalMilliseconds - (long)period.TotalMilliseconds / 2)
            {
                if (Probe(interval))
                {
                    _notifier.Watchdog();
                    lastPing = Environment.TickCount64;
                }
                else WarnProbe(interval);
            }
            SendStatusIfChanged();
        }
    }

    /// <summary>A STATUS= the daemon sent itself (with READY=1, RELOADING=1): not worth repeating.</summary>
    public void Sent(string status) => Volatile.Write(ref _lastStatus, status);

    public void SendStatusIfChanged()
    {
        string status = _status();
        if (status == Volatile.Read(ref _lastStatus)) return;
        Volatile.Write(ref _lastStatus, status);
        _notifier.Status(status);
    }

    /// <summary>True when a probe made it through the socket engine and the thread pool within <paramref name="timeout"/>.</summary>
    internal bool Probe(TimeSpan timeout)
    {
        // A probe still stuck from last time is the answer again: do not pile up another one.
        var probe = _pendingProbe is { IsCompleted: false } pending ? pending : ProbeAsync();
        _pendingProbe = probe;
        try
        {
            return probe.Wait(timeout) && probe.IsCompletedSuccessfully;
        }
        catch (AggregateException)
        {
            return false;
        }
    }

    private async Task ProbeAsync()
    {
        var receive = _probe.ReceiveAsync(_probeIn, SocketFlags.None);
        _probe.Send(_probeIn.AsSpan(0, 1), SocketFlags.None);
        await receive.ConfigureAwait(false);
        await Task.Run(static () => { }).ConfigureAwait(false);
    }

    private void WarnProbe(TimeSpan waited)
    {
        long now = Environment.TickCount64;
        if (now - _lastProbeWarning < 60_000) return;
        _lastProbeWarning = now;
        LogProbeLate(_log, (long)waited.TotalMilliseconds);
    }

    public void Dispose()
    {
        _stop.Set();
        if (_thread.IsAlive) _thread.Join(TimeSpan.FromSeconds(2));
        _probe.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watchdog: the event loop did not answer within {Milliseconds}ms; not telling systemd the daemon is alive (it restarts the service after WatchdogSec=).")]
    private static partial void LogProbeLate(ILogger log, long milliseconds);
}
