namespace FipsAppliance.Lifecycle;

/// <summary>
/// Gives memory back once the relay goes quiet after a busy spell (issue 9). Without it, an
/// appliance that had a burst keeps its peak until the next one: measured after a long-lived
/// bench run and 15 s idle, 44 MB RSS against 25 MB fresh, of which about 12 MB were GC regions
/// no collection ever decommitted (an idle relay allocates too little to trigger one) and about
/// 8 MB free memory in the malloc arenas of the socket event threads (OpenSSL's TLS state).
///
/// Every <see cref="CheckMilliseconds"/> it looks at how much the process allocated and how many
/// bytes it relayed: a spell with at least <see cref="BusyBytes"/> of either since the last trim,
/// followed by a whole interval with under <see cref="QuietBytes"/> of both, gets one aggressive,
/// compacting collection and a malloc_trim. So it runs at most once per quiet period, never during
/// traffic, and a relay that stays idle pays nothing after the first trim. It belongs to the
/// process (the GC heap and the arenas are the process's), not to a live model.
///
/// Bytes relayed count because the steady state allocates next to nothing on the managed heap
/// while OpenSSL's buffers grow in the malloc arenas: with allocation alone, a 3 s burst of
/// keep-alive traffic (64 connections, wrk) was not a busy spell, and 12 s later the relay still
/// held 29-37 MB (13-21 MB anonymous) where a trim gives 27-29 MB; four bursts out of five were
/// never trimmed.
/// </summary>
internal sealed class IdleMemoryTrim : IDisposable
{
    public const int CheckMilliseconds = 5000;
    /// <summary>
    /// About 15,000 relayed 1 KiB requests' worth of allocation (about 550 bytes each): a trim
    /// (a few milliseconds) then costs under a microsecond per request however traffic comes.
    /// </summary>
    internal const long BusyBytes = 8 << 20;
    /// <summary>
    /// Health checks, timers and idle keep-alive sessions allocate a little when no request flows;
    /// under this per interval (a few hundred requests) counts as quiet.
    /// </summary>
    internal const long QuietBytes = 256 << 10;

    private readonly ITimer? _timer;
    private readonly Func<long> _allocated;
    private readonly Func<long> _relayed;
    private readonly Action _trim;
    private long _lastSeen;
    private long _lastTrim;
    private long _lastRelayed;
    /// <summary>Bytes relayed since the last trim (summed per check: the counter restarts with each reload's model).</summary>
    private long _relayedSinceTrim;
    private int _running;

    /// <param name="time">Where its timer runs: the daemon's <see cref="Runtime.TimerThread"/>.</param>
    /// <param name="relayed">Bytes the serving model has relayed so far (its frontends' bytes in and out).</param>
    public IdleMemoryTrim(TimeProvider time, Func<long> relayed) : this(() => GC.GetTotalAllocatedBytes(precise: false), relayed, TrimNow, time) { }

    /// <summary>Tests: their own counters and trim, and <see cref="Check"/> called by hand.</summary>
    internal IdleMemoryTrim(Func<long> allocated, Func<long> relayed, Action trim, TimeProvider? time)
    {
        _allocated = allocated;
        _relayed = relayed;
        _trim = trim;
        _lastSeen = _lastTrim = allocated();
        _lastRelayed = relayed();
        var interval = TimeSpan.FromMilliseconds(CheckMilliseconds);
        _timer = time?.CreateTimer(_ => Check(), null, interval, interval);
    }

    /// <summary>
    /// Start-up is the first busy spell (the cfg, the FIPS self-tests, the TLS warm-up): its garbage
    /// filled a 4 MiB GC region that the steady state, which allocates nothing per request, would
    /// not collect. Trimmed once, before the listeners accept, so no request waits on it (under a
    /// millisecond). Measured with the shipped cfg (issue 9, 64 keep-alive connections): RSS fresh
    /// 24.7 -> 21.1 MB; peak 31.0 -> 28.4 MB for 1 KiB POSTs and 33.0 -> 29.1 MB for 256 KiB. A
    /// burst of new connections allocates again (every handshake checks a certificate chain) and
    /// can fill the region anew; the timer's trim after the next quiet interval handles that.
    /// </summary>
    public void AfterStartup() => TrimAndRestart();

    /// <summary>
    /// A busy spell that allocated little but left memory behind (a reload: a whole model built,
    /// another one released): the next quiet interval trims, as after traffic.
    /// </summary>
    public void BusySpellEnded() => Volatile.Write(ref _lastTrim, _allocated() - BusyBytes);

    /// <summary>Trims, and counts the next busy spell from here.</summary>
    private void TrimAndRestart()
    {
        _trim();
        _lastTrim = _lastSeen = _allocated();
        _lastRelayed = _relayed();
        _relayedSinceTrim = 0;
    }

    private static void TrimNow()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Posix.MallocTrim();
    }

    /// <summary>One look; true when it trimmed.</summary>
    internal bool Check()
    {
        if (Interlocked.Exchange(ref _running, 1) != 0) return false;
        try
        {
            long now = _allocated();
            long relayed = _relayed();
            // A reload's new model counts from 0: what it relayed is all new.
            long relayedNow = relayed >= _lastRelayed ? relayed - _lastRelayed : relayed;
            _lastRelayed = relayed;
            _relayedSinceTrim += relayedNow;
            bool quiet = now - _lastSeen < QuietBytes && relayedNow < QuietBytes;
            _lastSeen = now;
            bool busy = now - Volatile.Read(ref _lastTrim) >= BusyBytes || _relayedSinceTrim >= BusyBytes;
            if (!quiet || !busy) return false;
            TrimAndRestart();
            return true;
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    public void Dispose() => _timer?.Dispose();
}
