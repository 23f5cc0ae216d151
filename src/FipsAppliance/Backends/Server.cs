using System.Net;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Stats;
using FipsAppliance.Upstream;

namespace FipsAppliance.Backends;

/// <summary>
/// A server of a backend as it is now: its address (which DNS may change), its state, its idle
/// connections, its counters. The line the user wrote is <see cref="Config"/> and never changes;
/// a reload builds new Server objects and lets these drain.
/// </summary>
internal sealed class Server : IServerStats
{
    private IPEndPoint? _endPoint;
    private long _lastChangeTicks = Environment.TickCount64;
    private ServerStatus _status;

    public Server(Backend backend, ServerLine config, TlsPolicy? tls)
    {
        Backend = backend;
        Config = config;
        Tls = tls;
        Pool = new UpstreamPool(this);
        _status = config.Disabled ? ServerStatus.Maint : ServerStatus.NoCheck;
    }

    public Backend Backend { get; }
    public ServerLine Config { get; }
    /// <summary>The TLS policy for this server line; null only for a server without `ssl`.</summary>
    public TlsPolicy? Tls { get; }
    public UpstreamPool Pool { get; }
    public TrafficCounters Counters { get; } = new();

    public string Name => Config.Name;
    public string FullName => Backend.Name + "/" + Config.Name;

    /// <summary>Where connections go now; null while a resolvers-fed server has no address (then it is not used).</summary>
    public IPEndPoint? EndPoint
    {
        get => Volatile.Read(ref _endPoint);
        set
        {
            var old = Interlocked.Exchange(ref _endPoint, value);
            if (!Equals(old, value))
            {
                _lastChangeTicks = Environment.TickCount64;
                // Idle connections to the old address must not be reused for the new one.
                Pool.Clear();
            }
        }
    }

    /// <summary>Usable for new traffic: has an address and is not in maintenance or DOWN.</summary>
    public bool IsUsable => EndPoint is not null && _status is ServerStatus.Up or ServerStatus.NoCheck;

    /// <summary>Connections to this server in use by sessions now (leastconn, maxconn).</summary>
    public int ActiveConnections;

    public string Address => EndPoint?.ToString() ?? "";
    public ServerStatus Status => EndPoint is null && _status != ServerStatus.Maint ? ServerStatus.Maint : _status;
    public string CheckStatus { get; set; } = "";
    public long LastChangeSeconds => (Environment.TickCount64 - _lastChangeTicks) / 1000;
    public int Weight => Config.Weight;
    public int MaxConn => Config.MaxConn;
}
