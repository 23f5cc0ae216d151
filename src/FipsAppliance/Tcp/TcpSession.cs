using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FipsAppliance.Backends;
using FipsAppliance.Frontends;
using FipsAppliance.Http;
using FipsAppliance.Runtime;
using FipsAppliance.Upstream;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Tcp;

/// <summary>
/// mode tcp: the client's bytes to the server over TLS and back, unchanged. Either side may stop
/// sending first (half-close): its EOF is passed on (TLS close_notify towards the server, a TCP
/// FIN towards the client) and the other direction goes on until it ends too. `timeout client`
/// and `timeout server` are inactivity limits on the whole session.
/// </summary>
internal sealed class TcpSession : TimedSession
{
    private readonly Socket _client;
    private readonly Frontend _frontend;
    private readonly ProxyContext _context;
    private readonly RelayBufferPool _buffers;
    private UpstreamConnection? _upstream;
    private int _idleTimeoutMs;
    private volatile bool _timedOut;
    private volatile bool _killed;
    private long _toServer, _toClient;

    public TcpSession(Socket client, Frontend frontend, ProxyContext context, SessionTimer timer) : base(timer)
    {
        _client = client;
        _frontend = frontend;
        _context = context;
        _buffers = timer.Buffers;
    }

    public override void OnTimeout()
    {
        // Data moved after this deadline expired: the session was not idle that long.
        if (ArmedSinceExpiry) return;
        _timedOut = true;
        Abort();
    }

    public override void OnKill()
    {
        _killed = true;
        Abort();
    }

    /// <summary>A TCP session cannot be told to finish: it goes on until it ends (hard-stop-after cuts it).</summary>
    public override void OnDrain() { }

    private void Abort()
    {
        try { _client.Dispose(); } catch (ObjectDisposedException) { }
        _upstream?.Dispose();
    }

    public async Task RunAsync()
    {
        var accepted = DateTime.UtcNow;
        long start = Stopwatch.GetTimestamp();
        var (clientAddress, clientPort) = ProxyContext.Peer(_client);
        var options = _frontend.Config.Options;
        if (_context.AccessLog.WritesConnectLine(_frontend.Name, options.HttpLog, options.TcpLog))
        {
            // HAProxy's default format: one line when the connection is accepted (no dontlognull: no data yet).
            var (local, localPort) = ProxyContext.Local(_client);
            _context.AccessLog.Connect(clientAddress, clientPort, local, localPort, _frontend.Name, http: false);
        }
        var backend = _frontend.Routing.Default;
        long bytesToClient = 0, bytesToServer = 0;
        string termination = "--";
        long tc = -1;
        Server? triedServer = null;
        int retries = 0;
        Timer.Register(this);
        try
        {
            if (backend is null)
            {
                termination = "SC";
                return;
            }
            backend.Counters.SessionOpened();
            var t = _frontend.Config.Timeouts;
            _idleTimeoutMs = Math.Min(t.Client ?? int.MaxValue, backend.Config.Timeouts.Server ?? int.MaxValue);
            if (_idleTimeoutMs == int.MaxValue) _idleTimeoutMs = 0;

            var result = await Connector.ConnectAsync(backend, _context.Log, CancellationToken.None);
            tc = (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            triedServer = result.Server;
            retries = result.Retries;
            if (result.Connection is null)
            {
                tc = -1;
                termination = result.Error switch
                {
                    ConnectError.Resource => "RC",
                    ConnectError.Timeout => "sC",
                    _ => "SC",
                };
                return;
            }
            _upstream = result.Connection;
            var server = _upstream.Server;
            Interlocked.Increment(ref server.ActiveConnections);
            server.Counters.SessionOpened();
            try
            {
                ArmTimeout(_idleTimeoutMs);
                var up = PumpClientToServerAsync();
                var down = PumpServerToClientAsync();
                await Task.WhenAll(up, down);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                termination = _killed ? "KD" : _timedOut ? "cD" : "SD";
            }
            finally
            {
                // Counted as they flowed, so a session cut by a reset or a timeout still reports its bytes.
                bytesToServer = Volatile.Read(ref _toServer);
                bytesToClient = Volatile.Read(ref _toClient);
                Interlocked.Decrement(ref server.ActiveConnections);
                server.Counters.SessionClosed();
                Interlocked.Add(ref server.Counters.BytesIn, bytesToServer);
                Interlocked.Add(ref server.Counters.BytesOut, bytesToClient);
            }
        }
        finally
        {
            Timer.Unregister(this);
            Abort();
            backend?.Counters.SessionClosed();
            Interlocked.Add(ref _frontend.Counters.BytesIn, bytesToServer);
            Interlocked.Add(ref _frontend.Counters.BytesOut, bytesToClient);
            if (backend is not null)
            {
                Interlocked.Add(ref backend.Counters.BytesIn, bytesToServer);
                Interlocked.Add(ref backend.Counters.BytesOut, bytesToClient);
            }
            if (_frontend.Config.Options.TcpLog && _context.AccessLog.Enabled
                && !(_frontend.Config.Options.DontLogNull && bytesToServer == 0 && bytesToClient == 0))
            {
                _context.AccessLog.Tcp(clientAddress, clientPort, accepted, _frontend.Name,
                    backend?.Name ?? _frontend.Name, triedServer?.Name ?? "<NOSRV>",
                    0, tc, (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds, bytesToClient, termination,
                    _context.ActiveConnections, Volatile.Read(ref _frontend.Counters.CurrentSessions),
                    backend is null ? 0 : Volatile.Read(ref backend.Counters.CurrentSessions),
                    _upstream is null ? 0 : Volatile.Read(ref _upstream.Server.ActiveConnections), retries);
            }
        }
    }

    private async Task PumpClientToServerAsync()
    {
        var upstream = _upstream!;
        var stream = upstream.Stream;
        // Wait for data before taking a buffer, so a session that never sends holds none; then
        // keep it for the session (a TCP stream has no pause worth returning it at).
        await _client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
        var buffer = _buffers.Rent();
        try
        {
            while (true)
            {
                int n = await _client.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
                if (n == 0)
                {
                    // Client finished sending: pass the EOF on, keep reading the server's answer.
                    if (upstream.Tls is { } tls) await tls.ShutdownAsync();
                    upstream.Socket.Shutdown(SocketShutdown.Send);
                    return;
                }
                await stream.WriteAsync(buffer.AsMemory(0, n));
                Interlocked.Add(ref _toServer, n);
                ArmTimeout(_idleTimeoutMs);
            }
        }
        finally
        {
            _buffers.Return(buffer);
        }
    }

    private async Task PumpServerToClientAsync()
    {
        var stream = _upstream!.Stream;
#pragma warning disable CA2022 // a zero-byte read only waits for data; nothing is lost
        await stream.ReadAsync(Memory<byte>.Empty);
#pragma warning restore CA2022
        var buffer = _buffers.Rent();
        try
        {
            while (true)
            {
                int n = await stream.ReadAsync(buffer.AsMemory());
                if (n == 0)
                {
                    _client.Shutdown(SocketShutdown.Send);
                    return;
                }
                await SendAllAsync(_client, buffer.AsMemory(0, n));
                Interlocked.Add(ref _toClient, n);
                ArmTimeout(_idleTimeoutMs);
            }
        }
        finally
        {
            _buffers.Return(buffer);
        }
    }

    internal static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = await socket.SendAsync(data, SocketFlags.None);
            data = data[n..];
        }
    }
}
