using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>A request as the scripted server read it.</summary>
public sealed record SeenRequest(int Connection, string Method, string Target, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) =>
        Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    /// <summary>The test's tag for this request (X-Test-Id), else its target.</summary>
    public string Id => Header(TestIntake.TestIdHeader) ?? Target;

    /// <summary>A 200 that names the request it answers, so a client can tell an answer to another request.</summary>
    public string Ok(string extraHeaders = "") =>
        $"HTTP/1.1 200 OK\r\nX-Answer-To: {Id}\r\nContent-Length: 2\r\n{extraHeaders}\r\nok";
}

/// <summary>One connection to the scripted server, as the script sees it.</summary>
public sealed class ScriptedConnection(int id, Socket socket, Stream stream)
{
    private readonly HttpReader _reader = new(stream);

    public int Id { get; } = id;
    public Stream Stream { get; } = stream;

    /// <summary>The next request (Content-Length or chunked body read whole); null at EOF.</summary>
    public async Task<SeenRequest?> ReadRequestAsync(CancellationToken ct = default)
    {
        string? line;
        try { line = await _reader.ReadLineAsync(ct); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidDataException) { return null; }
        if (line is null) return null;
        var parts = line.Split(' ');
        var headers = new List<KeyValuePair<string, string>>();
        while (await _reader.ReadLineAsync(ct) is { Length: > 0 } h)
        {
            int colon = h.IndexOf(':');
            headers.Add(new(h[..colon], h[(colon + 1)..].Trim()));
        }
        string? Get(string n) => headers.Where(x => x.Key.Equals(n, StringComparison.OrdinalIgnoreCase)).Select(x => x.Value).FirstOrDefault();
        var body = new MemoryStream();
        if (Get("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            if (!await _reader.ReadChunkedAsync(s => body.Write(s), ct)) return null;
        }
        else if (Get("Content-Length") is { } cl)
        {
            if (!await _reader.ReadExactAsync(long.Parse(cl, System.Globalization.CultureInfo.InvariantCulture), s => body.Write(s), ct)) return null;
        }
        return new SeenRequest(Id, parts[0], parts[1], headers, body.ToArray());
    }

    /// <summary>Raw bytes as they come (no framing); 0 at EOF.</summary>
    public async Task<int> ReadRawAsync(byte[] buffer)
    {
        try { return await Stream.ReadAsync(buffer); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { return 0; }
    }

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await Stream.WriteAsync(bytes);
        await Stream.FlushAsync();
    }

    /// <summary>A clean close (TLS close_notify, then FIN).</summary>
    public async Task CloseAsync()
    {
        try
        {
            if (Stream is SslStream ssl) await ssl.ShutdownAsync();
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
    }

    /// <summary>Closes with a TCP reset.</summary>
    public void Reset()
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }
}

/// <summary>
/// A server on 127.0.0.1 that runs a script per connection: plain TCP, or TLS with a certificate
/// from the test CA (`intake.test`). Counts connections and handshakes; a handshake can be made slow.
/// </summary>
public sealed class ScriptedUpstream : IAsyncDisposable
{
    public const string HostName = "intake.test";

    private readonly TcpListener _listener;
    private readonly Func<ScriptedConnection, Task> _script;
    private readonly SslStreamCertificateContext? _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accepting;
    private int _accepted;

    public ScriptedUpstream(Func<ScriptedConnection, Task> script, TestCa? tlsCa = null)
    {
        _script = script;
        if (tlsCa is not null)
            _certificate = SslStreamCertificateContext.Create(tlsCa.Issue([HostName]).Certificate, additionalCertificates: null, offline: true);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(64);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>Serves every request with <see cref="SeenRequest.Ok"/> until the client closes.</summary>
    public static Func<ScriptedConnection, Task> AnswerEach(Func<ScriptedConnection, SeenRequest, Task>? answer = null) => async c =>
    {
        while (await c.ReadRequestAsync() is { } r)
        {
            if (answer is null) await c.SendAsync(r.Ok());
            else await answer(c, r);
        }
    };

    public int Port { get; }
    public bool Tls => _certificate is not null;
    public int Connections => Volatile.Read(ref _accepted);
    /// <summary>How long each TLS handshake waits before it starts (real time).</summary>
    public TimeSpan HandshakeDelay { get; set; }
    /// <summary>Sockets the server closed or still holds open; tests look at who closed.</summary>
    public IReadOnlyCollection<Socket> Sockets => _sockets;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            int id = Interlocked.Increment(ref _accepted);
            _sockets.Add(socket);
            _connections.Add(Task.Run(() => ServeAsync(id, socket)));
        }
    }

    private async Task ServeAsync(int id, Socket socket)
    {
        try
        {
            socket.NoDelay = true;
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (_certificate is not null)
            {
                if (HandshakeDelay > TimeSpan.Zero) await Task.Delay(HandshakeDelay, _stop.Token);
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = _certificate,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                }, _stop.Token);
                stream = ssl;
            }
            await _script(new ScriptedConnection(id, socket, stream));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or AuthenticationException or InvalidDataException) { }
        finally
        {
            socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (var s in _sockets) s.Dispose();
        try { await _accepting.WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        try { await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        _stop.Dispose();
    }
}
