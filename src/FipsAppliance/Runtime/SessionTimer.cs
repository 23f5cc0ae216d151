using System.Collections.Concurrent;
using FipsAppliance.Http;

namespace FipsAppliance.Runtime;

/// <summary>A session whose current wait has a deadline (`timeout client/server/http-request/...`).</summary>
internal abstract class TimedSession(SessionTimer timer)
{
    /// <summary>The model's timer, in whose clock (<see cref="SessionTimer.NowMs"/>) the deadline is kept.</summary>
    protected SessionTimer Timer { get; } = timer;

    // The current wait's deadline and the arm that set it, in one word: (due << ArmBits) | arm,
    // arm in 1..ArmMask, due a SessionTimer.NowMs (0 = no deadline). The timer expires a deadline by
    // swapping exactly the word it saw for 0, so a wait armed in between (a new word, even with the
    // same due time) is never taken for the expired one; a word of 0 afterwards means nothing was
    // armed since the timer fired.
    private const int ArmBits = 16;
    private const int ArmMask = (1 << ArmBits) - 1;
    private long _deadline;
    private int _arms;

    /// <summary>Arms the deadline <paramref name="milliseconds"/> from now (null or 0 = no timeout).</summary>
    public void ArmTimeout(int? milliseconds) => Arm(milliseconds is int ms and > 0 ? Timer.NowMs + ms : 0);

    public void DisarmTimeout() => Arm(0);

    private void Arm(long due)
    {
        // Plain increment: the session arms from its own flow. A TCP session's two directions can
        // race here, and a lost increment only lets two arms share a number.
        int arm = _arms = _arms % ArmMask + 1;
        Volatile.Write(ref _deadline, due << ArmBits | (long)arm);
    }

    /// <summary>The deadline word as armed now (read it once, then <see cref="TryExpire"/> it).</summary>
    internal long DeadlineWord => Volatile.Read(ref _deadline);

    /// <summary>The <see cref="SessionTimer.NowMs"/> after which the wait of <paramref name="word"/> has expired; 0 = none.</summary>
    internal static long DueOf(long word) => word >> ArmBits;

    /// <summary>Takes the expired deadline <paramref name="word"/> away; false when the session armed another since.</summary>
    internal bool TryExpire(long word) => Interlocked.CompareExchange(ref _deadline, 0, word) == word;

    /// <summary>
    /// In <see cref="OnTimeout"/>: true when the session armed (or disarmed) a wait after the timer
    /// expired the deadline, so the wait that expired is over and the current one must not be cut.
    /// A session arms before it publishes its new wait: read the wait first, then this.
    /// </summary>
    protected bool ArmedSinceExpiry => Volatile.Read(ref _deadline) != 0;

    /// <summary>Called once by the timer when the deadline passed: abort whatever the session waits on.</summary>
    public abstract void OnTimeout();

    /// <summary>
    /// hard-stop-after cut the session (its client socket is already reset): wake whatever it
    /// waits on, and log it killed (HAProxy's 'K'), not timed out.
    /// </summary>
    public abstract void OnKill();

    /// <summary>
    /// The model is draining (reload or stop): finish what is in progress, take nothing new.
    /// Called by <see cref="SessionTimer.Drain"/> and again on every tick while draining (so it
    /// must be idempotent and cheap); must not block.
    /// </summary>
    public abstract void OnDrain();
}

/// <summary>
/// The deadlines, the live sessions and the relay buffers of one live model (`ProxyRuntime` builds
/// one; a reload builds another, so nothing here is shared between two models).
///
/// One timer for every session's deadline instead of a timer or a CancellationTokenSource per
/// read: timeouts are inactivity limits re-armed on every transfer, and arming must cost a field
/// write on the relay path. Resolution is 100 ms, well under HAProxy's usual seconds-long timeouts.
/// Once a second it also runs the model's housekeeping (idle server connections are purged as
/// HAProxy's `pool-purge-delay` does) and trims the buffer pool. It ticks only while there is
/// something to watch: sessions, idle connections or pooled buffers, so an idle appliance goes
/// quiet once those have been released.
/// </summary>
internal sealed class SessionTimer : IDisposable
{
    private const int TickMs = 100;
    private const int TicksPerHousekeeping = 10;

    private readonly ConcurrentDictionary<TimedSession, byte> _sessions = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly Func<long, bool>? _housekeeping;
    private readonly long _origin;
    // Guards starting and stopping the timer, so that a Register never meets a half-done stop.
    private readonly Lock _gate = new();
    private bool _running;
    private int _ticking;
    private long _ticks;
    private volatile bool _draining;

    /// <param name="time">The clock (tests pass a manual one).</param>
    /// <param name="housekeeping">
    /// Called about once a second with <see cref="NowMs"/>; returns true while it still holds
    /// something that needs it (idle connections), which keeps the timer ticking with no session.
    /// </param>
    public SessionTimer(TimeProvider time, Func<long, bool>? housekeeping = null)
    {
        _time = time;
        _housekeeping = housekeeping;
        _origin = time.GetTimestamp();
        _timer = time.CreateTimer(_ => Tick(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Buffers = new RelayBufferPool();
    }

    /// <summary>Milliseconds on this timer's clock (monotonic, from the timer's creation).</summary>
    public long NowMs
    {
        get
        {
            // Split so that a nanosecond timestamp times 1000 cannot overflow on a long uptime.
            long ticks = _time.GetTimestamp() - _origin;
            long frequency = _time.TimestampFrequency;
            return ticks / frequency * 1000 + ticks % frequency * 1000 / frequency;
        }
    }

    /// <summary>The 16 KiB buffers the model's sessions relay through.</summary>
    public RelayBufferPool Buffers { get; }

    /// <summary>Sessions of this model alive now.</summary>
    public int Count => _sessions.Count;

    public bool IsDraining => _draining;

    public void Register(TimedSession s)
    {
        _sessions.TryAdd(s, 0);
        Start();
        // A session accepted while the drain was being called gets the same request.
        if (_draining) s.OnDrain();
    }

    public void Unregister(TimedSession s) => _sessions.TryRemove(s, out _);

    /// <summary>
    /// Asks every session to finish: an HTTP session idle between requests closes (after
    /// a short grace, see HttpSession), one in the middle of a request answers it with
    /// `connection: close` and then closes, a TCP session goes on until it ends. Sessions
    /// registered later are asked as they register, and every session again on each tick.
    /// </summary>
    public void Drain()
    {
        _draining = true;
        foreach (var (s, _) in _sessions) s.OnDrain();
    }

    private void Start()
    {
        lock (_gate)
        {
            if (_running) return;
            _running = true;
            _timer.Change(TimeSpan.FromMilliseconds(TickMs), TimeSpan.FromMilliseconds(TickMs));
        }
    }

    /// <summary>
    /// Stops the timer when no session is left. Under the lock Start takes: a Register adds its
    /// session before it starts the timer, so either the session is seen here, or its Start comes
    /// after this stop and starts the timer again.
    /// </summary>
    private void StopIfNoSession()
    {
        lock (_gate)
        {
            if (!_sessions.IsEmpty) return;
            StoppingForTest?.Invoke();
            _running = false;
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Tests: runs inside the stop, to interleave a Register with it.</summary>
    internal Action? StoppingForTest;

    /// <summary>Tests: runs between reading an expired deadline and expiring it, to interleave a new arm.</summary>
    internal Action<TimedSession>? ExpiringForTest;

    internal void Tick()
    {
        // A slow tick must not overlap the next one (Timer callbacks can).
        if (Interlocked.Exchange(ref _ticking, 1) != 0) return;
        try
        {
            long now = NowMs;
            bool draining = _draining;
            foreach (var (s, _) in _sessions)
            {
                long word = s.DeadlineWord;
                long due = TimedSession.DueOf(word);
                if (due != 0 && now >= due)
                {
                    ExpiringForTest?.Invoke(s);
                    // Only the deadline read above: one the session armed since is its next wait's.
                    if (s.TryExpire(word)) s.OnTimeout();
                }
                // Sessions that became idle since the drain began are asked again.
                if (draining) s.OnDrain();
            }
            if (++_ticks % TicksPerHousekeeping == 0)
            {
                bool idleConnections = _housekeeping?.Invoke(now) ?? false;
                bool buffers = Buffers.Trim(now);
                // Nothing to watch: stop until the next session registers.
                if (_sessions.IsEmpty && !idleConnections && !buffers) StopIfNoSession();
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    /// <summary>True while the timer ticks (tests: an idle model must go quiet).</summary>
    internal bool IsTicking
    {
        get { lock (_gate) return _running; }
    }

    public void Dispose() => _timer.Dispose();
}
