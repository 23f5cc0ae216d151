using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FipsAppliance.Runtime;

namespace FipsAppliance.Http;

/// <summary>
/// The client's side of an HTTP session: its socket, and the bytes read from it (a buffer taken
/// when bytes arrive and given back between requests, so a connection waiting for its next
/// request holds no buffer). Shutdowns and resets are here so a timeout can wake a read without
/// losing the ability to answer.
/// </summary>
internal sealed class ClientConnection : HttpInput, IHttpOutput
{
    private readonly Socket _socket;
    private long _bytesSent;

    public ClientConnection(Socket socket)
    {
        _socket = socket;
        // Taken now: once closed, the socket no longer knows its peer, and the log line needs it.
        (Address, Port) = ProxyContext.Peer(socket);
    }

    public string Address { get; }
    public int Port { get; }

    /// <summary>
    /// Completes when the client sends something or closes, without taking a buffer (a zero-byte
    /// read, as Kestrel does); throws when the connection failed. The socket's own reusable read
    /// is returned as is: the session awaits it directly, so waiting costs no allocation.
    /// </summary>
    public ValueTask<int> WaitForDataAsync() => _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);

    protected override ValueTask<int> ReadAsync(Memory<byte> destination) => _socket.ReceiveAsync(destination, SocketFlags.None);

    /// <summary>Writes all of <paramref name="data"/>; a send done at once (the steady state) allocates nothing.</summary>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        _bytesSent += data.Length;
        var send = _socket.SendAsync(data, SocketFlags.None);
        if (!send.IsCompletedSuccessfully) return SendRestAsync(send, data);
        int n = send.Result;
        return n == data.Length ? default : SendRestAsync(new ValueTask<int>(n), data);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendRestAsync(ValueTask<int> send, ReadOnlyMemory<byte> data)
    {
        while (true)
        {
            data = data[await send..];
            if (data.IsEmpty) return;
            send = _socket.SendAsync(data, SocketFlags.None);
        }
    }

    /// <summary>Bytes were written since the last <see cref="TakeBytesSent"/>: the request's answer has begun.</summary>
    public bool HasSent => _bytesSent != 0;

    public long TakeBytesSent()
    {
        long n = _bytesSent;
        _bytesSent = 0;
        return n;
    }

    /// <summary>Wakes a pending read with EOF (a timeout) while the socket can still send the answer.</summary>
    public void ShutdownReceive() => Try(s => s.Shutdown(SocketShutdown.Receive));

    /// <summary>Our answer is complete and the connection ends: FIN after the last byte.</summary>
    public void ShutdownSend() => Try(s => s.Shutdown(SocketShutdown.Send));

    /// <summary>Closes with a TCP reset, so a cut response can never look complete.</summary>
    public void Reset() => Try(s =>
    {
        s.LingerState = new LingerOption(true, 0);
        s.Close();
    });

    public void Close() => Try(s => s.Dispose());

    private void Try(Action<Socket> action)
    {
        try { action(_socket); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }
}
