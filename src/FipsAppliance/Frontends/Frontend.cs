using System.Net;
using System.Net.Sockets;
using FipsAppliance.Backends;
using FipsAppliance.Configuration;
using FipsAppliance.Stats;

namespace FipsAppliance.Frontends;

/// <summary>A frontend (or the frontend half of a listen section) as it is now: its listening sockets and counters.</summary>
internal sealed class Frontend : IFrontendStats
{
    public Frontend(ProxySection config, Routing routing, ConnectionLimit? globalLimit)
    {
        Config = config;
        Routing = routing;
        // Past maxconn the frontend stops accepting: new connections wait in the kernel's backlog
        // instead of being accepted and dropped (HAProxy does the same).
        Limit = config.MaxConn > 0 ? new ConnectionLimit(config.MaxConn) : null;
        GlobalLimit = globalLimit;
    }

    public ProxySection Config { get; }
    public Routing Routing { get; }
    public ConnectionLimit? Limit { get; }
    public ConnectionLimit? GlobalLimit { get; }
    public List<Socket> Listeners { get; } = [];
    public string Name => Config.Name;
    public ProxyMode Mode => Config.Mode;
    public int MaxConn => Config.MaxConn;
    public TrafficCounters Counters { get; } = new();

    /// <summary>
    /// Binds every address of every `bind` line. On failure returns HAProxy's message for the first
    /// address that could not be bound; the caller closes everything and exits.
    /// </summary>
    public string? Bind()
    {
        foreach (var b in Config.Binds)
        {
            IPAddress address;
            string shown;
            if (b.Address is "" or "*" or "0.0.0.0") { address = IPAddress.Any; shown = "0.0.0.0"; }
            else if (b.Address is "::" ) { address = IPAddress.IPv6Any; shown = ":::"; }
            else if (IPAddress.TryParse(b.Address.Trim('[', ']'), out var ip)) { address = ip; shown = b.Address; }
            else
            {
                try { address = Dns.GetHostAddresses(b.Address)[0]; shown = b.Address; }
                catch (Exception e) when (e is SocketException or IndexOutOfRangeException)
                {
                    return $"Starting frontend {Name}: cannot resolve bind address '{b.Address}' [{b.File}:{b.Line}]";
                }
            }
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // Like HAProxy: SO_REUSEADDR so a restart does not wait out TIME_WAIT, but no
                // SO_REUSEPORT, so a port another process holds is an error, not a silent share.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any))
                    socket.DualMode = true;
                socket.Bind(new IPEndPoint(address, b.Port));
                socket.Listen(1024);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                string why = e.SocketErrorCode switch
                {
                    SocketError.AddressAlreadyInUse => "Address already in use",
                    SocketError.AccessDenied => "Permission denied",
                    SocketError.AddressNotAvailable => "Cannot assign requested address",
                    _ => e.Message,
                };
                return $"Starting frontend {Name}: cannot bind socket ({why}) [{shown}:{b.Port}]";
            }
            Listeners.Add(socket);
        }
        return null;
    }

    public void CloseListeners()
    {
        foreach (var s in Listeners) s.Dispose();
        Listeners.Clear();
    }
}

/// <summary>A count of connections with a ceiling; waiting for a slot happens before accept().</summary>
internal sealed class ConnectionLimit(int max)
{
    private readonly SemaphoreSlim _slots = new(max, max);
    public int Max { get; } = max;
    public ValueTask WaitAsync(CancellationToken cancel) =>
        _slots.Wait(0) ? ValueTask.CompletedTask : new ValueTask(_slots.WaitAsync(cancel));
    public void Release() => _slots.Release();
}
