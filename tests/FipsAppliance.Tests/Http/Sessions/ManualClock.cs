namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>
/// A clock that moves only when a test says so: the model's timer runs its ticks (timeouts,
/// housekeeping) synchronously inside <see cref="Advance"/>, so a timeout is a deterministic step
/// of the test, not a sleep.
/// </summary>
public sealed class ManualClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private long _nowMs;

    public override long TimestampFrequency => 1000;
    public override long GetTimestamp() => Volatile.Read(ref _nowMs);
    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddMilliseconds(Volatile.Read(ref _nowMs));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new ManualTimer(this, callback, state);
        lock (_gate) _timers.Add(t);
        t.Change(dueTime, period);
        return t;
    }

    /// <summary>Moves the clock forward in steps of at most 100 ms, firing every timer that falls due.</summary>
    public void Advance(TimeSpan by)
    {
        long target = Volatile.Read(ref _nowMs) + (long)by.TotalMilliseconds;
        while (true)
        {
            ManualTimer? next = null;
            lock (_gate)
            {
                foreach (var t in _timers)
                    if (t.DueMs is long due && due <= target && (next is null || due < next.DueMs)) next = t;
            }
            if (next is null) break;
            Volatile.Write(ref _nowMs, Math.Max(Volatile.Read(ref _nowMs), next.DueMs!.Value));
            next.Fire();
        }
        Volatile.Write(ref _nowMs, target);
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private long? _due;
        private long _period;

        public long? DueMs
        {
            get { lock (clock._gate) return _due; }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                _due = dueTime == Timeout.InfiniteTimeSpan ? null : clock.GetTimestamp() + (long)dueTime.TotalMilliseconds;
                _period = period == Timeout.InfiniteTimeSpan ? 0 : (long)period.TotalMilliseconds;
            }
            return true;
        }

        public void Fire()
        {
            lock (clock._gate)
            {
                if (_due is not long due) return;
                _due = _period > 0 ? due + _period : null;
            }
            callback(state);
        }

        public void Dispose()
        {
            lock (clock._gate)
            {
                _due = null;
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
