namespace FipsAppliance.Backends.Health;

/// <summary>
/// The one timer of a model's health checks: a priority queue of due times and a single
/// <see cref="Timer"/> armed for the earliest. No thread per server and no polling: an idle
/// appliance whose 80 servers are checked every 10 s wakes 8 times a second, for the checks
/// themselves. The lock only guards the queue, never I/O: due checks are started after it is
/// released, and a check reschedules itself when it has finished.
/// </summary>
internal sealed class CheckScheduler : IDisposable
{
    private readonly object _lock = new();
    // Entries are (check, due); a check rescheduled before its entry comes up leaves a stale entry,
    // recognised by a due time that is no longer the check's, and dropped when it surfaces.
    private readonly PriorityQueue<HealthCheck, long> _queue = new();
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private bool _stopped;

    /// <param name="time">Where the timer runs: the daemon's <see cref="Runtime.TimerThread"/>; tests the system's.</param>
    public CheckScheduler(TimeProvider? time = null)
    {
        _timer = (time ?? TimeProvider.System).CreateTimer(static s => ((CheckScheduler)s!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>(Re)schedules <paramref name="check"/> at <paramref name="dueTicks"/> (Environment.TickCount64 time).</summary>
    public void Schedule(HealthCheck check, long dueTicks)
    {
        lock (_lock)
        {
            check.Running = false;
            if (_stopped) return;
            check.DueTicks = dueTicks;
            _queue.Enqueue(check, dueTicks);
            ArmLocked(dueTicks);
        }
    }

    /// <summary>Brings a waiting check forward to <paramref name="dueTicks"/>; nothing if it runs now or is due sooner.</summary>
    public void Advance(HealthCheck check, long dueTicks)
    {
        lock (_lock)
        {
            if (_stopped || check.Running || check.DueTicks <= dueTicks) return;
            check.DueTicks = dueTicks;
            _queue.Enqueue(check, dueTicks);
            ArmLocked(dueTicks);
        }
    }

    private void ArmLocked(long dueTicks)
    {
        if (dueTicks >= _armedFor) return;
        _armedFor = dueTicks;
        _timer.Change(TimeSpan.FromMilliseconds(Math.Max(0, dueTicks - Environment.TickCount64)), Timeout.InfiniteTimeSpan);
    }

    private void Tick()
    {
        List<HealthCheck>? ready = null;
        lock (_lock)
        {
            _armedFor = long.MaxValue;
            if (_stopped) return;
            long now = Environment.TickCount64;
            while (_queue.TryPeek(out var check, out long due))
            {
                if (due != check.DueTicks || check.Running)
                {
                    _queue.Dequeue();   // stale
                    continue;
                }
                if (due > now)
                {
                    ArmLocked(due);
                    break;
                }
                _queue.Dequeue();
                check.Running = true;
                (ready ??= []).Add(check);
            }
        }
        if (ready is null) return;
        foreach (var check in ready) check.Start();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopped = true;
            _queue.Clear();
        }
        _timer.Dispose();
    }
}
