using FipsAppliance.Configuration;
using FipsAppliance.Stats;

namespace FipsAppliance.Backends;

/// <summary>A backend (or the backend half of a listen section) as it is now.</summary>
internal sealed class Backend : IBackendStats
{
    private Server[] _servers = [];
    private int _roundRobin = -1;

    public Backend(ProxySection config) => Config = config;

    public ProxySection Config { get; }
    public string Name => Config.Name;
    public ProxyMode Mode => Config.Mode;
    public BalanceAlgorithm Balance => Config.Balance;
    public TrafficCounters Counters { get; } = new();
    public Server[] Servers { get => _servers; set => _servers = value; }
    IReadOnlyList<IServerStats> IBackendStats.Servers => _servers;

    /// <summary>
    /// Picks a server for a new connection by the backend's `balance`, skipping <paramref name="avoid"/>
    /// when another usable server exists (redispatch). Null when no server is usable: the caller
    /// answers 503 and logs HAProxy's "backend 'x' has no server available!".
    /// </summary>
    public Server? PickServer(Server? avoid = null)
    {
        var servers = _servers;
        if (servers.Length == 0) return null;
        switch (Config.Balance)
        {
            case BalanceAlgorithm.First:
                // The first usable server in declaration order that is under its maxconn.
                foreach (var s in servers)
                    if (s.IsUsable && s != avoid && (s.MaxConn == 0 || Volatile.Read(ref s.ActiveConnections) < s.MaxConn)) return s;
                break;
            case BalanceAlgorithm.LeastConn:
            {
                Server? best = null;
                int bestConns = int.MaxValue;
                int start = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)servers.Length);
                for (int i = 0; i < servers.Length; i++)
                {
                    var s = servers[(start + i) % servers.Length];
                    if (!s.IsUsable || s == avoid) continue;
                    int c = Volatile.Read(ref s.ActiveConnections);
                    if (c < bestConns) { best = s; bestConns = c; }
                }
                if (best is not null) return best;
                break;
            }
            default:
            {
                int start = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)servers.Length);
                for (int i = 0; i < servers.Length; i++)
                {
                    var s = servers[(start + i) % servers.Length];
                    if (s.IsUsable && s != avoid) return s;
                }
                break;
            }
        }
        // Only the avoided server is left: using it again beats refusing the request.
        return avoid is { IsUsable: true } ? avoid : null;
    }
}
