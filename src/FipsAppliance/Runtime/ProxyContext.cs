using System.Net;
using System.Net.Sockets;
using FipsAppliance.Logging;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Runtime;

/// <summary>What every session of the process shares: loggers and the process-wide connection count.</summary>
internal sealed class ProxyContext(ILogger log, AccessLog accessLog)
{
    public ILogger Log { get; } = log;
    public Http.StatsService? Stats { get; set; }
    public AccessLog AccessLog { get; } = accessLog;

    /// <summary>Client connections open now, all frontends (HAProxy's %ac).</summary>
    public long ActiveConnections => Volatile.Read(ref _active);
    private long _active;
    public void ConnectionOpened() => Interlocked.Increment(ref _active);
    public void ConnectionClosed() => Interlocked.Decrement(ref _active);

    public static (string Address, int Port) Peer(Socket s)
    {
        try
        {
            if (s.RemoteEndPoint is IPEndPoint ep)
                return (ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4().ToString() : ep.Address.ToString(), ep.Port);
        }
        catch (ObjectDisposedException) { }
        catch (SocketException) { }
        return ("-", 0);
    }
}
