namespace FipsAppliance.Stats;

// Counters are plain long fields bumped with Interlocked on the relay path and read racily by the
// stats page: a page that is a few requests behind is fine, a lock on the hot path is not.

/// <summary>What a frontend, a backend or a server counts (HAProxy's stats fields by name).</summary>
public sealed class TrafficCounters
{
    /// <summary>scur: sessions open now.</summary>
    public long CurrentSessions;
    /// <summary>smax: the most sessions open at once.</summary>
    public long MaxSessions;
    /// <summary>stot: sessions since start.</summary>
    public long TotalSessions;
    /// <summary>bin / bout: bytes from clients / to clients (frontends); to servers / from servers (backends, servers).</summary>
    public long BytesIn;
    public long BytesOut;
    /// <summary>req_tot: HTTP requests (frontend: received; backend/server: forwarded).</summary>
    public long Requests;
    /// <summary>ereq: request errors (malformed, timeouts while reading the request).</summary>
    public long RequestErrors;
    /// <summary>econ: failed connection attempts to a server.</summary>
    public long ConnectionErrors;
    /// <summary>eresp: response errors (broken/invalid/timed-out responses).</summary>
    public long ResponseErrors;
    /// <summary>wretr / wredis: retries and redispatches.</summary>
    public long Retries;
    public long Redispatches;
    /// <summary>hrsp_1xx..hrsp_5xx, hrsp_other: responses by class.</summary>
    public long Http1xx, Http2xx, Http3xx, Http4xx, Http5xx, HttpOther;
    /// <summary>Upstream TLS handshakes completed (servers) — reuse is visible as few handshakes per request.</summary>
    public long TlsHandshakes;
    /// <summary>Upstream connections reused from the idle pool instead of a new handshake.</summary>
    public long ConnectionReuses;

    private readonly RateCounter _sessionRate = new();
    private readonly RateCounter _requestRate = new();

    public long SessionRate => _sessionRate.PerSecond;
    public long RequestRate => _requestRate.PerSecond;

    public void SessionOpened()
    {
        long now = Interlocked.Increment(ref CurrentSessions);
        Interlocked.Increment(ref TotalSessions);
        _sessionRate.Add();
        long max;
        while (now > (max = Volatile.Read(ref MaxSessions)) && Interlocked.CompareExchange(ref MaxSessions, now, max) != max) { }
    }

    public void SessionClosed() => Interlocked.Decrement(ref CurrentSessions);

    public void RequestSeen()
    {
        Interlocked.Increment(ref Requests);
        _requestRate.Add();
    }

    public void Response(int status)
    {
        switch (status / 100)
        {
            case 1: Interlocked.Increment(ref Http1xx); break;
            case 2: Interlocked.Increment(ref Http2xx); break;
            case 3: Interlocked.Increment(ref Http3xx); break;
            case 4: Interlocked.Increment(ref Http4xx); break;
            case 5: Interlocked.Increment(ref Http5xx); break;
            default: Interlocked.Increment(ref HttpOther); break;
        }
    }
}

/// <summary>Events in the current and the previous second; the rate shown is the previous full second.</summary>
public sealed class RateCounter
{
    private long _second;
    private long _current;
    private long _previous;

    public void Add()
    {
        long s = Environment.TickCount64 / 1000;
        if (s != Volatile.Read(ref _second)) Roll(s);
        Interlocked.Increment(ref _current);
    }

    public long PerSecond
    {
        get
        {
            long s = Environment.TickCount64 / 1000;
            long seen = Volatile.Read(ref _second);
            if (s == seen) return Volatile.Read(ref _previous);
            return s == seen + 1 ? Volatile.Read(ref _current) : 0;
        }
    }

    private void Roll(long s)
    {
        lock (this)
        {
            if (_second == s) return;
            _previous = s == _second + 1 ? _current : 0;
            _current = 0;
            _second = s;
        }
    }
}
