using System.Collections.Concurrent;
using FipsAppliance.Runtime;

namespace FipsAppliance.Tests.Runtime;

/// <summary>
/// The daemon's one timer thread (issue 9: periodic work off the thread pool): timers fire on it,
/// one at a time, at their due times; a change or a dispose wins over an earlier arming.
/// </summary>
public class TimerThreadTests
{
    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = Environment.TickCount64 + 5000;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline) throw new TimeoutException("waited in vain for: " + what);
            await Task.Delay(5);
        }
    }

    [Test]
    public async Task A_periodic_timer_fires_again_and_again_on_the_timer_thread_never_on_the_pool()
    {
        using var timers = new TimerThread();
        var seen = new ConcurrentQueue<(string? Name, bool Pool)>();
        using var timer = timers.CreateTimer(_ => seen.Enqueue((Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread)),
            null, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10));
        await Until(() => seen.Count >= 5, "5 firings");
        await Assert.That(seen.All(s => s.Name == "Timers" && !s.Pool)).IsTrue();
    }

    [Test]
    public async Task Timers_fire_in_due_order_one_at_a_time()
    {
        using var timers = new TimerThread();
        var order = new ConcurrentQueue<int>();
        int running = 0, overlapped = 0;
        var all = new List<ITimer>();
        foreach (int ms in new[] { 120, 40, 80 })
        {
            all.Add(timers.CreateTimer(_ =>
            {
                if (Interlocked.Increment(ref running) > 1) Interlocked.Increment(ref overlapped);
                Thread.Sleep(20);
                order.Enqueue(ms);
                Interlocked.Decrement(ref running);
            }, null, TimeSpan.FromMilliseconds(ms), Timeout.InfiniteTimeSpan));
        }
        await Until(() => order.Count == 3, "3 one-shot firings");
        await Assert.That(order.ToArray()).IsEquivalentTo(new[] { 40, 80, 120 }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
        await Assert.That(overlapped).IsEqualTo(0);
        foreach (var t in all) t.Dispose();
    }

    [Test]
    public async Task A_change_replaces_the_earlier_arming_and_a_dispose_stops_it()
    {
        using var timers = new TimerThread();
        int fired = 0;
        var timer = timers.CreateTimer(_ => Interlocked.Increment(ref fired), null, TimeSpan.FromMilliseconds(30), Timeout.InfiniteTimeSpan);
        // Re-armed before it fires: once, at the new time, not twice.
        await Assert.That(timer.Change(TimeSpan.FromMilliseconds(60), Timeout.InfiniteTimeSpan)).IsTrue();
        await Until(() => Volatile.Read(ref fired) == 1, "the re-armed firing");
        await Task.Delay(150);
        await Assert.That(Volatile.Read(ref fired)).IsEqualTo(1);

        // Stopped (infinite due time), then disposed: nothing more, and a disposed timer refuses a change.
        timer.Change(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(20));
        await Until(() => Volatile.Read(ref fired) >= 3, "periodic firings");
        timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        await Task.Delay(30);   // a firing already taken off the queue may still be running
        int stoppedAt = Volatile.Read(ref fired);
        await Task.Delay(150);
        await Assert.That(Volatile.Read(ref fired)).IsEqualTo(stoppedAt);
        timer.Dispose();
        await Assert.That(timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan)).IsFalse();
        await Task.Delay(100);
        await Assert.That(Volatile.Read(ref fired)).IsEqualTo(stoppedAt);
    }
}
