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
    /// Waits until the client sends something (or closes) without taking a buffer (a zero-byte
    /// read, as Kestrel does). False when the connection failed.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> WaitForDataAsync()
    {
        try
        {
            await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    protected override ValueTask<int> ReadAsync(Memory<byte> destination) => _socket.ReceiveAsync(destination, SocketFlags.None);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        _bytesSent += data.Length;
        while (!data.IsEmpty)
        {
            int n = await _socket.SendAsync(data, SocketFlags.None);
            data = data[n..];
        }
    }

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
