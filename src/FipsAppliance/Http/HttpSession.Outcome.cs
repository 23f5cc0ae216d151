using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FipsAppliance.Backends;
using FipsAppliance.Http.Parsing;
using FipsAppliance.Upstream;

namespace FipsAppliance.Http;

/// <summary>How each way a request can end becomes its <see cref="RequestOutcome"/>, and the one report.</summary>
internal sealed partial class HttpSession
{
    private ValueTask<bool> RefuseRequestAsync(ParseStatus head)
    {
        if (head == ParseStatus.Rejected)
        {
            _requests++;
            _frontend.Counters.RequestSeen();
            LogRejected(Log, _frontend.Name, _request.Rejection.ToString(), _client.Address);
            var status = HttpErrorPages.StatusFor(_request.Rejection);
            return FailAsync(TerminationCause.Proxy, TerminationPhase.Request, status, HttpErrorPages.For(_request.Rejection), ErrorCounter.Request);
        }
        if (_client.Length == 0)
        {
            // Closed (or the keep-alive wait expired) before a byte of a new request: nothing to say.
            _inRequest = false;
            return ValueTask.FromResult(false);
        }
        if (TimedOut(Wait.RequestHead) || TimedOut(Wait.Idle))
        {
            // HAProxy answers 408 when a started request does not complete in `timeout http-request`.
            return FailAsync(TerminationCause.ClientTimeout, TerminationPhase.Request, 408, HttpErrorPages.RequestTimeout408, ErrorCounter.Request);
        }
        // The client closed in the middle of a head: nothing to answer.
        _outcome.Fail(TerminationCause.ClientAbort, TerminationPhase.Request);
        _outcome.Error = ErrorCounter.Request;
        Report();
        return ValueTask.FromResult(false);
    }

    private ValueTask<bool> RequestFailedAsync(RelayResult result)
    {
        switch (result)
        {
            case RelayResult.HeadTooLarge:
                LogRejected(Log, _frontend.Name, "head too large to rewrite", _client.Address);
                return FailAsync(TerminationCause.Proxy, TerminationPhase.Request, 400, HttpErrorPages.BadRequest400, ErrorCounter.Request);
            case RelayResult.BadChunk:
                LogRejected(Log, _frontend.Name, "chunked body: " + _relay.ChunkRejection, _client.Address);
                return FailAsync(TerminationCause.Proxy, TerminationPhase.Request, 400, HttpErrorPages.BadRequest400, ErrorCounter.Request);
            case RelayResult.OutputFailed when TimedOut(Wait.ServerWrite):
                if (!Killed) LogServerTimeout(Log, _outcome.Server!.FullName, _outcome.Backend!.Config.Timeouts.Server ?? 0);
                return FailAsync(TerminationCause.ServerTimeout, TerminationPhase.Headers, 504, HttpErrorPages.GatewayTimeout504Close, ErrorCounter.Response);
            case RelayResult.OutputFailed:
                // The server may have seen part of the request: no retry.
                LogServerBroke(Log, _outcome.Server!.FullName, "connection broken while sending the request");
                return FailAsync(TerminationCause.ServerAbort, TerminationPhase.Headers, 502, HttpErrorPages.BadGateway502Close, ErrorCounter.Response);
            case RelayResult.InputEnded or RelayResult.InputFailed when TimedOut(Wait.ClientRead):
                // The body did not arrive in time; the server got an incomplete request and its
                // connection is closed, so it can never mistake what follows for the rest.
                return FailAsync(TerminationCause.ClientTimeout, TerminationPhase.Data, 408, HttpErrorPages.RequestTimeout408, ErrorCounter.Request);
            default:
                // The client left mid-body: nothing to answer.
                _outcome.Fail(TerminationCause.ClientAbort, TerminationPhase.Data);
                ReleaseUpstream(clean: false);
                Report();
                return ValueTask.FromResult(false);
        }
    }

    private ValueTask<bool> ResponseHeadFailedAsync(UpstreamConnection upstream, ParseStatus status)
    {
        var server = upstream.Server;
        if (status == ParseStatus.Rejected)
        {
            LogServerBroke(Log, server.FullName, _response.Rejection != ResponseRejection.None
                ? "invalid response: " + _response.Rejection : "response head too large");
            return FailAsync(TerminationCause.Proxy, TerminationPhase.Headers, 502, HttpErrorPages.BadGateway502Close, ErrorCounter.Response);
        }
        if (TimedOut(Wait.ServerRead))
        {
            if (!Killed) LogServerTimeout(Log, server.FullName, _outcome.Backend!.Config.Timeouts.Server ?? 0);
            return FailAsync(TerminationCause.ServerTimeout, TerminationPhase.Headers, 504, HttpErrorPages.GatewayTimeout504Close, ErrorCounter.Response);
        }
        LogServerBroke(Log, server.FullName, upstream.Length > 0
            ? "connection broken in the middle of the response head"
            : "server closed the connection without a response");
        return FailAsync(TerminationCause.ServerAbort, TerminationPhase.Headers, 502, HttpErrorPages.BadGateway502Close, ErrorCounter.Response);
    }

    private bool ResponseBodyFailed(RelayResult result)
    {
        var server = _outcome.Server!;
        if (result == RelayResult.OutputFailed)
        {
            _outcome.Fail(TimedOut(Wait.ClientWrite) ? TerminationCause.ClientTimeout : TerminationCause.ClientAbort, TerminationPhase.Data);
        }
        else
        {
            // The response was cut: the client already has its head, so it must see a broken
            // connection (RST), never a clean end that could pass for a complete response.
            LogServerBroke(Log, server.FullName, result switch
            {
                RelayResult.BadChunk => "invalid chunked response: " + _relay.ChunkRejection,
                RelayResult.HeadTooLarge => "response head too large to rewrite",
                _ => "connection broken in the middle of the response",
            });
            _outcome.Fail(TimedOut(Wait.ServerRead) ? TerminationCause.ServerTimeout
                : result is RelayResult.BadChunk or RelayResult.HeadTooLarge ? TerminationCause.Proxy : TerminationCause.ServerAbort,
                TerminationPhase.Data);
            _outcome.Error = ErrorCounter.Response;
            _client.Reset();
        }
        ReleaseUpstream(clean: false);
        Report();
        return false;
    }

    private ValueTask<bool> ConnectFailedAsync(Backend backend, ConnectResult acquired)
    {
        switch (acquired.Error)
        {
            case ConnectError.Tls:
                LogTlsRefused(Log, backend.Name, acquired.Reason ?? "");
                return FailAsync(TerminationCause.ServerAbort, TerminationPhase.Connect, 502, HttpErrorPages.BadGateway502Close);
            case ConnectError.Resource:
                LogNoSocket(Log, backend.Name, acquired.Reason ?? "");
                return FailAsync(TerminationCause.Resource, TerminationPhase.Connect, 503, HttpErrorPages.ServiceUnavailable503Close);
            case ConnectError.Timeout:
                return FailAsync(TerminationCause.ServerTimeout, TerminationPhase.Connect, 503, HttpErrorPages.ServiceUnavailable503Close);
            default:
                return FailAsync(TerminationCause.ServerAbort, TerminationPhase.Connect, 503, HttpErrorPages.ServiceUnavailable503Close);
        }
    }

    /// <summary>Ends the request with a generated answer, then the client connection (every generated error closes it).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FailAsync(TerminationCause cause, TerminationPhase phase, int status, byte[] page, ErrorCounter error = ErrorCounter.None)
    {
        _outcome.Fail(cause, phase);
        _outcome.Error = error;
        ReleaseUpstream(clean: false);
        Waiting(Wait.ClientWrite);
        try
        {
            await _client.WriteAsync(page);
            _outcome.Status = status;
            _client.ShutdownSend();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        Report();
        return false;
    }

    // --- the one report per request ---

    private bool LogEnabled => _frontend.Config.Options.HttpLog && _context.AccessLog.Enabled;

    /// <summary>Counts and logs the request's outcome: called exactly once per request that began.</summary>
    private void Report()
    {
        _inRequest = false;
        Waiting(Wait.None);
        _client.ReleaseBufferIfEmpty();
        ref var o = ref _outcome;
        // Cut by hard-stop-after: whatever the interrupted wait made of it, HAProxy logs 'K'.
        if (Killed && o.Cause != TerminationCause.None) o.Cause = TerminationCause.Killed;
        long fromClient = _client.TakeBytesRead(), toClient = _client.TakeBytesSent();
        long toServer = _bytesToServer, fromServer = _bytesFromServer;
        _bytesToServer = _bytesFromServer = 0;

        var f = _frontend.Counters;
        Interlocked.Add(ref f.BytesIn, fromClient);
        Interlocked.Add(ref f.BytesOut, toClient);
        if (o.Status > 0) f.Response(o.Status);
        if (o.Error == ErrorCounter.Request) Interlocked.Increment(ref f.RequestErrors);
        // HAProxy logs %bc/%sc after the stream has left the backend and the server.
        if (o.Backend is { } b) Count(b.Counters, in o, toServer, fromServer);
        if (o.Server is { } s) Count(s.Counters, in o, toServer, fromServer);

        var options = _frontend.Config.Options;
        if (!(options.HttpLog || options.TcpLog) || !_context.AccessLog.Enabled || (options.DontLogNull && fromClient == 0)) return;
        long now = Stopwatch.GetTimestamp();
        bool local = o.Cause == TerminationCause.Local;
        // HAProxy's timers (section 8.4): -1 for a step never reached; a reused connection has Tc 0.
        string backend = local ? _frontend.Name : o.Backend?.Name ?? _frontend.Name;
        string server = local ? "<STATS>" : o.Server?.Name ?? "<NOSRV>";
        long tw = local || o.Backend is not null ? 0 : -1;
        long tc = local ? 0 : o.Connected == 0 ? -1 : o.Reused ? 0 : Ms(o.Connected - o.ConnectStart);
        long bc = o.Backend is null ? 0 : Volatile.Read(ref o.Backend.Counters.CurrentSessions);
        long sc = o.Server is null ? 0 : Volatile.Read(ref o.Server.Counters.CurrentSessions);
        if (options.TcpLog)
        {
            // `option tcplog` on an HTTP frontend: HAProxy writes its tcplog line per stream, which
            // in HTTP mode is per request.
            _context.AccessLog.Tcp(_client.Address, _client.Port, o.Received, _frontend.Name, backend, server,
                tw, tc, Ms(now - o.Start), toClient, o.TcpTerminationState,
                _context.ActiveConnections, Volatile.Read(ref f.CurrentSessions), bc, sc, o.Retries);
            return;
        }
        _context.AccessLog.Http(_client.Address, _client.Port, o.Received, _frontend.Name, backend, server,
            o.HeadDone == 0 ? -1 : Ms(o.HeadDone - o.Start),
            tw, tc,
            local ? 0 : o.ResponseHead == 0 || o.Connected == 0 ? -1 : Ms(o.ResponseHead - o.Connected),
            Ms(now - o.Start),
            o.Status, toClient, o.TerminationState,
            _context.ActiveConnections, Volatile.Read(ref f.CurrentSessions), bc, sc,
            o.Retries, o.RequestLine ?? "<BADREQ>");
    }

    private static void Count(Stats.TrafficCounters c, in RequestOutcome o, long toServer, long fromServer)
    {
        c.SessionClosed();
        Interlocked.Add(ref c.BytesIn, toServer);
        Interlocked.Add(ref c.BytesOut, fromServer);
        if (o.Status > 0) c.Response(o.Status);
        if (o.Error == ErrorCounter.Response) Interlocked.Increment(ref c.ResponseErrors);
    }

    private static long Ms(long ticks) => ticks * 1000 / Stopwatch.Frequency;
}
