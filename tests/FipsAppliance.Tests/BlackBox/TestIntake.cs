using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>How the intake answers a request. Chosen per request by the `X-Intake-Behaviour`
/// header (the relay passes it through, in mode http and mode tcp alike), else by path prefix,
/// else <see cref="TestIntake.DefaultBehaviour"/>.</summary>
public enum IntakeBehaviour
{
    /// <summary>202 with a small JSON body and Content-Length (what intake answers a good payload).</summary>
    Accept,
    /// <summary>200 with the request body as the response body.</summary>
    Echo,
    /// <summary>200 with a chunked response body.</summary>
    Chunked,
    /// <summary>200 with no Content-Length and `Connection: close`: the body ends when the connection does.</summary>
    CloseDelimited,
    /// <summary>Never answers (provokes `timeout server`).</summary>
    Stall,
    /// <summary>Sends the head and half the body it announced, then resets the connection (RST).</summary>
    Reset,
    /// <summary>Closes the connection without answering.</summary>
    Close,
    // --- an intake that says more than it was asked (issue 7): each answer names its request in X-Answer-To ---
    /// <summary>202, and in the same write a second, unasked response (`299 POISON`).</summary>
    ExtraResponse,
    /// <summary>202, then 50 ms later a second, unasked response.</summary>
    ExtraResponseLater,
    /// <summary>For HEAD: 200 with Content-Length and the body HEAD must not have.</summary>
    HeadWithBody,
    /// <summary>204 with a Content-Length and a body (a 204 has none).</summary>
    NoContentWithBody,
    /// <summary>304 with a Content-Length and a body (a 304 has none).</summary>
    NotModifiedWithBody,
    /// <summary>50 interim `102 Processing` responses, then 202.</summary>
    InterimStorm,
    /// <summary>The head and part of the body it announced, then a clean close (close_notify, FIN).</summary>
    CloseMidBody,
    /// <summary>Part of a response head, then a reset.</summary>
    ResetMidHead,
}

/// <summary>Which certificate the intake presents.</summary>
public enum IntakeCertificate
{
    /// <summary>Signed by the run's CA, naming every US1-FED intake host.</summary>
    Valid,
    /// <summary>Signed by the run's CA, naming none of the intake hosts.</summary>
    NameMismatch,
    /// <summary>Naming every intake host, but signed by a CA the relay does not trust.</summary>
    UntrustedCa,
}

/// <summary>One request as the intake received it.</summary>
public sealed record IntakeRequest(
    long ConnectionId,
    string? Sni,
    string Method,
    string Target,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    long BodyLength,
    string BodySha256,
    bool Complete)
{
    public string Path => Target.Split('?', 2)[0];
    public string? Header(string name) =>
        Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
    public string? TestId => Header(TestIntake.TestIdHeader);
}

/// <summary>
/// A TLS intake on 127.0.0.1 standing in for every `*.ddog-gov.com` host: TLS 1.2 and 1.3, HTTP/1.1
/// keep-alive, Content-Length and chunked request bodies, `Expect: 100-continue`. It records every
/// request (SNI, method, target, headers in order, body length and SHA-256) and counts TLS
/// handshakes. Tests share one intake, so each tags its requests with <see cref="TestIdHeader"/>.
/// </summary>
public sealed class TestIntake : IAsyncDisposable
{
    public const string TestIdHeader = "X-Test-Id";
    public const string BehaviourHeader = "X-Intake-Behaviour";
    public const string AcceptBody = "{\"status\":\"ok\"}";
    /// <summary>Response header naming the request (its X-Test-Id) an answer was made for.</summary>
    public const string AnswerToHeader = "X-Answer-To";
    /// <summary>What the misbehaving intake sends unasked.</summary>
    public const string Poison = "HTTP/1.1 299 POISON\r\nX-Answer-To: poison\r\nContent-Length: 6\r\n\r\nPOISON";

    public static readonly string[] Hosts =
    [
        "metrics.agent.ddog-gov.com", "api.ddog-gov.com", "flare.ddog-gov.com", "trace.agent.ddog-gov.com",
        "intake.profile.ddog-gov.com", "process.ddog-gov.com", "agent-http-intake.logs.ddog-gov.com",
        "dbm-metrics-intake.ddog-gov.com", "dbquery-intake.ddog-gov.com", "ndm-intake.ddog-gov.com",
        "snmp-traps-intake.ddog-gov.com", "instrumentation-telemetry-intake.ddog-gov.com",
        "orchestrator.ddog-gov.com", "runtime-security-http-intake.logs.ddog-gov.com",
        "cspm-intake.ddog-gov.com", "ndmflow-intake.ddog-gov.com",
    ];

    private readonly TcpListener _listener;
    private readonly SslStreamCertificateContext _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<long, Socket> _connections = new();
    private readonly ConcurrentQueue<IntakeRequest> _requests = new();
    private readonly ConcurrentDictionary<string, IntakeBehaviour> _routes = new();
    private readonly Task _acceptLoop;
    private long _nextConnectionId;
    private int _accepted;
    private int _handshakes;

    public TestIntake(TestCa ca, IntakeCertificate certificate = IntakeCertificate.Valid)
        : this(ca, certificate, IPAddress.Loopback, 0)
    {
    }

    /// <summary>An intake on <paramref name="address"/>:<paramref name="port"/> (0: any free port), e.g. one of
    /// several on 127.0.0.x that DNS points names at, or one restarted where a stopped one listened.</summary>
    public TestIntake(TestCa ca, IntakeCertificate certificate, IPAddress address, int port)
    {
        var leaf = certificate switch
        {
            IntakeCertificate.Valid => ca.Issue(Hosts),
            IntakeCertificate.NameMismatch => ca.Issue(["intake.example.net"]),
            _ => new TestCa("Some Other Root CA").Issue(Hosts),
        };
        _certificate = SslStreamCertificateContext.Create(leaf.Certificate, additionalCertificates: null, offline: true);
        _listener = new TcpListener(address, port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start(512);
        Address = address;
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }
    public IPAddress Address { get; }
    public IntakeBehaviour DefaultBehaviour { get; set; } = IntakeBehaviour.Accept;

    /// <summary>TCP connections accepted (health checks included).</summary>
    public int ConnectionsAccepted => Volatile.Read(ref _accepted);

    /// <summary>SNI names whose TLS handshakes are held this long before they start (a slow intake).</summary>
    public ConcurrentDictionary<string, TimeSpan> SlowHandshakes { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>TLS handshakes completed (a plain TCP health check does not count).</summary>
    public int Handshakes => Volatile.Read(ref _handshakes);

    public IReadOnlyList<IntakeRequest> Requests => _requests.ToArray();

    public IReadOnlyList<IntakeRequest> For(string testId) =>
        _requests.Where(r => r.TestId == testId).ToArray();

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _answered = new();

    private TaskCompletionSource AnsweredSource(string testId) =>
        _answered.GetOrAdd(testId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Completes when the intake has written all it will write for the request tagged
    /// <paramref name="testId"/> (the late, unasked bytes of <see cref="IntakeBehaviour.ExtraResponseLater"/> included).</summary>
    public Task AnsweredAsync(string testId) => AnsweredSource(testId).Task;

    /// <summary>Answers requests whose path starts with <paramref name="pathPrefix"/> this way.</summary>
    public void Route(string pathPrefix, IntakeBehaviour behaviour) => _routes[pathPrefix] = behaviour;

    /// <summary>Waits (bounded) until <paramref name="count"/> requests tagged <paramref name="testId"/>
    /// have been recorded (complete or not), and returns them.</summary>
    public async Task<IReadOnlyList<IntakeRequest>> WaitForAsync(string testId, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var seen = For(testId);
            if (seen.Count >= count || DateTime.UtcNow >= deadline) return seen;
            await Task.Delay(10);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            Interlocked.Increment(ref _accepted);
            var id = Interlocked.Increment(ref _nextConnectionId);
            _connections[id] = socket;
            _ = Task.Run(() => ServeAsync(id, socket));
        }
    }

    private async Task ServeAsync(long id, Socket socket)
    {
        try
        {
            socket.NoDelay = true;
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                handshake.CancelAfter(TimeSpan.FromSeconds(10));
                await ssl.AuthenticateAsServerAsync(async (_, hello, _, ct) =>
                {
                    if (hello.ServerName is { } name && SlowHandshakes.TryGetValue(name, out var delay)) await Task.Delay(delay, ct);
                    return new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = _certificate,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        ClientCertificateRequired = false,
                    };
                }, null, handshake.Token);
            }
            Interlocked.Increment(ref _handshakes);
            var sni = string.IsNullOrEmpty(ssl.TargetHostName) ? null : ssl.TargetHostName;
            var reader = new HttpReader(ssl);
            while (!_stop.IsCancellationRequested)
            {
                if (!await ServeOneAsync(id, sni, socket, ssl, reader)) break;
            }
        }
        catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException
                                       or ObjectDisposedException or SocketException or InvalidDataException or FormatException)
        {
            // Health checks connect and close without TLS; relays reset pooled connections: both normal.
        }
        finally
        {
            _connections.TryRemove(id, out _);
            socket.Dispose();
        }
    }

    /// <summary>Reads and answers one request; false when the connection is done.</summary>
    private async Task<bool> ServeOneAsync(long id, string? sni, Socket socket, SslStream ssl, HttpReader reader)
    {
        var requestLine = await reader.ReadLineAsync(_stop.Token);
        if (requestLine is null) return false;
        if (requestLine.Length == 0) return true; // tolerated stray CRLF between requests
        var parts = requestLine.Split(' ');
        if (parts.Length != 3) throw new InvalidDataException("bad request line: " + requestLine);
        var headers = new List<KeyValuePair<string, string>>();
        while (true)
        {
            var line = await reader.ReadLineAsync(_stop.Token) ?? throw new InvalidDataException("EOF in head");
            if (line.Length == 0) break;
            var colon = line.IndexOf(':');
            if (colon <= 0) throw new InvalidDataException("bad header: " + line);
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }
        string? Get(string name) => headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

        var target = parts[1];
        var behaviour = Enum.TryParse<IntakeBehaviour>(Get(BehaviourHeader), ignoreCase: true, out var b) ? b
            : _routes.Where(r => target.StartsWith(r.Key, StringComparison.Ordinal)).OrderByDescending(r => r.Key.Length)
                .Select(r => (IntakeBehaviour?)r.Value).FirstOrDefault() ?? DefaultBehaviour;

        if (string.Equals(Get("Expect"), "100-continue", StringComparison.OrdinalIgnoreCase))
            await WriteAsync(ssl, "HTTP/1.1 100 Continue\r\n\r\n");

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var echo = behaviour == IntakeBehaviour.Echo ? new MemoryStream() : null;
        long length = 0;
        void Consume(ReadOnlySpan<byte> chunk)
        {
            hash.AppendData(chunk);
            echo?.Write(chunk);
            length += chunk.Length;
        }
        bool complete;
        if (Get("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            complete = await reader.ReadChunkedAsync(Consume, _stop.Token);
        else if (Get("Content-Length") is { } cl)
            complete = await reader.ReadExactAsync(long.Parse(cl, System.Globalization.CultureInfo.InvariantCulture), Consume, _stop.Token);
        else
            complete = true;

        _requests.Enqueue(new IntakeRequest(id, sni, parts[0], target, headers, length,
            Convert.ToHexStringLower(hash.GetHashAndReset()), complete));
        if (!complete) return false;

        try
        {
            return await AnswerAsync(behaviour, socket, ssl, echo, Get);
        }
        finally
        {
            if (Get(TestIdHeader) is { } answered) AnsweredSource(answered).TrySetResult();
        }
    }

    private async Task<bool> AnswerAsync(IntakeBehaviour behaviour, Socket socket, SslStream ssl, MemoryStream? echo, Func<string, string?> Get)
    {
        var close = string.Equals(Get("Connection"), "close", StringComparison.OrdinalIgnoreCase);
        var answerTo = Get(TestIdHeader) is { } tag ? $"{AnswerToHeader}: {tag}\r\n" : "";
        var accepted = $"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n{answerTo}Content-Length: {AcceptBody.Length}\r\n{(close ? "Connection: close\r\n" : "")}\r\n{AcceptBody}";
        switch (behaviour)
        {
            case IntakeBehaviour.Accept:
                await WriteAsync(ssl, accepted);
                return !close;
            case IntakeBehaviour.ExtraResponse:
                await WriteAsync(ssl, accepted + Poison);
                return true;
            case IntakeBehaviour.ExtraResponseLater:
                await WriteAsync(ssl, accepted);
                await Task.Delay(50, _stop.Token);
                await WriteAsync(ssl, Poison);
                return true;
            case IntakeBehaviour.HeadWithBody:
                await WriteAsync(ssl, $"HTTP/1.1 200 OK\r\n{answerTo}Content-Length: 6\r\n\r\nPOISON");
                return true;
            case IntakeBehaviour.NoContentWithBody:
                await WriteAsync(ssl, $"HTTP/1.1 204 No Content\r\n{answerTo}Content-Length: {Poison.Length}\r\n\r\n{Poison}");
                return true;
            case IntakeBehaviour.NotModifiedWithBody:
                await WriteAsync(ssl, $"HTTP/1.1 304 Not Modified\r\n{answerTo}Content-Length: {Poison.Length}\r\n\r\n{Poison}");
                return true;
            case IntakeBehaviour.InterimStorm:
                await WriteAsync(ssl, string.Concat(Enumerable.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 50)) + accepted);
                return !close;
            case IntakeBehaviour.CloseMidBody:
                await WriteAsync(ssl, $"HTTP/1.1 200 OK\r\n{answerTo}Content-Length: 1000\r\n\r\n" + new string('x', 100));
                await ssl.ShutdownAsync();
                socket.Shutdown(SocketShutdown.Send);
                return false;
            case IntakeBehaviour.ResetMidHead:
                await WriteAsync(ssl, $"HTTP/1.1 200 OK\r\n{answerTo}Content-Le");
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
                return false;
            case IntakeBehaviour.Echo:
                await WriteAsync(ssl, $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {echo!.Length}\r\n{(close ? "Connection: close\r\n" : "")}\r\n");
                echo.Position = 0;
                await echo.CopyToAsync(ssl, _stop.Token);
                await ssl.FlushAsync(_stop.Token);
                return !close;
            case IntakeBehaviour.Chunked:
                await WriteAsync(ssl, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                      "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n");
                return !close;
            case IntakeBehaviour.CloseDelimited:
                await WriteAsync(ssl, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end");
                await ssl.ShutdownAsync();
                return false;
            case IntakeBehaviour.Stall:
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return false;
            case IntakeBehaviour.Reset:
                await WriteAsync(ssl, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n" + new string('x', 500));
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
                return false;
            default: // Close
                return false;
        }
    }

    private async Task WriteAsync(Stream s, string text)
    {
        await s.WriteAsync(Encoding.ASCII.GetBytes(text), _stop.Token);
        await s.FlushAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (var s in _connections.Values) s.Dispose();
        try { await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        _stop.Dispose();
    }
}

/// <summary>Buffered HTTP/1.1 reading over a stream: lines, fixed-length and chunked bodies.</summary>
internal sealed class HttpReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    /// <summary>False when the stream ended first.</summary>
    private async Task<bool> FillAsync(CancellationToken ct)
    {
        if (_start == _end) { _start = _end = 0; }
        else if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start; _start = 0;
            if (_end == _buffer.Length) throw new InvalidDataException("line too long");
        }
        var n = await stream.ReadAsync(_buffer.AsMemory(_end), ct);
        _end += n;
        return n > 0;
    }

    /// <summary>A line without its CRLF, or null at end of stream before any byte of it.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var i = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (i >= 0)
            {
                var len = i - _start;
                if (len > 0 && _buffer[i - 1] == '\r') len--;
                var line = Encoding.Latin1.GetString(_buffer, _start, len);
                _start = i + 1;
                return line;
            }
            var hadData = _end > _start;
            if (!await FillAsync(ct))
            {
                if (hadData) throw new InvalidDataException("EOF inside a line");
                return null;
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes; false when the stream ended first.</summary>
    public async Task<bool> ReadExactAsync(long count, Action<ReadOnlySpan<byte>> consume, CancellationToken ct)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(ct)) return false;
            var n = (int)Math.Min(count, _end - _start);
            consume(_buffer.AsSpan(_start, n));
            _start += n; count -= n;
        }
        return true;
    }

    /// <summary>Reads a chunked body (trailers skipped); false when the stream ended first.</summary>
    public async Task<bool> ReadChunkedAsync(Action<ReadOnlySpan<byte>> consume, CancellationToken ct)
    {
        while (true)
        {
            var line = await ReadLineAsync(ct);
            if (line is null) return false;
            var size = long.Parse(line.Split(';', 2)[0].Trim(), System.Globalization.NumberStyles.HexNumber,
                System.Globalization.CultureInfo.InvariantCulture);
            if (size == 0)
            {
                while (true)
                {
                    var trailer = await ReadLineAsync(ct);
                    if (trailer is null) return false;
                    if (trailer.Length == 0) return true;
                }
            }
            if (!await ReadExactAsync(size, consume, ct)) return false;
            if (await ReadLineAsync(ct) is not "") return false;
        }
    }

    public async Task<byte[]> ReadToEndAsync(CancellationToken ct)
    {
        var ms = new MemoryStream();
        while (true)
        {
            if (_start < _end) { ms.Write(_buffer, _start, _end - _start); _start = _end; }
            if (!await FillAsync(ct)) return ms.ToArray();
        }
    }
}
