using FipsAppliance.Configuration;

namespace FipsAppliance.Stats;

// What the stats page shows, as read-only views over the live model (Runtime). The renderers
// (HTML, CSV, Prometheus) see only these, so they are testable with hand-made views.

public enum ServerStatus { Up, Down, Maint, NoCheck }

public interface IStatsSource
{
    /// <summary>Process facts for the page header.</summary>
    string Version { get; }
    int ProcessId { get; }
    DateTimeOffset StartedAt { get; }
    /// <summary>The FIPS module line (provider, version, validation) shown at the top of the page.</summary>
    string FipsSummary { get; }
    /// <summary>The FIPS provider's own name ("OpenSSL FIPS Provider"), for the Prometheus fips_info labels; "" if unknown.</summary>
    string FipsProvider => "";
    /// <summary>The FIPS provider's version ("3.1.2"), for the Prometheus fips_info labels; "" if unknown.</summary>
    string FipsProviderVersion => "";
    long CurrentConnections { get; }
    int MaxConn { get; }

    IReadOnlyList<IFrontendStats> Frontends { get; }
    IReadOnlyList<IBackendStats> Backends { get; }
}

public interface IFrontendStats
{
    string Name { get; }
    ProxyMode Mode { get; }
    int MaxConn { get; }
    TrafficCounters Counters { get; }
}

public interface IBackendStats
{
    string Name { get; }
    ProxyMode Mode { get; }
    BalanceAlgorithm Balance { get; }
    TrafficCounters Counters { get; }
    IReadOnlyList<IServerStats> Servers { get; }
}

public interface IServerStats
{
    string Name { get; }
    /// <summary>"ip:port", or "" while a resolvers-fed server has no address yet.</summary>
    string Address { get; }
    ServerStatus Status { get; }
    /// <summary>HAProxy's check_status words (L4OK, L4CON, L4TOUT, L6OK, ...), "" when no check ran.</summary>
    string CheckStatus { get; }
    /// <summary>Seconds since the last status change.</summary>
    long LastChangeSeconds { get; }
    int Weight { get; }
    int MaxConn { get; }
    TrafficCounters Counters { get; }
}
