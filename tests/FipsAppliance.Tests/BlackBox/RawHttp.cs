using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>A response as read off the wire. <see cref="Complete"/> is false when the connection
/// ended (or was reset) before the framing said the body was done.</summary>
public sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, bool Complete)
{
    public string? Header(string name) =>
        Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
    public string BodyText => Encoding.UTF8.GetString(Body);
    public bool IsCompleteSuccess => Complete && Status is >= 200 and < 300;
}

/// <summary>
/// A plain-socket HTTP/1.1 client for what HttpClient will not send or cannot observe: malformed
/// requests, pipelining, `Expect: 100-continue` timing, aborted bodies, truncated responses.
/// </summary>
public sealed class RawHttp : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly HttpReader _reader;

    private RawHttp(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new HttpReader(_stream);
    }

    public Socket Socket => _client.Client;

    public static async Task<RawHttp> ConnectAsync(int port, TimeSpan? timeout = null)
    {
        var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        return new RawHttp(client);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Reads one response (1xx included, returned as such) within <paramref name="timeout"/>;
    /// null if the connection closed before a status line arrived.</summary>
    public async Task<RawResponse?> ReadResponseAsync(TimeSpan? timeout = null, bool headRequest = false)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var ct = cts.Token;
        string? statusLine;
        try { statusLine = await _reader.ReadLineAsync(ct); }
        catch (Exception e) when (e is IOException or InvalidDataException) { return null; }
        if (statusLine is null) return null;
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
            throw new InvalidDataException("not an HTTP status line: " + statusLine);
        var status = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new List<KeyValuePair<string, string>>();
        var body = new MemoryStream();
        try
        {
            while (true)
            {
                var line = await _reader.ReadLineAsync(ct) ?? throw new InvalidDataException("EOF in response head");
                if (line.Length == 0) break;
                var colon = line.IndexOf(':');
                headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
            }
            string? Get(string n) => headers.Where(h => h.Key.Equals(n, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
            bool complete;
            if (status is >= 100 and < 200 || status is 204 or 304 || headRequest) complete = true;
            else if (Get("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                complete = await _reader.ReadChunkedAsync(s => body.Write(s), ct);
            else if (Get("Content-Length") is { } cl)
                complete = await _reader.ReadExactAsync(long.Parse(cl, System.Globalization.CultureInfo.InvariantCulture), s => body.Write(s), ct);
            else
            {
                body.Write(await _reader.ReadToEndAsync(ct));
                complete = true;
            }
            return new RawResponse(status, headers, body.ToArray(), complete);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or FormatException)
        {
            return new RawResponse(status, headers, body.ToArray(), Complete: false);
        }
    }

    /// <summary>Reads the next final (non-1xx) response.</summary>
    public async Task<RawResponse?> ReadFinalResponseAsync(TimeSpan? timeout = null)
    {
        for (int i = 0; i < 5; i++)
        {
            var r = await ReadResponseAsync(timeout);
            if (r is null || r.Status >= 200) return r;
        }
        throw new InvalidDataException("too many interim responses");
    }

    /// <summary>True when the peer closed the connection (EOF or reset) within the timeout.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { return (await _reader.ReadToEndAsync(cts.Token)) is not null; }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    /// <summary>A request with a Content-Length body and the test's tag.</summary>
    public static string Post(string path, string host, string testId, int bodyLength, string? extraHeaders = null) =>
        $"POST {path} HTTP/1.1\r\nHost: {host}\r\n{TestIntake.TestIdHeader}: {testId}\r\nContent-Type: application/json\r\n" +
        $"Content-Length: {bodyLength}\r\n{extraHeaders}\r\n";

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }
}
