namespace FipsAppliance.Runtime;

/// <summary>
/// The relay's periodic work (each model's session timer and health checks, the retiring monitor,
/// the idle memory trim) runs on this one thread instead of the thread pool (issue 9). A
/// System.Threading.Timer hands every firing to a pool worker, and a worker that has run one spins
/// in sched_yield before it sleeps: with about 27 firings a second, pool workers spinning were
/// three quarters of an idle relay's CPU (perf, 15 s idle), and under load they stood in the run
/// queue beside the event threads. Here a firing costs one wakeup of this thread and nothing else:
/// with inline socket completions the pool then has no steady work at all.
///
/// Callbacks run one at a time, in due order, outside the lock, so each must be short and never
/// block (they are: sweeps of deadlines, starting checks, closing sockets, a trim of a few ms).
/// A periodic timer's next firing is counted from when it fires, so a late one never bursts.
/// It is a TimeProvider, so SessionTimer and its tests keep their clock abstraction. The daemon
/// owns one and gives it to each model it builds: a thread, holding no model's state.
/// </summary>
internal sealed class TimerThread : TimeProvider, IDisposable
{
    private readonly object _lock = new();
    // (timer, version) by due time; a timer changed since its entry was queued leaves a stale
    // entry, recognised by an older version, and dropped when it surfaces.
    private readonly PriorityQueue<(Entry Timer, long Version), long> _queue = new();
    private readonly Thread _thread;
    private bool _stopped;

    public TimerThread()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "Timers" };
        _thread.Start();
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Entry(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private void Loop()
    {
        while (true)
        {
            Entry fire;
            lock (_lock)
            {
                while (true)
                {
                    if (_stopped) return;
                    if (!_queue.TryPeek(out var entry, out long due))
                    {
                        Monitor.Wait(_lock);
                        continue;
                    }
                    var next = entry.Timer;
                    if (next.Version != entry.Version)
                    {
                        _queue.Dequeue();   // stale
                        continue;
                    }
                    long now = Environment.TickCount64;
                    if (due > now)
                    {
                        Monitor.Wait(_lock, (int)Math.Min(due - now, int.MaxValue));
                        continue;
                    }
                    _queue.Dequeue();
                    next.Version++;
                    if (next.PeriodMs > 0) _queue.Enqueue((next, next.Version), now + next.PeriodMs);
                    fire = next;
                    break;
                }
            }
            fire.Callback(fire.State);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopped = true;
            _queue.Clear();
            Monitor.PulseAll(_lock);
        }
        if (Thread.CurrentThread != _thread) _thread.Join(TimeSpan.FromSeconds(5));
    }

    private sealed class Entry(TimerThread owner, TimerCallback callback, object? state) : ITimer
    {
        public readonly TimerCallback Callback = callback;
        public readonly object? State = state;
        /// <summary>Bumped by every change and firing: only the queue entry of the current version fires. Under the owner's lock.</summary>
        public long Version;
        public long PeriodMs;
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            long dueMs = Milliseconds(dueTime), periodMs = Milliseconds(period);
            lock (owner._lock)
            {
                if (_disposed) return false;
                Version++;
                PeriodMs = periodMs < 0 ? 0 : periodMs;
                if (dueMs >= 0 && !owner._stopped)
                {
                    owner._queue.Enqueue((this, Version), Environment.TickCount64 + dueMs);
                    Monitor.PulseAll(owner._lock);
                }
            }
            return true;
        }

        /// <summary>Milliseconds, or -1 for Timeout.InfiniteTimeSpan (never, as System.Threading.Timer).</summary>
        private static long Milliseconds(TimeSpan t) => t < TimeSpan.Zero ? -1 : (long)t.TotalMilliseconds;

        public void Dispose()
        {
            lock (owner._lock)
            {
                _disposed = true;
                Version++;
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
