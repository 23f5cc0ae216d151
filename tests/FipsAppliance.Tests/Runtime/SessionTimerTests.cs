using FipsAppliance.Runtime;
using FipsAppliance.Tests.Http.Sessions;

namespace FipsAppliance.Tests.Runtime;

/// <summary>The model timer's races with the sessions it watches, each interleaved on purpose through a test hook.</summary>
public class SessionTimerTests
{
    private sealed class ProbeSession(SessionTimer timer) : TimedSession(timer)
    {
        public int Timeouts;
        public int Kills;
        public override void OnTimeout() => Interlocked.Increment(ref Timeouts);
        public override void OnKill() => Interlocked.Increment(ref Kills);
        public override void OnDrain() { }
    }

    [Test]
    public async Task A_session_registered_while_the_idle_timer_stops_keeps_it_ticking()
    {
        var clock = new ManualClock();
        using var timer = new SessionTimer(clock);
        var first = new ProbeSession(timer);
        timer.Register(first);
        timer.Unregister(first);
        var late = new ProbeSession(timer);
        Task? registering = null;
        timer.StoppingForTest = () =>
        {
            timer.StoppingForTest = null;
            // Another thread registers in the middle of the stop; give it time to get as far as it can.
            registering = Task.Run(() => timer.Register(late));
            registering.Wait(200);
        };

        // The housekeeping tick (the 10th) finds nothing to watch and stops the timer.
        clock.Advance(TimeSpan.FromSeconds(1));
        await registering!.WaitAsync(TimeSpan.FromSeconds(5));
        late.ArmTimeout(500);
        clock.Advance(TimeSpan.FromSeconds(1));

        await Assert.That(timer.IsTicking).IsTrue();
        await Assert.That(late.Timeouts).IsEqualTo(1);
    }

    [Test]
    public async Task A_deadline_armed_after_the_timer_read_an_expired_one_is_kept()
    {
        var clock = new ManualClock();
        using var timer = new SessionTimer(clock);
        var s = new ProbeSession(timer);
        timer.Register(s);
        s.ArmTimeout(150);
        // The session starts its next wait just as the timer finds the previous deadline expired.
        timer.ExpiringForTest = session =>
        {
            timer.ExpiringForTest = null;
            session.ArmTimeout(1000);
        };

        clock.Advance(TimeSpan.FromMilliseconds(200));
        await Assert.That(s.Timeouts).IsEqualTo(0);
        // The new wait keeps its own deadline, and times out at it.
        await Assert.That(TimedSession.DueOf(s.DeadlineWord)).IsGreaterThan(1000);
        clock.Advance(TimeSpan.FromMilliseconds(1000));
        await Assert.That(s.Timeouts).IsEqualTo(1);
    }
}
