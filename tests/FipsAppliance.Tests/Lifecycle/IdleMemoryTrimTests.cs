using FipsAppliance.Lifecycle;

namespace FipsAppliance.Tests.Lifecycle;

/// <summary>
/// Memory is given back once after a busy spell, when the relay has gone quiet; never while
/// traffic flows, and not again while it stays idle.
/// </summary>
public class IdleMemoryTrimTests
{
    private sealed class Fake
    {
        public long Allocated;
        public int Trims;
        public IdleMemoryTrim Trim() => new(() => Allocated, () => Trims++, startTimer: false);
    }

    [Test]
    public async Task A_busy_spell_then_a_quiet_interval_trims_once()
    {
        var f = new Fake();
        using var trim = f.Trim();
        f.Allocated += 50 * IdleMemoryTrim.BusyBytes;       // traffic during the first interval
        await Assert.That(trim.Check()).IsFalse();           // still busy: never during traffic
        f.Allocated += IdleMemoryTrim.QuietBytes / 2;        // then quiet
        await Assert.That(trim.Check()).IsTrue();
        for (int i = 0; i < 5; i++)
        {
            f.Allocated += IdleMemoryTrim.QuietBytes / 2;    // staying idle costs nothing more
            await Assert.That(trim.Check()).IsFalse();
        }
        await Assert.That(f.Trims).IsEqualTo(1);
    }

    [Test]
    public async Task Steady_traffic_never_trims_and_a_small_spell_is_not_worth_one()
    {
        var f = new Fake();
        using var trim = f.Trim();
        f.Allocated += IdleMemoryTrim.BusyBytes / 2;         // a small spell, then quiet: not worth a trim
        await Assert.That(trim.Check()).IsFalse();
        await Assert.That(trim.Check()).IsFalse();
        for (int i = 0; i < 10; i++)
        {
            f.Allocated += 2 * IdleMemoryTrim.QuietBytes;    // traffic in every interval: never during it
            await Assert.That(trim.Check()).IsFalse();
        }
        await Assert.That(f.Trims).IsEqualTo(0);
        await Assert.That(trim.Check()).IsTrue();            // the spells added up; the first quiet interval trims
    }
}
