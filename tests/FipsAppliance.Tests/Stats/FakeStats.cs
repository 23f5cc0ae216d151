using System.Text;
using FipsAppliance.Configuration;
using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Stats;

internal sealed class FakeSource : IStatsSource
{
    public string Version { get; init; } = "1.2.3";
    public int ProcessId { get; init; } = 4242;
    public DateTimeOffset StartedAt { get; init; } = FakeStats.Now - new TimeSpan(1, 2, 3);
    public string FipsSummary { get; init; } = "OpenSSL FIPS Provider 3.1.2 (FIPS 140-3 #4985)";
    public string FipsProvider { get; init; } = "OpenSSL FIPS Provider";
    public string FipsProviderVersion { get; init; } = "3.1.2";
    public long CurrentConnections { get; init; } = 7;
    public int MaxConn { get; init; } = 4096;
    public IReadOnlyList<IFrontendStats> Frontends { get; init; } = [];
    public IReadOnlyList<IBackendStats> Backends { get; init; } = [];
}

internal sealed class FakeFrontend : IFrontendStats
{
    public string Name { get; init; } = "";
    public ProxyMode Mode { get; init; } = ProxyMode.Http;
    public int MaxConn { get; init; }
    public TrafficCounters Counters { get; init; } = new();
}

internal sealed class FakeBackend : IBackendStats
{
    public string Name { get; init; } = "";
    public ProxyMode Mode { get; init; } = ProxyMode.Http;
    public BalanceAlgorithm Balance { get; init; } = BalanceAlgorithm.RoundRobin;
    public TrafficCounters Counters { get; init; } = new();
    public IReadOnlyList<IServerStats> Servers { get; init; } = [];
}

internal sealed class FakeServer : IServerStats
{
    public string Name { get; init; } = "";
    public string Address { get; init; } = "";
    public ServerStatus Status { get; init; } = ServerStatus.Up;
    public string CheckStatus { get; init; } = "";
    public long LastChangeSeconds { get; init; }
    public int Weight { get; init; } = 1;
    public int MaxConn { get; init; }
    public TrafficCounters Counters { get; init; } = new();
    public ServerPoolStats? IdlePool { get; init; }
}

internal static class FakeStats
{
    public static readonly DateTimeOffset Now = new(2026, 5, 4, 12, 0, 0, TimeSpan.Zero);

    public static StatsPageOptions Options => new(Now);

    /// <summary>
    /// The shape of the shipped cfg in small: the stats listen, an http frontend routing to an http
    /// backend with one UP, one DOWN and one unresolved MAINT server, and a tcp frontend/backend pair.
    /// </summary>
    public static FakeSource Appliance()
    {
        var metricsFrontend = new FakeFrontend
        {
            Name = "metrics-forwarder", MaxConn = 500,
            Counters = new TrafficCounters
            {
                CurrentSessions = 3, MaxSessions = 9, TotalSessions = 120, BytesIn = 123456, BytesOut = 7890,
                Requests = 400, RequestErrors = 2, Http2xx = 390, Http4xx = 7, Http5xx = 3,
            },
        };
        var up = new FakeServer
        {
            Name = "mothership1", Address = "10.1.2.3:443", Status = ServerStatus.Up, CheckStatus = "L6OK",
            LastChangeSeconds = 3725, Weight = 1,
            Counters = new TrafficCounters
            {
                CurrentSessions = 2, MaxSessions = 5, TotalSessions = 80, BytesIn = 100000, BytesOut = 6000,
                Requests = 300, Http2xx = 295, Http5xx = 5, ConnectionErrors = 1, ResponseErrors = 4,
                Retries = 6, Redispatches = 8, TlsHandshakes = 11, ConnectionReuses = 289,
            },
        };
        var down = new FakeServer
        {
            Name = "mothership2", Address = "10.1.2.4:443", Status = ServerStatus.Down, CheckStatus = "L4CON",
            LastChangeSeconds = 42, Weight = 1,
            Counters = new TrafficCounters { ConnectionErrors = 13, Retries = 2 },
        };
        var unresolved = new FakeServer { Name = "mothership3", Address = "", Status = ServerStatus.Maint };
        var metricsBackend = new FakeBackend
        {
            Name = "datadog-metrics",
            Servers = [up, down, unresolved],
            Counters = new TrafficCounters
            {
                CurrentSessions = 2, MaxSessions = 5, TotalSessions = 80, BytesIn = 100000, BytesOut = 6000,
                Requests = 300, Http2xx = 295, Http5xx = 5, ConnectionErrors = 14, ResponseErrors = 4,
                Retries = 8, Redispatches = 8, TlsHandshakes = 11, ConnectionReuses = 289,
            },
        };
        var traces = new FakeFrontend { Name = "traces-forwarder", Mode = ProxyMode.Tcp, Counters = new TrafficCounters { TotalSessions = 5 } };
        var tracesBackend = new FakeBackend
        {
            Name = "datadog-traces", Mode = ProxyMode.Tcp, Balance = BalanceAlgorithm.LeastConn,
            Servers = [new FakeServer { Name = "mothership1", Address = "10.9.9.9:443", Status = ServerStatus.NoCheck, Weight = 3 }],
        };
        var stats = new FakeFrontend { Name = "stats", Counters = new TrafficCounters { CurrentSessions = 1, TotalSessions = 4 } };
        return new FakeSource
        {
            Frontends = [stats, metricsFrontend, traces],
            Backends = [metricsBackend, tracesBackend],
        };
    }

    public static string Render(IStatsSource source, StatsFormat format) => Render(source, format, Options);

    public static string Render(IStatsSource source, StatsFormat format, StatsPageOptions options) =>
        Encoding.UTF8.GetString(StatsPage.Render(source, format, options));
}
