using System.Net.Security;
using System.Net.Sockets;
using FipsAppliance.Backends;

namespace FipsAppliance.Upstream;

/// <summary>One TLS connection to a server, owned by one session at a time or idle in its server's pool.</summary>
internal sealed class UpstreamConnection : IDisposable
{
    public UpstreamConnection(Server server, Socket socket, SslStream? tls)
    {
        Server = server;
        Socket = socket;
        Tls = tls;
    }

    public Server Server { get; }
    public Socket Socket { get; }
    /// <summary>Null only for a server without `ssl`.</summary>
    public SslStream? Tls { get; }
    /// <summary>The stream the relay reads and writes: TLS, or the plain socket.</summary>
    public Stream Stream => Tls ?? (Stream)(_plain ??= new NetworkStream(Socket, ownsSocket: false));
    private NetworkStream? _plain;
    /// <summary>Requests already carried: 0 for a fresh connection (nothing can be lost by retrying its failure).</summary>
    public int Requests { get; set; }
    public long IdleSinceTicks { get; set; }
    private int _disposed;

    /// <summary>
    /// An idle connection is still good if the server has not closed it: a readable socket with
    /// nothing we asked for means EOF or garbage, either way not reusable.
    /// </summary>
    public bool LooksAlive()
    {
        try
        {
            return Socket.Connected && !Socket.Poll(0, SelectMode.SelectRead);
        }
        catch (ObjectDisposedException) { return false; }
        catch (SocketException) { return false; }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { Tls?.Dispose(); _plain?.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
        Socket.Dispose();
    }
}
