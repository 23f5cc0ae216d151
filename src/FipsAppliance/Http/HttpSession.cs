using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using FipsAppliance.Backends;
using FipsAppliance.Frontends;
using FipsAppliance.Http.Parsing;
using FipsAppliance.Runtime;
using FipsAppliance.Upstream;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Http;

/// <summary>
/// mode http: one client connection, its requests one after the other (pipelined ones in order).
/// Each request head is parsed and checked (malformed ones get a 4xx and never reach intake),
/// routed by the frontend's rules, and forwarded over a server connection from the session's
/// <see cref="UpstreamLease"/> with its body relayed as it arrives; the response is relayed back
/// the same way (<see cref="BodyRelay"/>). Every request ends in one <see cref="RequestOutcome"/>,
/// reported once (<see cref="Report"/>): counters and the access line.
///
/// Timeouts per phase, as HAProxy 2.6 has them: `timeout http-keep-alive` (else http-request, else
/// client) between requests; `timeout http-request` for the whole head (else `timeout client`
/// between reads); `timeout connect` for the TCP connect and TLS handshake together, with no
/// client-side timer running meanwhile; `timeout server` while waiting on the server and
/// `timeout client` while waiting on the client. A request body is bounded twice: `timeout client`
/// between reads, and the time spent waiting for its bytes in total is at most
/// `timeout http-request` (else `timeout client`), which is what HAProxy's
/// `option http-buffer-request` does; waits on the server do not count against it.
/// </summary>
internal sealed partial class HttpSession : TimedSession, IWaits
{
    private static readonly byte[] Continue100 = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    /// <summary>
    /// On drain, a connection idle between requests is closed once it has been idle this long
    /// (lifecycle's measurement, kept): closing at the very moment a client sends its next request
    /// loses that request (the unread bytes turn the close into an RST), and a client that has just
    /// had a response is the one likely to be sending. 5 reloads under `wrk -c16` (10 s) saw no
    /// error with or without it, so it narrows a race rather than fixing an observed failure; the
    /// timer repeats the drain every tick, so idle connections still go within about a second.
    /// </summary>
    private const int DrainIdleGraceMs = 1000;

    private readonly ClientConnection _client;
    private readonly Frontend _frontend;
    private readonly ProxyContext _context;
    private readonly RelayBufferPool _buffers;
    private readonly UpstreamLease _lease;
    private readonly BodyRelay _relay = new();
    private readonly HttpRequestHead _request = new();
    private readonly HttpResponseHead _response = new();
    private RequestOutcome _outcome;
    private bool _inRequest;
    private int _requests;
    private long _bytesToServer, _bytesFromServer;

    // Written by the session, read by the timer's and the drain's threads.
    private int _wait;
    private int _timedOut;
    private int _draining;
    private int _killed;

    private long _idleSinceMs;

    // The request body's budget of client waiting (see the class comment).
    private bool _inRequestBody;
    private long _bodyBudgetMs;
    private long _clientReadSince;

    public HttpSession(Socket client, Frontend frontend, ProxyContext context, SessionTimer timer) : base(timer)
    {
        _client = new ClientConnection(client);
        _frontend = frontend;
        _context = context;
        _buffers = timer.Buffers;
        _lease = new UpstreamLease(() => timer.NowMs);
        var options = frontend.Config.Options;
        if (context.AccessLog.WritesConnectLine(frontend.Name, options.HttpLog, options.TcpLog)) _listener = ProxyContext.Local(client);
    }

    /// <summary>The address the client connected to, for HAProxy's default log line; null when that line is not written.</summary>
    private readonly (string Address, int Port)? _listener;

    private ILogger Log => _context.Log;
    private bool Draining => Volatile.Read(ref _draining) != 0;
    private bool TimedOut(Wait w) => (Wait)Volatile.Read(ref _timedOut) == w;
    private bool Killed => Volatile.Read(ref _killed) != 0;

    /// <summary>What the session waits on now (tests wait for a state before moving the clock).</summary>
    internal Wait CurrentWait => (Wait)Volatile.Read(ref _wait);

    /// <summary>
    /// Timeouts abort the wait in progress without cancellation tokens on the I/O calls (a token
    /// registration per read and write was measurable in `./build.sh bench`): a client read is
    /// woken by shutdown(SHUT_RD), which makes it return 0 while the socket can still send the 408;
    /// a server wait by closing the server connection, so the 504 still reaches the client.
    /// </summary>
    public override void OnTimeout()
    {
        var wait = CurrentWait;
        // The session went on to another wait after this deadline expired: that one was not timed.
        if (ArmedSinceExpiry) return;
        Interrupt(wait);
    }

    public override void OnKill()
    {
        Volatile.Write(ref _killed, 1);
        Interrupt(CurrentWait);
    }

    private void Interrupt(Wait wait)
    {
        Volatile.Write(ref _timedOut, (int)wait);
        switch (wait)
        {
            case Wait.Idle or Wait.RequestHead or Wait.ClientRead:
                _client.ShutdownReceive();
                break;
            case Wait.ClientWrite:
                _client.Close();
                break;
            case Wait.ServerRead or Wait.ServerWrite:
                _lease.Abort();
                break;
        }
    }

    /// <summary>
    /// In a request: finish it, answered with `connection: close`, then close. Idle between
    /// requests: close (after <see cref="DrainIdleGraceMs"/>; the timer asks again every tick).
    /// </summary>
    public override void OnDrain()
    {
        Interlocked.Exchange(ref _draining, 1);
        if (CurrentWait == Wait.Idle && Timer.NowMs - Volatile.Read(ref _idleSinceMs) >= DrainIdleGraceMs)
            _client.ShutdownReceive();
    }

    public bool Waiting(Wait wait)
    {
        var t = _frontend.Config.Timeouts;
        if (_inRequestBody && CurrentWait == Wait.ClientRead) _bodyBudgetMs -= Timer.NowMs - _clientReadSince;
        switch (wait)
        {
            case Wait.Idle:
                Volatile.Write(ref _idleSinceMs, Timer.NowMs);
                ArmTimeout(_requests == 0 ? t.HttpRequest ?? t.Client : t.HttpKeepAlive ?? t.HttpRequest ?? t.Client);
                break;
            case Wait.RequestHead:
                // http-request is a deadline for the whole head, armed once at its first byte;
                // without it, timeout client limits each read.
                if (t.HttpRequest is null) ArmTimeout(t.Client);
                break;
            case Wait.ClientRead when _inRequestBody:
                _clientReadSince = Timer.NowMs;
                ArmTimeout((int)Math.Clamp(Math.Min(t.Client ?? int.MaxValue, _bodyBudgetMs), 1, int.MaxValue));
                break;
            case Wait.ClientRead or Wait.ClientWrite:
                ArmTimeout(t.Client);
                break;
            case Wait.ServerRead or Wait.ServerWrite:
                ArmTimeout(_outcome.Backend?.Config.Timeouts.Server);
                break;
            default:
                // Connect: the connector bounds it with `timeout connect`; no client timer runs.
                DisarmTimeout();
                break;
        }
        // Published after the deadline is armed, so whoever sees the new wait sees its deadline.
        // Interlocked: the drain reads the wait after setting its flag, and this store must not
        // pass the session's later read of that flag (store-load order).
        Interlocked.Exchange(ref _wait, (int)wait);
        // A read woken by a timeout's shutdown can still return bytes that came just after it:
        // the request is over all the same.
        return Volatile.Read(ref _timedOut) == (int)Wait.None;
    }

    public async Task RunAsync()
    {
        Timer.Register(this);
        try
        {
            await ServeRequestsAsync();
        }
        catch (Exception)
        {
            // A bug. As HAProxy answers its internal errors, the request in progress gets a 500
            // when no byte of a response has gone to the client yet, and a reset when some have
            // (a cut response must never look complete); then its line, then ProxyRuntime logs
            // the crash. Whatever fails on the way out is dropped: the first exception is the bug.
            if (_inRequest)
            {
                try
                {
                    if (_client.HasSent)
                    {
                        _outcome.Fail(TerminationCause.Internal, TerminationPhase.Data);
                        _client.Reset();
                        Report();
                    }
                    else await FailAsync(TerminationCause.Internal, TerminationPhase.Data, 500, HttpErrorPages.InternalServerError500Close);
                }
                catch (Exception) { }
            }
            throw;
        }
        finally
        {
            Waiting(Wait.None);
            _lease.EndSession();
            _client.ReleaseBuffer();
            _client.Close();
            // Last: while a session is registered the timer keeps ticking, so the connection it
            // just gave back to the pool is purged in time and the buffer pool trimmed.
            Timer.Unregister(this);
        }
    }

    /// <summary>
    /// The client connection's requests, one pass of the loop per request and its response, in
    /// one async method for the session's whole life (Kestrel's long-lived loop), whose box is
    /// allocated once. The steady state's two waits, for the client's next request and for the
    /// server's response, are awaited here directly on the connections' reusable reads
    /// (<see cref="ClientConnection.WaitForDataAsync"/>, <see cref="HttpInput.FillAsync"/>); the
    /// helpers it calls are async methods too, but complete without waiting when a request arrives
    /// whole and its answer is short, which costs no box. Issue 9: an async method per request and
    /// per wait allocated 2.65 objects, 333 bytes, per request (2–3 gen0 GCs a second at 20k
    /// requests/s), because a request begins on the client socket's event thread and ends on the
    /// server socket's, where PoolingAsyncValueTaskMethodBuilder's per-thread cache misses; this
    /// loop's requests allocate 0.015 objects, 1.3 bytes, each (1 gen0 GC in 18 s of that load).
    /// A request that ends early sets whether the connection carries on and `continue`s to the
    /// loop's condition.
    /// </summary>
    private async Task ServeRequestsAsync()
    {
        bool keepAlive;
        do
        {
            Volatile.Write(ref _timedOut, (int)Wait.None);
            _request.Reset();
            _response.Reset();

            // --- 1. the request head ---
            if (_client.Length == 0)
            {
                Waiting(Wait.Idle);
                // A zero-byte read returns 0 for a close as for data: the head's read tells them apart.
                try { await _client.WaitForDataAsync(); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { break; }
            }
            _client.EnsureBuffer(_buffers);
            _inRequest = true;
            _outcome.Begin(DateTime.UtcNow, Stopwatch.GetTimestamp());
            if (_requests > 0 || _frontend.Config.Timeouts.HttpRequest is null) ArmTimeout(_frontend.Config.Timeouts.HttpRequest ?? _frontend.Config.Timeouts.Client);
            var head = await ReadRequestHeadAsync();
            // HAProxy's default format: a line per stream, and an HTTP stream starts with request bytes.
            if (_listener is { } l && _client.Length > 0)
                _context.AccessLog.Connect(_client.Address, _client.Port, l.Address, l.Port, _frontend.Name, http: true);
            if (head != ParseStatus.Complete) { keepAlive = await RefuseRequestAsync(head); continue; }
            _requests++;
            _outcome.HeadDone = Stopwatch.GetTimestamp();
            _frontend.Counters.RequestSeen();
            if (LogEnabled) _outcome.RequestLine = Encoding.ASCII.GetString(_request.StartLine.Of(_client.Span));

            // --- 2. answered here: the stats page, a first chunk already known bad ---
            if (_frontend.Config.Stats.Enable && _context.Stats is { } stats &&
                stats.TryServe(_request.Target.Of(_client.Span), _frontend.Config.Stats, out var page))
            {
                keepAlive = await ServeStatsAsync(page);
                continue;
            }
            if (_request.BodyFraming == BodyFraming.Chunked && !_relay.ChunksLookValid(_client.Span[_request.HeadEnd..]))
            {
                LogRejected(Log, _frontend.Name, "chunked body: " + _relay.ChunkRejection, _client.Address);
                keepAlive = await FailAsync(TerminationCause.Proxy, TerminationPhase.Request, 400, HttpErrorPages.BadRequest400, ErrorCounter.Request);
                continue;
            }

            // --- 3. routing ---
            var backend = _frontend.Routing.Route(_request.Path.Of(_client.Span));
            if (backend is null)
            {
                LogNoBackend(Log, _frontend.Name);
                keepAlive = await FailAsync(TerminationCause.ServerAbort, TerminationPhase.Connect, 503, HttpErrorPages.ServiceUnavailable503Close);
                continue;
            }
            _outcome.Backend = backend;
            backend.Counters.RequestSeen();
            backend.Counters.SessionOpened();

            // --- 4. a server connection ---
            Waiting(Wait.Connect);
            _outcome.ConnectStart = Stopwatch.GetTimestamp();
            var acquired = await _lease.AcquireAsync(backend, firstRequest: _requests == 1, Log);
            _outcome.Server = acquired.Server;
            _outcome.Retries = acquired.Retries;
            acquired.Server?.Counters.SessionOpened();
            if (acquired.Connection is not { } upstream) { keepAlive = await ConnectFailedAsync(backend, acquired); continue; }
            _outcome.Connected = Stopwatch.GetTimestamp();
            _outcome.Reused = upstream.Requests > 0;
            upstream.Server.Counters.RequestSeen();

            // --- 5. the request, head and body ---
            var sent = await ForwardRequestAsync(upstream);
            if (sent != RelayResult.Done) { keepAlive = await RequestFailedAsync(sent); continue; }

            // --- 6. the response head; NeedMore: the connection ended or broke first ---
            upstream.EnsureBuffer(_buffers);
            ParseStatus answer;
            while ((answer = ParseFinalResponseHead(upstream)) == ParseStatus.NeedMore)
            {
                if (upstream.Length == upstream.Capacity) { answer = ParseStatus.Rejected; break; }
                Waiting(Wait.ServerRead);
                int n;
                try { n = await upstream.FillAsync(); }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { n = 0; }
                if (n == 0) break;
            }
            if (answer != ParseStatus.Complete) { keepAlive = await ResponseHeadFailedAsync(upstream, answer); continue; }
            _outcome.ResponseHead = Stopwatch.GetTimestamp();
            _outcome.Status = _response.StatusCode;

            // --- 7. the response ---
            var framing = _response.GetBodyFraming(_request.KnownMethod);
            keepAlive = _request.KeepAlive && framing is not (BodyFraming.UntilClose or BodyFraming.Tunnel) && !Draining;
            var relayed = await ForwardResponseAsync(upstream, framing, keepAlive);
            if (relayed != RelayResult.Done) { keepAlive = ResponseBodyFailed(relayed); continue; }

            // Reused only if provably clean: complete, nothing after it, keep-alive on the server's side.
            bool clean = _response.KeepAlive && framing is BodyFraming.ContentLength or BodyFraming.Chunked or BodyFraming.None;
            ReleaseUpstream(clean);
            Report();
            // A keep-alive answer promised the client its connection; if a drain came since, the idle
            // wait ends it after the grace (OnDrain) rather than now, when its next request may be on the way.
        } while (keepAlive);
    }

    // --- the request ---

    /// <summary>Reads until the head is complete, rejected, or the client stops (Closed, NeedMore = timed out or cut).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ParseStatus> ReadRequestHeadAsync()
    {
        ParseStatus status;
        while ((status = Http1Parser.ParseRequestHead(_client.Span, _request, out _)) == ParseStatus.NeedMore)
        {
            // Cannot happen with the parser's limit below bufsize; refuse rather than grow.
            if (_client.Length == _client.Capacity) return ParseStatus.Rejected;
            Waiting(Wait.RequestHead);
            int n;
            try { n = await _client.FillAsync(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { n = 0; }
            if (n == 0) return ParseStatus.NeedMore;
        }
        return status;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RelayResult> ForwardRequestAsync(UpstreamConnection upstream)
    {
        var head = _request;
        if (head.Expect100Continue && head.BodyFraming != BodyFraming.None)
        {
            // Answered here so the client starts sending at once; the server's own 100 is dropped.
            Waiting(Wait.ClientWrite);
            try { await _client.WriteAsync(Continue100); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return RelayResult.InputFailed; }
        }
        byte[]? scratch = null;
        try
        {
            HeadToSend send;
            if (head.HasHopByHop)
            {
                scratch = _buffers.Rent();
                int n = HeadWriter.WriteRequestHead(_client.Span, head, scratch);
                if (n < 0) return RelayResult.HeadTooLarge;
                send = HeadToSend.Rewrite(head.HeadEnd, scratch, n);
            }
            else send = HeadToSend.InPlace(head.HeadStart, head.HeadEnd);

            var t = _frontend.Config.Timeouts;
            _bodyBudgetMs = t.HttpRequest ?? t.Client ?? int.MaxValue;
            _inRequestBody = true;
            return await _relay.RelayAsync(_client, upstream, send, head.BodyFraming, head.ContentLength,
                Wait.ClientRead, Wait.ServerWrite, this);
        }
        finally
        {
            _inRequestBody = false;
            if (scratch is not null) _buffers.Return(scratch);
        }
    }

    // --- the response ---

    /// <summary>
    /// Parses the final response head from what the server sent so far, dropping interim (1xx)
    /// heads before it: 100 Continue was answered here.
    /// </summary>
    private ParseStatus ParseFinalResponseHead(UpstreamConnection upstream)
    {
        while (true)
        {
            var status = Http1Parser.ParseResponseHead(upstream.Span, _response, out _);
            if (status != ParseStatus.Complete || !_response.IsInterim) return status;
            upstream.Consume(_response.HeadEnd);
            _response.Reset();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RelayResult> ForwardResponseAsync(UpstreamConnection upstream, BodyFraming framing, bool keepAlive)
    {
        var head = _response;
        // RFC 9112 9.6: a connection about to close says so (and the server's keep-alive fields,
        // hop-by-hop, are not passed on); an HTTP/1.0 client that asked for keep-alive is told it got it.
        var directive = !keepAlive ? ConnectionDirective.Close
            : _request.Version == HttpVersion.Http10 ? ConnectionDirective.KeepAlive
            : ConnectionDirective.None;
        byte[]? scratch = null;
        try
        {
            HeadToSend send;
            if (head.HasHopByHop || directive != ConnectionDirective.None)
            {
                scratch = _buffers.Rent();
                int n = HeadWriter.WriteResponseHead(upstream.Span, head, scratch, directive);
                if (n < 0) return RelayResult.HeadTooLarge;
                send = HeadToSend.Rewrite(head.HeadEnd, scratch, n);
            }
            else send = HeadToSend.InPlace(head.HeadStart, head.HeadEnd);
            var result = await _relay.RelayAsync(upstream, _client, send, framing, head.ContentLength,
                Wait.ServerRead, Wait.ClientWrite, this);
            return result;
        }
        finally
        {
            if (scratch is not null) _buffers.Return(scratch);
        }
    }

    // --- answered here ---

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ServeStatsAsync(StatsReply page)
    {
        bool keep = _request.KeepAlive && _request.BodyFraming == BodyFraming.None && !Draining;
        _client.Consume(_request.HeadEnd);
        _outcome.Status = 200;
        _outcome.Fail(TerminationCause.Local, TerminationPhase.Request);
        Waiting(Wait.ClientWrite);
        try { await _client.WriteAsync(page.Build(keep)); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { keep = false; }
        Report();
        return keep;
    }

    private void ReleaseUpstream(bool clean)
    {
        if (_lease.Current is { } c)
        {
            _bytesToServer += c.TakeBytesWritten();
            _bytesFromServer += c.TakeBytesRead();
        }
        _lease.Release(clean);
    }
}
