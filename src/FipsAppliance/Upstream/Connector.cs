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
}

internal readonly record struct ConnectResult(UpstreamConnection? Connection, ConnectError Error, string? Reason);

/// <summary>
/// Opens connections to a backend's servers with the backend's `retries` and `option redispatch`:
/// a failed attempt is retried on the same server, and with redispatch the last retry goes to
/// another server. A connection attempt carries nothing of the request, so retrying it is always safe.
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
        int retries = Math.Max(0, backend.Config.Retries);
        bool redispatch = backend.Config.Options.Redispatch;
        int timeoutMs = backend.Config.Timeouts.Connect ?? DefaultConnectTimeoutMs;
        ConnectResult last = default;
        for (int attempt = 0; ; attempt++)
        {
            last = await ConnectOnceAsync(server, timeoutMs, cancel);
            if (last.Connection is not null) return last;
            Interlocked.Increment(ref server.Counters.ConnectionErrors);
            if (last.Error is ConnectError.Connect or ConnectError.Tls) server.ReportConnectFailure();   // its next health check comes sooner
            LogConnectFailed(log, server.FullName, server.Address, last.Reason ?? "", attempt + 1, retries + 1);
            if (attempt >= retries || cancel.IsCancellationRequested)
            {
                Interlocked.Increment(ref backend.Counters.ConnectionErrors);
                return last;
            }
            Interlocked.Increment(ref server.Counters.Retries);
            Interlocked.Increment(ref backend.Counters.Retries);
            if (redispatch && attempt == retries - 1)
            {
                var other = backend.PickServer(avoid: server);
                if (other is null) return new(null, ConnectError.NoServer, "no server available");
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
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(timeoutMs);
        try
        {
            await socket.ConnectAsync(endPoint, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            return new(null, ConnectError.Connect, $"connection timeout after {timeoutMs}ms");
        }
        catch (SocketException e)
        {
            socket.Dispose();
            return new(null, ConnectError.Connect, SocketReason(e.SocketErrorCode));
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
            Interlocked.Increment(ref server.Counters.TlsHandshakes);
            return new(new UpstreamConnection(server, socket, stream), ConnectError.None, null);
        }
        catch (OperationCanceledException)
        {
            await stream.DisposeAsync();
            return new(null, ConnectError.Tls, $"TLS handshake timeout after {timeoutMs}ms");
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
        _ => e.ToString(),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connect to server {Server} ({Address}) failed: {Reason} (attempt {Attempt} of {Attempts}).")]
    private static partial void LogConnectFailed(ILogger log, string server, string address, string reason, int attempt, int attempts);
}
