using FipsAppliance.Backends;
using FipsAppliance.Configuration;

namespace FipsAppliance.Upstream;

/// <summary>
/// A server's idle connections, which sessions give back when they end and which other sessions'
/// requests may take as the backend's `http-reuse` allows (<see cref="UpstreamLease"/>), bounded
/// by recent use as HAProxy 2.6 bounds them, instead of a fixed cap that let connections no
/// session ever took accumulate:
///
/// - a connection given back is kept when the pool is empty, or when used + idle would not exceed
///   the number recently needed plus the server's `pool-low-conn` (`srv_add_to_idle_list`);
///   otherwise it is closed. Either only while the process holds few descriptors
///   (<see cref="PoolFdThresholds"/>: none kept at `tune.pool-high-fd-ratio`, only the first at
///   `tune.pool-low-fd-ratio`), never more than the server's `pool-max-conn`, and none at all
///   with `http-reuse never` or `pool-purge-delay 0`;
/// - a new connection to the server first closes one of its idle connections while the process is
///   above the high count (<see cref="CloseOneForNewConnection"/>);
/// - every `pool-purge-delay` (default <see cref="PurgeDelayMs"/>) half of the
///   connections beyond the recent need are closed, oldest first, and the need is re-estimated as
///   the mean of the previous estimate and the most used at once in the period
///   (`srv_cleanup_idle_conns`). With no traffic the pool halves every period down to none.
///
/// Idle connections keep a read armed (<see cref="UpstreamConnection.GoIdle"/>), so one the server
/// closed or spoke on is already closed when a request looks for it, and is skipped.
/// </summary>
internal sealed class UpstreamPool(Server server)
{
    /// <summary>HAProxy's `pool-purge-delay` default.</summary>
    public const int PurgeDelayMs = 5_000;

    private readonly Lock _gate = new();
    /// <summary>Most recently idle last; purges close from the front (oldest).</summary>
    private readonly List<UpstreamConnection> _idle = [];
    /// <summary>Connections of this server open and not in the pool (in use, or kept by a session): HAProxy's curr_used_conns.</summary>
    private int _used;
    /// <summary>The most <see cref="_used"/> at once since the last purge.</summary>
    private int _maxUsed;
    /// <summary>HAProxy's est_need_conns.</summary>
    private int _estimatedNeed;
    private long _nextPurge;
    /// <summary>The model is gone (<see cref="Close"/>): a connection given back is closed, never kept.</summary>
    private bool _closed;

    public int IdleCount
    {
        get { lock (_gate) return _idle.Count; }
    }

    public int UsedCount
    {
        get { lock (_gate) return _used; }
    }

    /// <summary>What the stats show of this pool, taken under its lock.</summary>
    public Stats.ServerPoolStats Snapshot()
    {
        lock (_gate)
        {
            int safe = 0;
            foreach (var c in _idle) if (c.Requests > 1) safe++;
            return new(_idle.Count - safe, safe, _used, _estimatedNeed, server.Config.PoolMaxConn);
        }
    }

    /// <summary>A new connection to this server is in use.</summary>
    public void Opened()
    {
        lock (_gate) Use();
    }

    /// <summary>A connection in use (not pooled) was closed.</summary>
    public void Closed()
    {
        lock (_gate) _used--;
    }

    private void Use()
    {
        if (++_used > _maxUsed) _maxUsed = _used;
    }

    /// <summary>
    /// The most recently idle connection still clean, leased to the caller; null when none.
    /// <paramref name="minRequests"/>: only one that has carried at least that many (`http-reuse
    /// aggressive` gives a session's first request only connections reused before).
    /// </summary>
    public UpstreamConnection? TryTake(int minRequests = 0)
    {
        List<UpstreamConnection>? dead = null;
        UpstreamConnection? taken = null;
        lock (_gate)
        {
            for (int i = _idle.Count - 1; i >= 0 && taken is null; i--)
            {
                var c = _idle[i];
                if (c.IsIdle && c.Requests < minRequests) continue;   // clean but not proven: left for a later request
                _idle.RemoveAt(i);
                if (server.EndPoint is not null && c.TryLease())
                {
                    Use();
                    taken = c;
                }
                // It spoke or closed while idle (already closed then), or the server lost its address.
                else (dead ??= []).Add(c);
            }
        }
        if (dead is not null) foreach (var c in dead) c.Dispose();
        return taken;
    }

    /// <summary>Takes back a clean idle connection (<see cref="UpstreamConnection.GoIdle"/> done) that was in use.</summary>
    public void Return(UpstreamConnection c, long nowMs)
    {
        bool keep;
        lock (_gate)
        {
            var fds = server.Backend.PoolFds;
            var line = server.Config;
            keep = !_closed && server.IsUsable && c.IsIdle && fds.MayKeepFirstIdle &&
                   server.Backend.Config.HttpReuse != HttpReuse.Never && line.PoolPurgeDelay > 0 &&
                   (line.PoolMaxConn < 0 || _idle.Count < line.PoolMaxConn) &&
                   (_idle.Count == 0 || (fds.MayKeepMoreIdle && _used + _idle.Count <= Math.Max(_used, _estimatedNeed) + line.PoolLowConn));
            _used--;
            if (keep)
            {
                c.IdleSinceMs = nowMs;
                _idle.Add(c);
            }
        }
        if (!keep) c.Dispose();
    }

    /// <summary>
    /// A new connection to this server is about to be opened: above the high count of
    /// <see cref="PoolFdThresholds"/> the oldest idle connection is closed first, so that the
    /// descriptors in use do not grow (HAProxy's `connect_server` does this with one of the server's
    /// idle connections). True when one was closed.
    /// </summary>
    public bool CloseOneForNewConnection()
    {
        if (!server.Backend.PoolFds.OverHigh) return false;
        UpstreamConnection? oldest;
        lock (_gate)
        {
            if (_idle.Count == 0) return false;
            oldest = _idle[0];
            _idle.RemoveAt(0);
        }
        oldest.Dispose();
        return true;
    }

    /// <summary>
    /// Closes what the recent use does not justify, once per `pool-purge-delay` (called
    /// about every second by the model's timer). True while connections remain idle.
    /// </summary>
    public bool Purge(long nowMs)
    {
        List<UpstreamConnection>? close = null;
        lock (_gate)
        {
            // Those that died while idle go at once.
            for (int i = _idle.Count - 1; i >= 0; i--)
            {
                if (_idle[i].IsIdle) continue;
                (close ??= []).Add(_idle[i]);
                _idle.RemoveAt(i);
            }
            if (nowMs >= _nextPurge)
            {
                _nextPurge = nowMs + Math.Max(1, server.Config.PoolPurgeDelay);
                int exceed = _used + _idle.Count - Math.Max(_maxUsed, _estimatedNeed);
                int kill = Math.Min(_idle.Count, exceed / 2 + (exceed & 1));
                _estimatedNeed = Math.Max(_maxUsed, (_estimatedNeed + _maxUsed) / 2);
                _maxUsed = _used;
                if (kill > 0)
                {
                    (close ??= []).AddRange(_idle.GetRange(0, kill));
                    _idle.RemoveRange(0, kill);
                }
            }
            if (close is null) return _idle.Count > 0;
        }
        foreach (var c in close) c.Dispose();
        lock (_gate) return _idle.Count > 0;
    }

    /// <summary>
    /// The model is disposed: closes every idle connection, and those its sessions still give back
    /// as they unwind (a hard-stop-after cut), so no connection outlives the model or keeps it reachable.
    /// </summary>
    public void Close()
    {
        lock (_gate) _closed = true;
        Clear();
    }

    /// <summary>Closes every idle connection (the server went DOWN or changed address).</summary>
    public void Clear()
    {
        UpstreamConnection[] all;
        lock (_gate)
        {
            all = [.. _idle];
            _idle.Clear();
        }
        foreach (var c in all) c.Dispose();
    }
}
