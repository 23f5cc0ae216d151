using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using FipsAppliance.Backends;
using FipsAppliance.Fips;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Upstream;

/// <summary>Why no connection to a server could be had; the relay maps it to a status.</summary>
internal enum ConnectError
{
    None,
    /// <summary>No usable server in the backend (HAProxy: "no server available") — 503.</summary>
    NoServer,
    /// <summary>TCP connect refused, unreachable or timed out after every retry — 503, like HAProxy.</summary>
    Connect,
    /// <summary>TLS handshake refused (certificate, protocol, cipher) — 502.</summary>
    Tls,
    /// <summary>`timeout connect` expired during the TCP connect or the TLS handshake — 503, like HAProxy ("sC").</summary>
    Timeout,
    /// <summary>No socket could be had (EMFILE, ENOBUFS, ...): HAProxy's "R" termination — 503.</summary>
    Resource,
}

/// <summary>
/// A connection, or why none; <see cref="Server"/> is the last server tried (logged as `%s` even
/// when the attempt failed, as HAProxy does) and <see cref="Retries"/> the attempts after the first (`%rc`).
/// </summary>
internal readonly record struct ConnectResult(UpstreamConnection? Connection, ConnectError Error, string? Reason, Server? Server = null, int Retries = 0);

/// <summary>
/// Opens connections to a backend's servers with the backend's `retries` and `option redispatch`:
/// a failed attempt is retried on the same server, and with redispatch the last retry goes to
/// another server. A connection attempt carries nothing of the request, so retrying it is always safe.
/// `timeout connect` bounds the TCP connect and the TLS handshake together (a connection is not
/// established until it can carry a request), so the client side's timers never run meanwhile.
/// </summary>
internal static partial class Connector
{
    /// <summary>HAProxy waits forever without `timeout connect` (and warns); an appliance should not.</summary>
    private const int DefaultConnectTimeoutMs = 5_000;

    public static async ValueTask<ConnectResult> ConnectAsync(Backend backend, ILogger log, CancellationToken cancel)
    {
        // No usable server: 503 at once. HAProxy's "backend 'x' has no server available!" was
        // logged by the backend when its last server went, not per request.
        var server = backend.PickServer();
        if (server is null) return new(null, ConnectError.NoServer, "no server available");
        int retried = 0;
        int retries = Math.Max(0, backend.Config.Retries);
        bool redispatch = backend.Config.Options.Redispatch;
        int timeoutMs = backend.Config.Timeouts.Connect ?? DefaultConnectTimeoutMs;
        ConnectResult last = default;
        for (int attempt = 0; ; attempt++)
        {
            last = await ConnectOnceAsync(server, timeoutMs, cancel) with { Server = server, Retries = retried };
            if (last.Connection is not null) return last;
            Interlocked.Increment(ref server.Counters.ConnectionErrors);
            if (last.Error is ConnectError.Connect or ConnectError.Timeout or ConnectError.Tls) server.ReportConnectFailure();   // its next health check comes sooner
            LogConnectFailed(log, server.FullName, server.Address, last.Reason ?? "", attempt + 1, retries + 1);
            // Out of sockets: another attempt now would fail the same way; answer at once.
            if (attempt >= retries || cancel.IsCancellationRequested || last.Error == ConnectError.Resource)
            {
                Interlocked.Increment(ref backend.Counters.ConnectionErrors);
                return last;
            }
            retried++;
            Interlocked.Increment(ref server.Counters.Retries);
            Interlocked.Increment(ref backend.Counters.Retries);
            if (redispatch && attempt == retries - 1)
            {
                var other = backend.PickServer(avoid: server);
                if (other is null) return new(null, ConnectError.NoServer, "no server available", server, retried);
                if (other != server)
                {
                    Interlocked.Increment(ref backend.Counters.Redispatches);
                    server = other;
                }
            }
        }
    }

    private static async ValueTask<ConnectResult> ConnectOnceAsync(Server server, int timeoutMs, CancellationToken cancel)
    {
        var endPoint = server.EndPoint;
        if (endPoint is null) return new(null, ConnectError.NoServer, "server has no address");
        // Near the descriptor limit an idle connection makes room for this one (tune.pool-high-fd-ratio).
        server.Pool.CloseOneForNewConnection();
        Socket socket;
        try
        {
            socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        }
        catch (SocketException e)
        {
            // socket() itself failed: EMFILE/ENFILE past the fd limit, ENOBUFS. The request still
            // gets its 503 (before, this escaped the session and the client got no answer).
            return new(null, ConnectError.Resource, SocketReason(e.SocketErrorCode));
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(timeoutMs);
        try
        {
            await socket.ConnectAsync(endPoint, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            return new(null, ConnectError.Timeout, $"connection timeout after {timeoutMs}ms");
        }
        catch (SocketException e)
        {
            socket.Dispose();
            var error = e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable
                ? ConnectError.Resource : ConnectError.Connect;
            return new(null, error, SocketReason(e.SocketErrorCode));
        }

        if (server.Tls is not { } policy)
        {
            // Plain servers are only reached by cfgs that say so (no `ssl`); the intake path always has TLS.
            return new(new UpstreamConnection(server, socket, null), ConnectError.None, null);
        }

        var stream = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            await stream.AuthenticateAsClientAsync(policy.Options, timeout.Token);
            TlsBufferRelease.Apply(stream);
            Interlocked.Increment(ref server.Counters.TlsHandshakes);
            return new(new UpstreamConnection(server, socket, stream), ConnectError.None, null);
        }
        catch (OperationCanceledException)
        {
            await stream.DisposeAsync();
            return new(null, ConnectError.Timeout, $"TLS handshake timeout after {timeoutMs}ms");
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException)
        {
            await stream.DisposeAsync();
            return new(null, ConnectError.Tls, "SSL handshake failure: " + TlsPolicy.DescribeFailure(stream, e));
        }
    }

    // HAProxy's wording for layer-4 failures, which users know from its logs.
    private static string SocketReason(SocketError e) => e switch
    {
        SocketError.ConnectionRefused => "Connection refused",
        SocketError.TimedOut => "Connection timed out",
        SocketError.HostUnreachable => "No route to host",
        SocketError.NetworkUnreachable => "Network is unreachable",
        SocketError.TooManyOpenSockets => "Too many open files",
        SocketError.NoBufferSpaceAvailable => "No buffer space available",
        _ => e.ToString(),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connect to server {Server} ({Address}) failed: {Reason} (attempt {Attempt} of {Attempts}).")]
    private static partial void LogConnectFailed(ILogger log, string server, string address, string reason, int attempt, int attempts);
}
