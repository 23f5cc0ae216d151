using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Backends.Health;

/// <summary>
/// The health check of one server: a TCP connect, then (when the check speaks TLS) a TLS handshake
/// under the server's own FIPS policy, trust and host-name rule, so a check cannot pass against a
/// server whose certificate traffic would refuse. It succeeds "when a connection can be established
/// at the highest configured transport layer" (HAProxy's `check` without `option httpchk`).
/// </summary>
internal sealed class HealthCheck
{
    /// <summary>A traffic failure brings the next check forward, but never closer than this to the last one.</summary>
    private const int MaxTriggerSpacingMs = 1000;

    private readonly CheckScheduler _scheduler;
    private readonly SslClientAuthenticationOptions? _tls;
    private readonly int _timeoutMs;
    private readonly int _spreadPercent;
    private readonly IPAddress? _address;
    private readonly int _port;
    private readonly CancellationToken _stop;
    private long _lastStartTicks;

    public HealthCheck(Server server, CheckScheduler scheduler, SslClientAuthenticationOptions? tls, int spreadPercent, CancellationToken stop)
    {
        Server = server;
        _scheduler = scheduler;
        _tls = tls;
        _spreadPercent = spreadPercent;
        _stop = stop;
        var c = server.Config;
        if (c.CheckAddr is { } addr) _address = IPAddress.Parse(addr);
        // src/check.c srv_check_healthcheck_port: `port`, else the port of `addr`, else the server's.
        _port = c.CheckPort > 0 ? c.CheckPort : c.CheckAddrPort > 0 ? c.CheckAddrPort : 0;
        _timeoutMs = TimeoutFor(c, server.Backend.Config.Timeouts);
    }

    public Server Server { get; }
    /// <summary>Scheduler state, guarded by the scheduler's lock.</summary>
    internal long DueTicks;
    internal bool Running;

    /// <summary>Whether this check speaks TLS.</summary>
    public bool UsesTls => _tls is not null;

    /// <summary>
    /// When a check speaks TLS, as HAProxy 2.6 decides in init_srv_check (src/check.c):
    /// <code>
    /// if (!srv->check.port &amp;&amp; !is_addr(&amp;srv->check.addr)) {
    ///     if (!srv->check.use_ssl &amp;&amp; srv->use_ssl != -1) { srv->check.use_ssl = srv->use_ssl; ... }
    ///     else if (srv->check.use_ssl == 1) srv->check.xprt = xprt_get(XPRT_SSL);
    /// }
    /// else if (srv->check.use_ssl == 1) srv->check.xprt = xprt_get(XPRT_SSL);
    /// </code>
    /// Without `port` or `addr` the check inherits the server's `ssl` (unless `no-check-ssl`);
    /// with either, only `check-ssl` makes it TLS. So the shipped file's
    /// `check port 443 ssl ...` checks with a plain TCP connect to port 443 (L4OK, "Layer4 check
    /// passed"), exactly as haproxy 2.6.12 does (measured: a TCP listener that speaks no TLS passes).
    /// </summary>
    public static bool SpeaksTls(ServerLine s) =>
        s.CheckPort == 0 && s.CheckAddr is null
            ? s.CheckSsl || (!s.NoCheckSsl && s.Ssl)
            : s.CheckSsl;

    /// <summary>
    /// The deadline of one check, HAProxy's (process_chk_conn / tcpcheck_eval_connect): `inter`
    /// for connect and handshake together, or min(`inter`, `timeout connect`) when `timeout check`
    /// is set; `timeout check` itself only bounds reading a reply, and these checks read none.
    /// </summary>
    internal static int TimeoutFor(ServerLine c, ProxyTimeouts t) =>
        t.Check is > 0 && t.Connect is int connect and > 0 ? Math.Min(c.Inter, connect) : c.Inter;

    /// <summary>The TLS options of a check: the server's policy, with `check-sni` as SNI when given.</summary>
    public static SslClientAuthenticationOptions? TlsOptions(Server server, TlsPolicies tls)
    {
        var c = server.Config;
        if (!SpeaksTls(c)) return null;
        var policy = server.Tls ?? tls.For(c);   // `check-ssl` on a server without `ssl`
        return c.CheckSni is { Length: > 0 } sni ? policy.WithSni(sni) : policy.Options;
    }

    /// <summary>Where the check connects now: `addr` or the server's address, `port` or the server's port.</summary>
    public IPEndPoint? Target()
    {
        var ep = Server.EndPoint;
        var address = _address ?? ep?.Address;
        if (address is null) return null;
        return new IPEndPoint(address, _port > 0 ? _port : ep?.Port ?? Server.ServicePort);
    }

    /// <summary>The next interval for this server's state, with `spread-checks` jitter (HAProxy's ±spread%).</summary>
    internal long NextInterval() => Jitter(Server.CurrentInterval());

    internal long Jitter(int interval)
    {
        if (_spreadPercent <= 0) return interval;
        int rnd = interval * _spreadPercent / 100;
        return interval + rnd - (int)(2 * rnd * Random.Shared.NextDouble());
    }

    /// <summary>Asks for a check soon (a connect or TLS failure during traffic).</summary>
    public void RunSoon()
    {
        long now = Environment.TickCount64;
        long spacing = Math.Min(Server.CurrentInterval(), MaxTriggerSpacingMs);
        _scheduler.Advance(this, Math.Max(now, Volatile.Read(ref _lastStartTicks) + spacing));
    }

    /// <summary>Called by the scheduler when due: runs the check unless the server is in maintenance (checks pause there, as in HAProxy).</summary>
    internal void Start()
    {
        if (_stop.IsCancellationRequested) return;
        if (Server.InMaintenance || Target() is null)
        {
            long interval = NextInterval(), now = Environment.TickCount64, next = Volatile.Read(ref DueTicks) + interval;
            _scheduler.Schedule(this, next > now ? next : now + interval);
            return;
        }
        Volatile.Write(ref _lastStartTicks, Environment.TickCount64);
        _ = RunAsync();
    }

    private async Task RunAsync()
    {
        CheckResult result;
        try
        {
            result = await ProbeAsync();
        }
        catch (Exception e)
        {
            // A check must never take the process down nor stop checking; this is a bug worth a line.
            HealthLog.CheckCrashed(Server.Backend.Log, Server.FullName, e.GetType().Name, e.Message);
            result = new CheckResult(CheckStatus.SocketError, "", -1);
        }
        if (_stop.IsCancellationRequested) return;
        Server.OnCheckResult(result);
        if (CheckStatusText.IsLayer4Failure(result.Status)) Server.Resolution?.Trigger();
        // The next check counts from when this one was due, not from when it ran: a late timer
        // (a busy machine) delays one round of checks, it does not bunch them up for good.
        long interval = NextInterval(), now = Environment.TickCount64;
        long next = Volatile.Read(ref DueTicks) + interval;
        _scheduler.Schedule(this, next > now ? next : now + interval);
    }

    /// <summary>One check: connect, then TLS when it speaks TLS, all within the check's deadline.</summary>
    internal async Task<CheckResult> ProbeAsync()
    {
        var target = Target();
        if (target is null) return new CheckResult(CheckStatus.SocketError, "no address", -1);
        long start = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop);
        deadline.CancelAfter(_timeoutMs);
        Socket socket;
        try
        {
            socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        }
        catch (SocketException e)
        {
            return new CheckResult(CheckStatus.SocketError, Strerror(e.SocketErrorCode, e.Message), Elapsed(start));
        }
        try
        {
            // Closed with a reset, as HAProxy closes its checks: no TIME_WAIT left per check.
            socket.LingerState = new LingerOption(true, 0);
            try
            {
                await socket.ConnectAsync(target, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                return new CheckResult(CheckStatus.L4Timeout, "", Elapsed(start));
            }
            catch (SocketException e)
            {
                var status = e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable
                    ? CheckStatus.SocketError : CheckStatus.L4Connection;
                return new CheckResult(status, Strerror(e.SocketErrorCode, e.Message), Elapsed(start));
            }
            if (_tls is null) return new CheckResult(CheckStatus.L4Ok, "", Elapsed(start));

            var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            try
            {
                await ssl.AuthenticateAsClientAsync(_tls, deadline.Token);
                return new CheckResult(CheckStatus.L6Ok, "", Elapsed(start));
            }
            catch (OperationCanceledException)
            {
                return new CheckResult(CheckStatus.L6Timeout, "", Elapsed(start));
            }
            catch (Exception e) when (e is AuthenticationException or IOException or SocketException or ObjectDisposedException)
            {
                return new CheckResult(CheckStatus.L6Response, TlsInfo(ssl, e), Elapsed(start));
            }
            finally
            {
                ssl.Dispose();
            }
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>
    /// HAProxy's words for a failed handshake (conn_err_code_str): a certificate for another name is
    /// "Server presented an SSL certificate different from the configured one" (`verifyhost`) or
    /// "... the expected one" (the SNI), anything else "SSL handshake failure"; our reason follows
    /// in parentheses, as HAProxy appends strerror.
    /// </summary>
    private string TlsInfo(SslStream ssl, Exception e)
    {
        if (TlsPolicy.FailureReason(ssl) is { } reason)
        {
            if (reason.StartsWith("certificate name mismatch", StringComparison.Ordinal))
            {
                string which = Server.Config.VerifyHost is { Length: > 0 } ? "configured" : "expected";
                return $"Server presented an SSL certificate different from the {which} one ({reason})";
            }
            return $"SSL handshake failure ({reason})";
        }
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is SocketException se) return $"SSL handshake failure ({Strerror(se.SocketErrorCode, se.Message)})";
        return "SSL handshake failure";
    }

    private static long Elapsed(long start) => (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds;

    /// <summary>strerror(3)'s words, which HAProxy puts in `info` (the seed's "Connection refused").</summary>
    internal static string Strerror(SocketError e, string fallback) => e switch
    {
        SocketError.ConnectionRefused => "Connection refused",
        SocketError.ConnectionReset => "Connection reset by peer",
        SocketError.HostUnreachable => "No route to host",
        SocketError.NetworkUnreachable => "Network is unreachable",
        SocketError.TimedOut => "Connection timed out",
        SocketError.AddressNotAvailable => "Cannot assign requested address",
        SocketError.AccessDenied => "Permission denied",
        SocketError.TooManyOpenSockets => "Too many open files",
        SocketError.NoBufferSpaceAvailable => "No buffer space available",
        _ => fallback,
    };
}
