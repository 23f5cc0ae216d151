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
    /// <summary>chkdown: times the backend lost its last usable server (a start without one counts, as in HAProxy).</summary>
    long DownTransitions => 0;
    /// <summary>lastchg: seconds since the backend went UP or DOWN.</summary>
    long LastChangeSeconds => 0;
    /// <summary>downtime: seconds spent without a usable server.</summary>
    long DowntimeSeconds => 0;
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

    // Health checks (HAProxy's stats fields of the same names). The defaults describe a server
    // whose check facts are unknown, so that hand-made views need only what they test.

    /// <summary>In maintenance because the resolvers have no address for it: "MAINT (resolution)".</summary>
    bool ResolutionMaintenance => Status == ServerStatus.Maint && Address.Length == 0;
    /// <summary>The server's idle pool now (HAProxy's srv_icur, src_ilim, idle/safe/used_conn_cur, need_conn_est); null when unknown.</summary>
    ServerPoolStats? IdlePool => null;
    /// <summary>check_health: 0..rise+fall-1 (UP from rise on), or -1 when unknown or not checked.</summary>
    int CheckHealth => -1;
    int CheckRise => 0;
    int CheckFall => 0;
    /// <summary>check_duration: ms the last check took, -1 when none is known.</summary>
    long CheckDurationMs => -1;
    /// <summary>check_desc: the last check's status in words ("Layer4 connection problem").</summary>
    string CheckDescription => "";
    /// <summary>last_chk: what the last check said beyond its status ("Connection refused").</summary>
    string CheckInfo => "";
    /// <summary>Whether the server has `check` (chkfail, chkdown and downtime are shown only then).</summary>
    bool CheckEnabled => CheckStatus.Length > 0;
    /// <summary>chkfail: failed checks while the server was not already DOWN.</summary>
    long FailedChecks => 0;
    /// <summary>chkdown: transitions to DOWN (maintenance included).</summary>
    long DownTransitions => 0;
    /// <summary>downtime: seconds spent DOWN or in maintenance.</summary>
    long DowntimeSeconds => 0;
}

/// <summary>
/// A server's connections as HAProxy 2.6 counts them in its stats: idle ones that carried one
/// request (unsafe) and more than one (safe), those in use, the estimated need that bounds the
/// pool, and its `pool-max-conn` (-1: none).
/// </summary>
public readonly record struct ServerPoolStats(int UnsafeIdle, int SafeIdle, int Used, int NeedEstimate, int Limit)
{
    public int Idle => UnsafeIdle + SafeIdle;
}
