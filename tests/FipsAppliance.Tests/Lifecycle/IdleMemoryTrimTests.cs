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
        public long Relayed;
        public int Trims;
        public IdleMemoryTrim Trim() => new(() => Allocated, () => Relayed, () => Trims++, time: null);
    }

    /// <summary>
    /// Keep-alive traffic allocates next to nothing on the managed heap while OpenSSL's buffers
    /// grow outside it: bytes relayed make a busy spell too, and their absence a quiet interval.
    /// </summary>
    [Test]
    public async Task Bytes_relayed_make_a_busy_spell_even_without_allocation()
    {
        var f = new Fake();
        using var trim = f.Trim();
        f.Relayed += 20 * IdleMemoryTrim.BusyBytes;          // a burst that allocated nothing
        await Assert.That(trim.Check()).IsFalse();           // never during traffic
        f.Relayed += 2 * IdleMemoryTrim.QuietBytes;          // relaying still, allocating nothing: not quiet
        await Assert.That(trim.Check()).IsFalse();
        await Assert.That(trim.Check()).IsTrue();            // then quiet: trimmed
        await Assert.That(trim.Check()).IsFalse();
        await Assert.That(f.Trims).IsEqualTo(1);
    }

    [Test]
    public async Task A_reloads_new_model_counting_from_zero_is_traffic_not_a_loss()
    {
        var f = new Fake();
        using var trim = f.Trim();
        f.Relayed = 100 * IdleMemoryTrim.BusyBytes;
        await Assert.That(trim.Check()).IsFalse();
        await Assert.That(trim.Check()).IsTrue();
        f.Relayed = 2 * IdleMemoryTrim.BusyBytes;            // the new model's counters: all of it new traffic
        await Assert.That(trim.Check()).IsFalse();
        await Assert.That(trim.Check()).IsTrue();
        await Assert.That(f.Trims).IsEqualTo(2);
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

    [Test]
    public async Task Start_up_is_trimmed_at_once_and_a_quiet_relay_after_it_pays_nothing_more()
    {
        var f = new Fake();
        using var trim = f.Trim();
        f.Allocated += 3 * IdleMemoryTrim.BusyBytes;         // the cfg, the FIPS self-tests, the TLS warm-up
        trim.AfterStartup();
        await Assert.That(f.Trims).IsEqualTo(1);
        for (int i = 0; i < 5; i++)
        {
            f.Allocated += IdleMemoryTrim.QuietBytes / 2;
            await Assert.That(trim.Check()).IsFalse();
        }
        await Assert.That(f.Trims).IsEqualTo(1);
    }

    [Test]
    public async Task A_reload_counts_as_a_busy_spell_but_is_trimmed_only_when_quiet()
    {
        var f = new Fake();
        using var trim = f.Trim();
        trim.AfterStartup();
        f.Allocated += IdleMemoryTrim.BusyBytes / 8;         // a reload allocates little: not a spell by itself
        await Assert.That(trim.Check()).IsFalse();
        trim.BusySpellEnded();                               // the retired model was released
        f.Allocated += 2 * IdleMemoryTrim.QuietBytes;        // traffic meanwhile: never during it
        await Assert.That(trim.Check()).IsFalse();
        f.Allocated += IdleMemoryTrim.QuietBytes / 2;        // quiet
        await Assert.That(trim.Check()).IsTrue();
        f.Allocated += IdleMemoryTrim.QuietBytes / 2;
        await Assert.That(trim.Check()).IsFalse();
        await Assert.That(f.Trims).IsEqualTo(2);
    }
}
