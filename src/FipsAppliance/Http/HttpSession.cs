using System.Buffers;
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
/// routed by the frontend's rules, and forwarded over a kept-alive TLS connection to a server
/// with its body streamed as it arrives; the response streams back the same way.
///
/// Connections to servers follow HAProxy's `http-reuse safe`: a session's first request opens its
/// own connection; the session keeps it for its later requests, and gives it back to the server's
/// idle pool when it ends, where later requests of other sessions may take it. A request is retried
/// on another connection only when nothing of it can have reached the server (connect or TLS
/// failure, or a reused connection found closed before the head went out).
///
/// Buffers: one for client bytes, one for server bytes, each HAProxy's bufsize (16 KiB), rented
/// when the first request arrives (a connection that never sends holds none) and kept until the
/// session ends. Returning them between requests looked thriftier but measured worse: with 64
/// busy connections the shared pool ran dry and every request allocated 32 KiB afresh (peak RSS
/// 80 MB in `./build.sh bench`). The async methods of the
/// per-request path pool their state machines, so a request allocates (almost) nothing.
/// </summary>
internal sealed partial class HttpSession : TimedSession
{
    private const int BufferSize = Http1Limits.BufferSize;

    private enum Phase { WaitingRequest, KeepAliveIdle, RequestBody, WaitingResponse, ResponseBody, Done }

    private readonly Socket _client;
    private readonly Frontend _frontend;
    private readonly ProxyContext _context;
    private readonly HttpRequestHead _request = new();
    private readonly HttpResponseHead _response = new();
    private readonly ChunkedScanner _chunks = new();

    private byte[]? _in;      // client bytes: [0, _inLength)
    private int _inLength;
    private byte[]? _out;     // server bytes: [0, _outLength)
    private int _outLength;

    private UpstreamConnection? _upstream;
    /// <summary>The session's server connection finished its last exchange cleanly and may serve another.</summary>
    private bool _upstreamIdle;
    private volatile Phase _phase;
    private volatile Phase _timedOutIn = Phase.Done;
    private int _requestsOnSession;

    // Per-request facts for the log line and counters.
    private long _bytesFromClient, _bytesToClient;
    private int _status;
    private string _termination = "----";

    public HttpSession(Socket client, Frontend frontend, ProxyContext context)
    {
        _client = client;
        _frontend = frontend;
        _context = context;
    }

    private ILogger Log => _context.Log;

    // --- draining (soft stop, or a reload retired this session's model; SEAMS §2) ---
    // Minimal reaction written by lifecycle until `session` reshapes this class: the request in
    // flight finishes and is answered with `connection: close`; an idle connection is closed.

    /// <summary>
    /// An idle connection is closed on drain only once it has been idle this long. Closing at the
    /// very moment a client sends its next request loses that request (the unread bytes turn the
    /// close into an RST); a client that has just had a response is the one likely to be sending,
    /// one silent for a second is not. Measured with 5 reloads under `wrk -c16` (10 s): no error
    /// with or without this grace, so it narrows a race rather than fixing an observed failure;
    /// the model calls Drain again every 100-250 ms, so idle connections still go within ~1 s.
    /// </summary>
    private const int DrainIdleGraceMs = 1000;
    private volatile bool _draining;
    private long _idleSince = Environment.TickCount64;

    /// <summary>Asks the session to end (called again by the model while it drains, for sessions that became idle since).</summary>
    public void Drain()
    {
        _draining = true;
        if (_phase is Phase.WaitingRequest or Phase.KeepAliveIdle && Volatile.Read(ref _inLength) == 0
            && Environment.TickCount64 - Volatile.Read(ref _idleSince) >= DrainIdleGraceMs)
        {
            // Wakes the wait for the next request with an EOF: the session ends without a reply.
            try { _client.Shutdown(SocketShutdown.Receive); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
    }

    /// <summary>
    /// Timeouts abort the wait in progress without cancellation tokens on the I/O calls (a token
    /// registration per read and write was measurable in `./build.sh bench`): a client read is
    /// woken by shutdown(SHUT_RD), which makes it return 0 while the socket can still send the 408;
    /// a server wait by closing the server connection, so the 504 still reaches the client.
    /// </summary>
    public override void OnTimeout()
    {
        var phase = _phase;
        _timedOutIn = phase;
        try
        {
            switch (phase)
            {
                case Phase.WaitingRequest or Phase.KeepAliveIdle:
                    _client.Shutdown(SocketShutdown.Receive);
                    break;
                case Phase.WaitingResponse:
                    _upstream?.Dispose();
                    break;
                default:
                    _upstream?.Dispose();
                    _client.Dispose();
                    break;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    public async Task RunAsync()
    {
        SessionTimer.Register(this);
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await HandleOneRequestAsync();
                }
                finally
                {
                    Interlocked.Add(ref _frontend.Counters.BytesIn, _bytesFromClient);
                    Interlocked.Add(ref _frontend.Counters.BytesOut, _bytesToClient);
                    _bytesFromClient = _bytesToClient = 0;
                }
                if (!more) break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away or a timeout fired while nothing could be answered any more.
        }
        finally
        {
            _phase = Phase.Done;
            SessionTimer.Unregister(this);
            ReleaseUpstream(reusable: _upstreamIdle);
            ReturnBuffers();
            try { _client.Dispose(); } catch (ObjectDisposedException) { }
        }
    }

    /// <summary>One request and its response. Returns true when the client connection carries on.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleOneRequestAsync()
    {
        var t = _frontend.Config.Timeouts;
        bool first = _requestsOnSession == 0;
        _request.Reset();
        _response.Reset();
        _status = 0;
        _termination = "----";

        // --- 1. the request head ---
        Volatile.Write(ref _idleSince, Environment.TickCount64);
        _phase = first ? Phase.WaitingRequest : Phase.KeepAliveIdle;
        ArmTimeout(first ? t.HttpRequest ?? t.Client : t.HttpKeepAlive ?? t.HttpRequest ?? t.Client);
        if (_inLength == 0 && !await WaitReadableAsync()) return false;
        _in ??= ArrayPool<byte>.Shared.Rent(BufferSize);
        var received = DateTime.UtcNow;
        long start = Stopwatch.GetTimestamp();
        if (_phase == Phase.KeepAliveIdle)
        {
            _phase = Phase.WaitingRequest;
            ArmTimeout(t.HttpRequest ?? t.Client);
        }

        ParseStatus status;
        while ((status = Http1Parser.ParseRequestHead(_in.AsSpan(0, _inLength), _request, out _)) == ParseStatus.NeedMore)
        {
            if (_inLength == _in.Length)
            {
                // Cannot happen with the parser's limit below bufsize; refuse rather than grow.
                status = ParseStatus.Rejected;
                break;
            }
            int n = await _client.ReceiveAsync(_in.AsMemory(_inLength), SocketFlags.None);
            if (n == 0 && _timedOutIn == Phase.WaitingRequest && _inLength > 0)
            {
                // HAProxy answers 408 when a started request does not complete in `timeout http-request`.
                Interlocked.Increment(ref _frontend.Counters.RequestErrors);
                await ReplyErrorAndCloseAsync(HttpErrorPages.RequestTimeout408, 408, "cR--", received, start, null);
                return false;
            }
            if (n == 0)
            {
                // The client closed in the middle of a head: nothing to answer.
                if (_inLength > 0) Interlocked.Increment(ref _frontend.Counters.RequestErrors);
                return false;
            }
            _inLength += n;
            _bytesFromClient += n;
        }
        _requestsOnSession++;
        _frontend.Counters.RequestSeen();

        if (status == ParseStatus.Rejected)
        {
            Interlocked.Increment(ref _frontend.Counters.RequestErrors);
            LogRejected(Log, _frontend.Name, _request.Rejection.ToString(), ProxyContext.Peer(_client).Address);
            var page = HttpErrorPages.For(_request.Rejection);
            await ReplyErrorAndCloseAsync(page, HttpErrorPages.StatusFor(_request.Rejection), "PR--", received, start, null);
            return false;
        }
        long headDone = Stopwatch.GetTimestamp();
        var path = _request.Path.Of(_in);

        // --- 2. the stats page, answered here ---
        if (_frontend.Config.Stats.Enable && _context.Stats is { } stats && stats.TryServe(_request.Target.Of(_in), _frontend.Config.Stats, out var page2))
        {
            bool keep = _request.KeepAlive && _request.BodyFraming == BodyFraming.None && !_draining;
            ConsumeRequestBytes(_request.HeadEnd);
            await SendToClientAsync(page2.Build(keep));
            _status = 200;
            _frontend.Counters.Response(200);
            LogRequest(received, start, headDone, null, null, 0, 0);
            return keep;
        }

        // A chunked body whose first bytes are already here and already wrong is refused before
        // anything goes to a server.
        if (_request.BodyFraming == BodyFraming.Chunked && _inLength > _request.HeadEnd)
        {
            _chunks.Reset();
            if (_chunks.Scan(_in.AsSpan(_request.HeadEnd, _inLength - _request.HeadEnd), out _) == ChunkStatus.Rejected)
            {
                Interlocked.Increment(ref _frontend.Counters.RequestErrors);
                LogRejected(Log, _frontend.Name, "chunked body: " + _chunks.Rejection, ProxyContext.Peer(_client).Address);
                await ReplyErrorAndCloseAsync(HttpErrorPages.BadRequest400, 400, "PR--", received, start, null);
                return false;
            }
        }

        // --- 3. routing ---
        var backend = _frontend.Routing.Route(path);
        if (backend is null)
        {
            _termination = "SC--";
            LogNoBackend(Log, _frontend.Name);
            await ReplyErrorAndCloseAsync(HttpErrorPages.ServiceUnavailable503Close, 503, "SC--", received, start, null);
            return false;
        }
        backend.Counters.RequestSeen();

        // --- 4. a connection to a server ---
        long connectStart = Stopwatch.GetTimestamp();
        var acquired = await AcquireUpstreamAsync(backend, first);
        if (acquired.Connection is null)
        {
            int code = acquired.Error == ConnectError.Tls ? 502 : 503;
            if (acquired.Error == ConnectError.Tls)
                LogTlsRefused(Log, backend.Name, acquired.Reason ?? "");
            await ReplyErrorAndCloseAsync(code == 502 ? HttpErrorPages.BadGateway502Close : HttpErrorPages.ServiceUnavailable503Close,
                code, "SC--", received, start, backend);
            return false;
        }
        var upstream = acquired.Connection;
        var server = upstream.Server;
        long connected = Stopwatch.GetTimestamp();
        server.Counters.RequestSeen();

        // --- 5. the request: head and body ---
        if (_request.Expect100Continue && _request.BodyFraming != BodyFraming.None)
        {
            // Answered here so the client starts sending at once; the server's own 100 is dropped below.
            await SendToClientAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray());
        }
        _phase = Phase.RequestBody;
        _upstreamIdle = false;
        long sentToServer;
        try
        {
            sentToServer = await ForwardRequestAsync(upstream, backend);
        }
        catch (Exception e) when (_timedOutIn == Phase.RequestBody && e is IOException or SocketException or ObjectDisposedException)
        {
            _termination = "cD--";
            DropUpstream();
            return false;
        }
        catch (ClientRequestException e)
        {
            // The body broke the rules (bad chunk) or the client left mid-body: the server got an
            // incomplete request, which it will discard when the connection closes.
            DropUpstream();
            if (e.Status != 0)
            {
                Interlocked.Increment(ref _frontend.Counters.RequestErrors);
                await ReplyErrorAndCloseAsync(HttpErrorPages.BadRequest400, 400, "PR--", received, start, backend);
            }
            else
            {
                _termination = "CD--";
                LogRequest(received, start, headDone, backend, server, connected - connectStart, 0);
            }
            return false;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Writing to the server failed: it may have seen part of the request, so no retry.
            DropUpstream();
            Interlocked.Increment(ref server.Counters.ResponseErrors);
            Interlocked.Increment(ref backend.Counters.ResponseErrors);
            LogServerBroke(Log, server.FullName, "connection broken while sending the request");
            await ReplyErrorAndCloseAsync(HttpErrorPages.BadGateway502Close, 502, "SH--", received, start, backend);
            return false;
        }
        Interlocked.Add(ref server.Counters.BytesIn, sentToServer);
        Interlocked.Add(ref backend.Counters.BytesIn, sentToServer);

        // --- 6. the response ---
        _phase = Phase.WaitingResponse;
        ArmTimeout(backend.Config.Timeouts.Server);
        long responseStart = Stopwatch.GetTimestamp();
        bool clientKeepAlive;
        try
        {
            var framing = await ReadResponseHeadAsync(upstream);
            if (framing is null)
            {
                DropUpstream();
                Interlocked.Increment(ref server.Counters.ResponseErrors);
                Interlocked.Increment(ref backend.Counters.ResponseErrors);
                LogServerBroke(Log, server.FullName, _response.Rejection != ResponseRejection.None
                    ? "invalid response: " + _response.Rejection
                    : "server closed the connection without a response");
                await ReplyErrorAndCloseAsync(HttpErrorPages.BadGateway502Close, 502, "SH--", received, start, backend);
                return false;
            }
            _status = _response.StatusCode;
            long headersIn = Stopwatch.GetTimestamp();
            clientKeepAlive = _request.KeepAlive && !_draining && framing != BodyFraming.UntilClose && framing != BodyFraming.Tunnel;
            _phase = Phase.ResponseBody;
            bool upstreamReusable = await ForwardResponseAsync(upstream, backend, framing.Value, clientKeepAlive);
            server.Counters.Response(_status);
            backend.Counters.Response(_status);
            _frontend.Counters.Response(_status);
            upstream.Requests++;
            if (!upstreamReusable) DropUpstream();
            else
            {
                _upstreamIdle = true;
                upstream.IdleSinceTicks = Environment.TickCount64;
            }
            LogRequest(received, start, headDone, backend, server, connected - connectStart, headersIn - responseStart);
        }
        catch (Exception e) when (_timedOutIn == Phase.WaitingResponse && e is IOException or SocketException or ObjectDisposedException)
        {
            DropUpstream();
            Interlocked.Increment(ref server.Counters.ResponseErrors);
            Interlocked.Increment(ref backend.Counters.ResponseErrors);
            LogServerTimeout(Log, server.FullName, backend.Config.Timeouts.Server ?? 0);
            await ReplyErrorAndCloseAsync(HttpErrorPages.GatewayTimeout504Close, 504, "sH--", received, start, backend);
            return false;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The response was cut: the client already has its head, so it must see a broken
            // connection (RST), never a clean end that could pass for a complete response.
            DropUpstream();
            Interlocked.Increment(ref server.Counters.ResponseErrors);
            Interlocked.Increment(ref backend.Counters.ResponseErrors);
            if (_phase == Phase.WaitingResponse)
            {
                LogServerBroke(Log, server.FullName, "connection broken before the response");
                await ReplyErrorAndCloseAsync(HttpErrorPages.BadGateway502Close, 502, "SH--", received, start, backend);
            }
            else
            {
                LogServerBroke(Log, server.FullName, "connection broken in the middle of the response");
                _termination = "SD--";
                ResetClient();
            }
            return false;
        }
        return clientKeepAlive;
    }

    // --- upstream connection handling ---

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectResult> AcquireUpstreamAsync(Backend backend, bool firstRequest)
    {
        if (_upstream is { } pinned)
        {
            // A connection used moments ago is not polled (a syscall per request): servers close
            // idle keep-alive connections after seconds, not milliseconds.
            bool fresh = Environment.TickCount64 - pinned.IdleSinceTicks < 1000;
            if (pinned.Server.Backend == backend && pinned.Server.IsUsable && (fresh || pinned.LooksAlive()))
            {
                Interlocked.Increment(ref pinned.Server.Counters.ConnectionReuses);
                return new(pinned, ConnectError.None, null);
            }
            ReleaseUpstream(reusable: _upstreamIdle && pinned.Server.Backend != backend);
        }
        if (!firstRequest)
        {
            // http-reuse safe: only a session's later requests may ride an idle connection.
            var server = backend.PickServer();
            if (server?.Pool.TryTake() is { } idle)
            {
                Interlocked.Increment(ref server.Counters.ConnectionReuses);
                Interlocked.Increment(ref server.ActiveConnections);
                server.Counters.SessionOpened();
                _upstream = idle;
                return new(idle, ConnectError.None, null);
            }
        }
        var result = await Connector.ConnectAsync(backend, Log, CancellationToken.None);
        if (result.Connection is { } c)
        {
            Interlocked.Increment(ref c.Server.ActiveConnections);
            c.Server.Counters.SessionOpened();
            _upstream = c;
        }
        return result;
    }

    /// <summary>Gives the session's connection back to its server's pool, or closes it.</summary>
    private void ReleaseUpstream(bool reusable)
    {
        var c = _upstream;
        if (c is null) return;
        _upstream = null;
        _upstreamIdle = false;
        Interlocked.Decrement(ref c.Server.ActiveConnections);
        c.Server.Counters.SessionClosed();
        if (reusable) c.Server.Pool.Return(c);
        else c.Dispose();
    }

    private void DropUpstream() => ReleaseUpstream(reusable: false);

    // --- request forwarding ---

    /// <summary>Sends the head and streams the body; returns the bytes sent to the server.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> ForwardRequestAsync(UpstreamConnection upstream, Backend backend)
    {
        var stream = upstream.Stream;
        var t = _frontend.Config.Timeouts;
        var head = _request;
        long sent = 0;
        int bodyStart = head.HeadEnd;
        int buffered = _inLength - bodyStart;

        // Head (and as much of the body as is already here) in one write when the head needs no
        // rewriting: one TLS record, one syscall for a typical Agent payload.
        if (!head.HasHopByHop && head.BodyFraming != BodyFraming.Chunked)
        {
            long take = head.BodyFraming == BodyFraming.ContentLength ? Math.Min(buffered, head.ContentLength) : 0;
            int end = bodyStart + (int)take;
            await stream.WriteAsync(_in.AsMemory(head.HeadStart, end - head.HeadStart));
            sent += end - head.HeadStart;
            ConsumeRequestBytes(end);
            if (head.BodyFraming == BodyFraming.ContentLength)
                sent += await StreamContentLengthAsync(stream, head.ContentLength - take, t.Client);
            return sent;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int n = HeadWriter.WriteRequestHead(_in, head, scratch);
            if (n < 0) throw new ClientRequestException(400);
            await stream.WriteAsync(scratch.AsMemory(0, n));
            sent += n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
        ConsumeRequestBytes(bodyStart);
        switch (head.BodyFraming)
        {
            case BodyFraming.ContentLength:
                sent += await StreamContentLengthAsync(stream, head.ContentLength, t.Client);
                break;
            case BodyFraming.Chunked:
                sent += await StreamChunkedRequestAsync(stream, t.Client);
                break;
        }
        return sent;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> StreamContentLengthAsync(Stream server, long remaining, int? clientTimeout)
    {
        long sent = 0;
        while (remaining > 0)
        {
            if (_inLength == 0)
            {
                ArmTimeout(clientTimeout);
                int n = await _client.ReceiveAsync(_in.AsMemory(0, (int)Math.Min(_in!.Length, remaining)), SocketFlags.None);
                if (n == 0) throw new ClientRequestException(0);
                _inLength = n;
                _bytesFromClient += n;
            }
            int take = (int)Math.Min(_inLength, remaining);
            await server.WriteAsync(_in.AsMemory(0, take));
            ConsumeRequestBytes(take);
            remaining -= take;
            sent += take;
        }
        return sent;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> StreamChunkedRequestAsync(Stream server, int? clientTimeout)
    {
        _chunks.Reset();
        long sent = 0;
        while (true)
        {
            if (_inLength == 0)
            {
                ArmTimeout(clientTimeout);
                int n = await _client.ReceiveAsync(_in.AsMemory(), SocketFlags.None);
                if (n == 0) throw new ClientRequestException(0);
                _inLength = n;
                _bytesFromClient += n;
            }
            // Only bytes the scanner accepted go to the server: a bad chunk is refused before it leaves.
            var status = _chunks.Scan(_in.AsSpan(0, _inLength), out int consumed);
            if (status == ChunkStatus.Rejected) throw new ClientRequestException(400);
            if (consumed > 0)
            {
                await server.WriteAsync(_in.AsMemory(0, consumed));
                sent += consumed;
                ConsumeRequestBytes(consumed);
            }
            if (status == ChunkStatus.Done) return sent;
        }
    }

    /// <summary>Drops the first <paramref name="count"/> client bytes, keeping what follows (pipelined requests).</summary>
    private void ConsumeRequestBytes(int count)
    {
        int rest = _inLength - count;
        if (rest > 0) Buffer.BlockCopy(_in!, count, _in!, 0, rest);
        _inLength = rest;
    }

    // --- response forwarding ---

    /// <summary>Reads the final response head (interim 1xx dropped); null when the server broke or lied.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<BodyFraming?> ReadResponseHeadAsync(UpstreamConnection upstream)
    {
        var stream = upstream.Stream;
        _out ??= ArrayPool<byte>.Shared.Rent(BufferSize);
        while (true)
        {
            _response.Reset();
            ParseStatus status;
            while ((status = Http1Parser.ParseResponseHead(_out.AsSpan(0, _outLength), _response, out _)) == ParseStatus.NeedMore)
            {
                if (_outLength == _out.Length) return null;
                int n = await stream.ReadAsync(_out.AsMemory(_outLength));
                if (n == 0) return null;
                _outLength += n;
            }
            if (status == ParseStatus.Rejected) return null;
            if (!_response.IsInterim) return _response.GetBodyFraming(_request.KnownMethod);
            // 100 Continue (already answered to the client) and other interim responses: dropped.
            ConsumeResponseBytes(_response.HeadEnd);
        }
    }

    /// <summary>Forwards head and body to the client. Returns whether the server connection can carry another request.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardResponseAsync(UpstreamConnection upstream, Backend backend, BodyFraming framing, bool clientKeepAlive)
    {
        var stream = upstream.Stream;
        var head = _response;
        int? serverTimeout = backend.Config.Timeouts.Server;
        long fromServer = 0;
        // An HTTP/1.0 client that asked for keep-alive must be told it got it; a client whose
        // connection we are about to close must be told so.
        var directive = !clientKeepAlive && _request.KeepAlive ? ConnectionDirective.Close
            : clientKeepAlive && _request.Version == HttpVersion.Http10 ? ConnectionDirective.KeepAlive
            : ConnectionDirective.None;

        int bodyStart = head.HeadEnd;
        if (!head.HasHopByHop && directive == ConnectionDirective.None && framing != BodyFraming.Chunked)
        {
            long take = framing switch
            {
                BodyFraming.ContentLength => Math.Min(_outLength - bodyStart, head.ContentLength),
                BodyFraming.UntilClose => _outLength - bodyStart,
                _ => 0,
            };
            int end = bodyStart + (int)take;
            await SendToClientAsync(_out.AsMemory(head.HeadStart, end - head.HeadStart));
            fromServer += end;
            ConsumeResponseBytes(end);
            if (framing == BodyFraming.ContentLength) take = head.ContentLength - take;
            else take = 0;
            _phase = Phase.ResponseBody;
            if (framing == BodyFraming.ContentLength) fromServer += await StreamResponseLengthAsync(stream, take, serverTimeout);
            else if (framing == BodyFraming.UntilClose) fromServer += await StreamResponseUntilCloseAsync(stream, serverTimeout);
        }
        else
        {
            var scratch = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                int n = HeadWriter.WriteResponseHead(_out, head, scratch, directive);
                if (n < 0) throw new IOException("response head too large to rewrite");
                await SendToClientAsync(scratch.AsMemory(0, n));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
            fromServer += bodyStart;
            ConsumeResponseBytes(bodyStart);
            switch (framing)
            {
                case BodyFraming.ContentLength:
                    fromServer += await StreamResponseLengthAsync(stream, head.ContentLength, serverTimeout);
                    break;
                case BodyFraming.Chunked:
                    fromServer += await StreamResponseChunkedAsync(stream, serverTimeout);
                    break;
                case BodyFraming.UntilClose:
                    fromServer += await StreamResponseUntilCloseAsync(stream, serverTimeout);
                    break;
            }
        }
        Interlocked.Add(ref upstream.Server.Counters.BytesOut, fromServer);
        Interlocked.Add(ref backend.Counters.BytesOut, fromServer);
        // Bytes beyond the response (a server must not send any) make the connection unusable.
        return head.KeepAlive && framing is BodyFraming.ContentLength or BodyFraming.Chunked or BodyFraming.None && _outLength == 0;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> StreamResponseLengthAsync(Stream server, long remaining, int? serverTimeout)
    {
        long total = 0;
        while (remaining > 0)
        {
            if (_outLength == 0)
            {
                ArmTimeout(serverTimeout);
                int n = await server.ReadAsync(_out.AsMemory(0, (int)Math.Min(_out!.Length, remaining)));
                if (n == 0) throw new IOException("server closed mid-response");
                _outLength = n;
            }
            int take = (int)Math.Min(_outLength, remaining);
            await SendToClientAsync(_out.AsMemory(0, take));
            ConsumeResponseBytes(take);
            remaining -= take;
            total += take;
        }
        return total;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> StreamResponseChunkedAsync(Stream server, int? serverTimeout)
    {
        _chunks.Reset();
        long total = 0;
        while (true)
        {
            if (_outLength == 0)
            {
                ArmTimeout(serverTimeout);
                int n = await server.ReadAsync(_out.AsMemory());
                if (n == 0) throw new IOException("server closed mid-response");
                _outLength = n;
            }
            var status = _chunks.Scan(_out.AsSpan(0, _outLength), out int consumed);
            if (status == ChunkStatus.Rejected) throw new IOException("invalid chunked response: " + _chunks.Rejection);
            if (consumed > 0)
            {
                await SendToClientAsync(_out.AsMemory(0, consumed));
                ConsumeResponseBytes(consumed);
                total += consumed;
            }
            if (status == ChunkStatus.Done) return total;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> StreamResponseUntilCloseAsync(Stream server, int? serverTimeout)
    {
        long total = 0;
        if (_outLength > 0)
        {
            // Body bytes that came with the head.
            total += _outLength;
            await SendToClientAsync(_out.AsMemory(0, _outLength));
            _outLength = 0;
        }
        while (true)
        {
            ArmTimeout(serverTimeout);
            int n = await server.ReadAsync(_out.AsMemory());
            if (n == 0) return total;
            await SendToClientAsync(_out.AsMemory(0, n));
            total += n;
        }
    }

    private void ConsumeResponseBytes(int count)
    {
        int rest = _outLength - count;
        if (rest > 0) Buffer.BlockCopy(_out!, count, _out!, 0, rest);
        _outLength = rest;
    }

    // --- client side ---

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitReadableAsync()
    {
        try
        {
            await _client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
            return true;
        }
        catch (SocketException) { return false; }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendToClientAsync(ReadOnlyMemory<byte> data)
    {
        _bytesToClient += data.Length;
        while (!data.IsEmpty)
        {
            int n = await _client.SendAsync(data, SocketFlags.None);
            data = data[n..];
        }
    }

    private async ValueTask ReplyErrorAndCloseAsync(byte[] page, int status, string termination, DateTime received, long start, Backend? backend)
    {
        _status = status;
        _termination = termination;
        _frontend.Counters.Response(status);
        backend?.Counters.Response(status);
        try
        {
            await SendToClientAsync(page);
            _client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException) { }
        LogRequest(received, start, Stopwatch.GetTimestamp(), backend, null, -1, -1);
    }

    /// <summary>Closes with a TCP reset so a cut response can never look complete.</summary>
    private void ResetClient()
    {
        try
        {
            _client.LingerState = new LingerOption(true, 0);
            _client.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    private void ReturnBuffers()
    {
        if (_in is not null) { ArrayPool<byte>.Shared.Return(_in); _in = null; }
        if (_out is not null) { ArrayPool<byte>.Shared.Return(_out); _out = null; }
    }

    // --- logs ---

    private void LogRequest(DateTime received, long start, long headDone, Backend? backend, Server? server, long connectTicks, long responseTicks)
    {
        var options = _frontend.Config.Options;
        if (!options.HttpLog || !_context.AccessLog.Enabled) return;
        if (options.DontLogNull && _bytesFromClient == 0) return;
        var (address, port) = ProxyContext.Peer(_client);
        long now = Stopwatch.GetTimestamp();
        string requestLine = _in is not null && _request.StartLine.Length > 0 && _request.StartLine.End <= _in.Length
            ? Encoding.ASCII.GetString(_request.StartLine.Of(_in)) : "<BADREQ>";
        _context.AccessLog.Http(address, port, received, _frontend.Name,
            backend?.Name ?? _frontend.Name, server?.Name ?? "<NOSRV>",
            Ms(headDone - start), 0, connectTicks < 0 ? -1 : Ms(connectTicks), responseTicks < 0 ? -1 : Ms(responseTicks), Ms(now - start),
            _status, _bytesToClient, _termination,
            _context.ActiveConnections, Volatile.Read(ref _frontend.Counters.CurrentSessions),
            backend is null ? 0 : Volatile.Read(ref backend.Counters.CurrentSessions),
            server is null ? 0 : Volatile.Read(ref server.ActiveConnections), 0, requestLine);
    }

    private static long Ms(long ticks) => ticks * 1000 / Stopwatch.Frequency;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy {Frontend}: rejected a malformed request from {Client}: {Reason}.")]
    private static partial void LogRejected(ILogger log, string frontend, string reason, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy {Frontend}: no backend for the request (no use_backend matched and no default_backend).")]
    private static partial void LogNoBackend(ILogger log, string frontend);

    [LoggerMessage(Level = LogLevel.Warning, Message = "backend '{Backend}': TLS to intake refused: {Reason}.")]
    private static partial void LogTlsRefused(ILogger log, string backend, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Server {Server}: {Reason}.")]
    private static partial void LogServerBroke(ILogger log, string server, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Server {Server}: no response within timeout server ({TimeoutMs}ms).")]
    private static partial void LogServerTimeout(ILogger log, string server, int timeoutMs);
}

// Every generated 5xx ends the client connection, so it carries HAProxy's `connection: close` variant.

/// <summary>The client's body broke the rules (Status 400) or the client left mid-body (Status 0).</summary>
internal sealed class ClientRequestException(int status) : Exception
{
    public int Status { get; } = status;
}
