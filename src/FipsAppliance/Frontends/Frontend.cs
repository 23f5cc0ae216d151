using FipsAppliance.Configuration;
using FipsAppliance.Runtime;
using FipsAppliance.Stats;

namespace FipsAppliance.Frontends;

/// <summary>
/// A frontend (or the frontend half of a listen section) of one live model: its routing, its
/// `maxconn`, its counters. The listening sockets are the process's (<see cref="Listeners"/>);
/// they hand the connections they accept to the frontend of the current model.
/// </summary>
internal sealed class Frontend : IFrontendStats
{
    public Frontend(ProxySection config, Routing routing, ProxyRuntime runtime)
    {
        Config = config;
        Routing = routing;
        Runtime = runtime;
        // Past maxconn the frontend stops accepting: new connections wait in the kernel's backlog
        // instead of being accepted and dropped (HAProxy does the same).
        Limit = config.MaxConn > 0 ? new ConnectionLimit(config.MaxConn) : null;
    }

    public ProxySection Config { get; }
    public Routing Routing { get; }
    /// <summary>The model this frontend belongs to: accepted connections become its sessions.</summary>
    public ProxyRuntime Runtime { get; }
    public ConnectionLimit? Limit { get; }
    public string Name => Config.Name;
    public ProxyMode Mode => Config.Mode;
    public int MaxConn => Config.MaxConn;
    public TrafficCounters Counters { get; } = new();
}
