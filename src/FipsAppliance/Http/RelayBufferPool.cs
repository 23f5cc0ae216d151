using FipsAppliance.Http.Parsing;

namespace FipsAppliance.Http;

/// <summary>
/// The 16 KiB buffers (HAProxy's bufsize) the sessions of one model read into and relay from.
///
/// A session takes a buffer when bytes arrive (after a zero-byte read) and gives it back when the
/// request is done, so an idle keep-alive connection holds none. Those buffers come from here and
/// not from ArrayPool.Shared: the shared pool keeps about 32 arrays of a size per core (plus one
/// per thread) and drops the rest when they come back, and 64 busy connections going between
/// "waiting for the next request" and "relaying" hold up to 128. Measured on this 2-core machine
/// (64 concurrent loops of: wait 1 ms holding nothing, take 2 × 16 KiB, wait 1 ms, give them
/// back; 32,000 requests after a warm-up round): ArrayPool.Shared allocated 7.5–16.2 KiB per
/// request (of the 32 KiB taken), this pool 0.3 KiB, which is the loop's own timers. The landed
/// code avoided the drain by keeping both buffers for the whole session (32 KiB per idle
/// keep-alive connection); this keeps idle connections at 0 and busy ones allocation-free.
/// Every buffer returned is kept, and only what stayed unused goes back to the GC: every
/// <see cref="TrimDelayMs"/> half of the buffers that were not taken once in that period are
/// dropped, the way HAProxy's `pool-purge-delay` halves idle server connections, so an idle model
/// decays to no buffer in about half a minute.
/// </summary>
internal sealed class RelayBufferPool
{
    public const int BufferSize = Http1Limits.BufferSize;
    public const int TrimDelayMs = 5_000;

    private readonly Lock _gate = new();
    private byte[]?[] _free = new byte[]?[16];
    private int _count;
    /// <summary>The fewest free buffers seen since the last trim: that many were never needed.</summary>
    private int _lowWater;
    private long _nextTrim;
    private long _allocated;
    private long _outstanding;

    /// <summary>Buffers allocated since the model started (a flat count under load means no allocation).</summary>
    public long Allocated => Volatile.Read(ref _allocated);

    /// <summary>Buffers held by sessions now.</summary>
    public long Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Buffers kept for reuse now.</summary>
    public int Free
    {
        get { lock (_gate) return _count; }
    }

    public byte[] Rent()
    {
        Interlocked.Increment(ref _outstanding);
        lock (_gate)
        {
            if (_count > 0)
            {
                var b = _free[--_count]!;
                _free[_count] = null;
                if (_count < _lowWater) _lowWater = _count;
                return b;
            }
            _lowWater = 0;
        }
        Interlocked.Increment(ref _allocated);
        // Pinned heap: sockets pin a buffer for each operation; these live long, so they never
        // need to move.
        return GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
    }

    /// <summary>Takes a buffer back. Only its owner returns it, once no read or write on it is pending.</summary>
    public void Return(byte[] buffer)
    {
        Interlocked.Decrement(ref _outstanding);
        lock (_gate)
        {
            if (_count == _free.Length) Array.Resize(ref _free, _count * 2);
            _free[_count++] = buffer;
        }
    }

    /// <summary>Drops half of the buffers unused since the last trim, once per <see cref="TrimDelayMs"/>. True while any is kept.</summary>
    public bool Trim(long nowMs)
    {
        lock (_gate)
        {
            if (nowMs < _nextTrim) return _count > 0;
            _nextTrim = nowMs + TrimDelayMs;
            int unused = Math.Min(_lowWater, _count);
            int drop = (unused + 1) / 2;
            for (int i = 0; i < drop; i++) _free[--_count] = null;
            _lowWater = _count;
            return _count > 0;
        }
    }
}
