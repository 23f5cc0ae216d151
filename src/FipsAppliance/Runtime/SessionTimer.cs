using System.Collections.Concurrent;

namespace FipsAppliance.Runtime;

/// <summary>A session whose current wait has a deadline (`timeout client/server/http-request/...`).</summary>
internal abstract class TimedSession
{
    /// <summary>Environment.TickCount64 after which the current wait has expired; 0 = no deadline.</summary>
    private long _deadline;

    /// <summary>Arms the deadline <paramref name="milliseconds"/> from now (null = no timeout).</summary>
    public void ArmTimeout(int? milliseconds) =>
        Volatile.Write(ref _deadline, milliseconds is int ms and > 0 ? Environment.TickCount64 + ms : 0);

    public void DisarmTimeout() => Volatile.Write(ref _deadline, 0);

    internal long Deadline => Volatile.Read(ref _deadline);

    /// <summary>Called once by the timer when the deadline passed: abort whatever the session waits on.</summary>
    public abstract void OnTimeout();
}

/// <summary>
/// One timer for every session's deadline instead of a timer or a CancellationTokenSource per
/// read: timeouts are inactivity limits re-armed on every transfer, and arming must cost a field
/// write on the relay path. Resolution is 100 ms, well under HAProxy's usual seconds-long timeouts.
/// The timer runs only while sessions exist, so an idle daemon does not wake up.
/// </summary>
internal static class SessionTimer
{
    private const int TickMs = 100;
    private static readonly ConcurrentDictionary<TimedSession, byte> Sessions = new();
    private static readonly Timer Timer = new(_ => Tick(), null, Timeout.Infinite, Timeout.Infinite);
    private static int _running;

    /// <summary>Work done on every tick besides timeouts (e.g. closing aged idle upstream connections).</summary>
    public static Action? Housekeeping { get; set; }

    public static void Register(TimedSession s)
    {
        Sessions.TryAdd(s, 0);
        if (Interlocked.Exchange(ref _running, 1) == 0) Timer.Change(TickMs, TickMs);
    }

    public static void Unregister(TimedSession s) => Sessions.TryRemove(s, out _);

    private static long _ticks;

    private static void Tick()
    {
        long now = Environment.TickCount64;
        foreach (var (s, _) in Sessions)
        {
            long d = s.Deadline;
            if (d != 0 && now >= d)
            {
                s.DisarmTimeout();
                s.OnTimeout();
            }
        }
        // Housekeeping once a second is plenty for 30 s idle limits.
        if (++_ticks % 10 == 0) Housekeeping?.Invoke();
        if (Sessions.IsEmpty && _ticks % 50 == 0)
        {
            // Nothing to watch for 5 s: stop ticking until the next session registers.
            Interlocked.Exchange(ref _running, 0);
            Timer.Change(Timeout.Infinite, Timeout.Infinite);
            if (!Sessions.IsEmpty && Interlocked.Exchange(ref _running, 1) == 0) Timer.Change(TickMs, TickMs);
        }
    }
}
