using FipsAppliance.Backends;

namespace FipsAppliance.Upstream;

/// <summary>
/// A server's idle connections (HAProxy's `http-reuse safe`: a session's first request opens its
/// own connection; later requests may take an idle one). Most recently used first, so a busy
/// server keeps few warm connections and the rest age out.
/// </summary>
internal sealed class UpstreamPool(Server server)
{
    /// <summary>
    /// Idle connections older than this are closed rather than reused: intake closes idle TLS
    /// connections on its side, and a reused connection the server has just closed costs a 502.
    /// </summary>
    public const int MaxIdleMilliseconds = 30_000;
    /// <summary>HAProxy keeps at most as many idle connections as were in use at the peak; this is a simple cap.</summary>
    public const int MaxIdle = 256;

    private readonly Stack<UpstreamConnection> _idle = new();

    public UpstreamConnection? TryTake()
    {
        long now = Environment.TickCount64;
        while (true)
        {
            UpstreamConnection? c;
            lock (_idle)
            {
                if (!_idle.TryPop(out c)) return null;
            }
            if (now - c.IdleSinceTicks <= MaxIdleMilliseconds && c.LooksAlive() && c.Server.EndPoint is not null)
                return c;
            c.Dispose();
        }
    }

    public void Return(UpstreamConnection c)
    {
        c.IdleSinceTicks = Environment.TickCount64;
        if (server.EndPoint is null || !server.IsUsable)
        {
            c.Dispose();
            return;
        }
        lock (_idle)
        {
            if (_idle.Count < MaxIdle)
            {
                _idle.Push(c);
                return;
            }
        }
        c.Dispose();
    }

    /// <summary>Closes idle connections that have aged out (called by the timer that also enforces timeouts).</summary>
    public void Purge()
    {
        long now = Environment.TickCount64;
        List<UpstreamConnection>? stale = null;
        lock (_idle)
        {
            if (_idle.Count == 0) return;
            var keep = new List<UpstreamConnection>(_idle.Count);
            foreach (var c in _idle)
            {
                if (now - c.IdleSinceTicks > MaxIdleMilliseconds) (stale ??= []).Add(c);
                else keep.Add(c);
            }
            if (stale is null) return;
            _idle.Clear();
            for (int i = keep.Count - 1; i >= 0; i--) _idle.Push(keep[i]);
        }
        foreach (var c in stale) c.Dispose();
    }

    public void Clear()
    {
        UpstreamConnection[] all;
        lock (_idle)
        {
            all = _idle.ToArray();
            _idle.Clear();
        }
        foreach (var c in all) c.Dispose();
    }
}
