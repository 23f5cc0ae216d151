using FipsAppliance.Backends;

namespace FipsAppliance.Http;

/// <summary>The first character of HAProxy's termination state (`%tsc`, section 8.5): what ended the request.</summary>
internal enum TerminationCause : byte
{
    /// <summary>Normal completion.</summary>
    None = (byte)'-',
    /// <summary>The client aborted (closed or reset).</summary>
    ClientAbort = (byte)'C',
    /// <summary>The server aborted, refused, or answered something invalid.</summary>
    ServerAbort = (byte)'S',
    /// <summary>The proxy refused (malformed request, no backend).</summary>
    Proxy = (byte)'P',
    /// <summary>Answered locally (the stats page).</summary>
    Local = (byte)'L',
    /// <summary>A resource ran out (no socket could be had).</summary>
    Resource = (byte)'R',
    /// <summary>A bug of ours, caught.</summary>
    Internal = (byte)'I',
    /// <summary>Cut by hard-stop-after (HAProxy: killed by the administrator or at the end of a soft stop).</summary>
    Killed = (byte)'K',
    /// <summary>`timeout client` / `timeout http-request` expired.</summary>
    ClientTimeout = (byte)'c',
    /// <summary>`timeout server` / `timeout connect` expired.</summary>
    ServerTimeout = (byte)'s',
}

/// <summary>The second character of `%tsc`: where the request was when it ended.</summary>
internal enum TerminationPhase : byte
{
    None = (byte)'-',
    /// <summary>Waiting for a complete, valid request head; nothing was sent to a server.</summary>
    Request = (byte)'R',
    /// <summary>Connecting to a server (TCP and TLS).</summary>
    Connect = (byte)'C',
    /// <summary>Waiting for complete, valid response headers.</summary>
    Headers = (byte)'H',
    /// <summary>Transferring a body, either way.</summary>
    Data = (byte)'D',
}

/// <summary>Which error counter a request adds to (`ereq`, `eresp`), besides the status classes.</summary>
internal enum ErrorCounter : byte { None, Request, Response }

/// <summary>
/// Everything known about one request when it ends (HAProxy's log fields and the counters they
/// feed), filled in as the request goes and reported exactly once by <see cref="HttpSession"/>'s
/// <c>Report</c>: a new way to fail is one more value here, not one more place that logs.
/// </summary>
internal struct RequestOutcome
{
    public TerminationCause Cause;
    public TerminationPhase Phase;
    /// <summary>The status the client was sent; -1 when it was sent none (HAProxy logs -1).</summary>
    public int Status;
    public ErrorCounter Error;
    /// <summary>Accept date of the request's first byte (`%tr`).</summary>
    public DateTime Received;
    // Stopwatch timestamps; 0 = not reached.
    public long Start, HeadDone, ConnectStart, Connected, ResponseHead;
    public Backend? Backend;
    public Server? Server;
    public int Retries;
    /// <summary>The request line for the log, taken before its bytes are consumed; null when logging is off.</summary>
    public string? RequestLine;
    /// <summary>A reused connection needs no connect: Tc is 0.</summary>
    public bool Reused;

    public void Begin(DateTime received, long start)
    {
        this = default;
        Cause = TerminationCause.None;
        Phase = TerminationPhase.None;
        Status = -1;
        Received = received;
        Start = start;
    }

    public void Fail(TerminationCause cause, TerminationPhase phase)
    {
        // The first event that ended the request is the one HAProxy reports.
        if (Cause != TerminationCause.None) return;
        Cause = cause;
        Phase = phase;
    }

    /// <summary>`%tsc`: cause, phase, and the two cookie characters, which are always "--" here.</summary>
    public readonly string TerminationState => Codes[Index((byte)Cause) * 8 + PhaseIndex((byte)Phase)];

    /// <summary>Its first two characters, tcplog's <c>%ts</c> (`option tcplog` on an HTTP frontend).</summary>
    public readonly string TcpTerminationState => ShortCodes[Index((byte)Cause) * 8 + PhaseIndex((byte)Phase)];

    private static readonly byte[] Causes = "-CSPLRIKcs"u8.ToArray();
    private static readonly byte[] Phases = "-RCHD"u8.ToArray();
    // After the tables it is built from (static fields initialise in order).
    private static readonly string[] Codes = BuildCodes("--");
    private static readonly string[] ShortCodes = BuildCodes("");

    private static int Index(byte c) => Math.Max(0, Array.IndexOf(Causes, c));
    private static int PhaseIndex(byte p) => Math.Max(0, Array.IndexOf(Phases, p));

    private static string[] BuildCodes(string suffix)
    {
        var codes = new string[Causes.Length * 8];
        for (int c = 0; c < Causes.Length; c++)
            for (int p = 0; p < Phases.Length; p++)
                codes[c * 8 + p] = $"{(char)Causes[c]}{(char)Phases[p]}{suffix}";
        return codes;
    }
}
