using FipsAppliance.Configuration;
using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Stats;

/// <summary>A server with its health-check facts, as the live model reports them.</summary>
internal sealed class CheckedServer : IServerStats
{
    public string Name { get; init; } = "";
    public string Address { get; init; } = "";
    public ServerStatus Status { get; init; } = ServerStatus.Up;
    public string CheckStatus { get; init; } = "";
    public long LastChangeSeconds { get; init; }
    public int Weight { get; init; } = 1;
    public int MaxConn { get; init; }
    public TrafficCounters Counters { get; init; } = new();
    public bool ResolutionMaintenance { get; init; }
    public int CheckHealth { get; init; } = -1;
    public int CheckRise { get; init; } = 2;
    public int CheckFall { get; init; } = 3;
    public long CheckDurationMs { get; init; } = -1;
    public string CheckDescription { get; init; } = "";
    public string CheckInfo { get; init; } = "";
    public bool CheckEnabled { get; init; } = true;
    public long FailedChecks { get; init; }
    public long DownTransitions { get; init; }
    public long DowntimeSeconds { get; init; }
}

internal sealed class CheckedBackend : IBackendStats
{
    public string Name { get; init; } = "";
    public ProxyMode Mode { get; init; } = ProxyMode.Http;
    public BalanceAlgorithm Balance { get; init; }
    public TrafficCounters Counters { get; init; } = new();
    public IReadOnlyList<IServerStats> Servers { get; init; } = [];
    public long DownTransitions { get; init; }
    public long LastChangeSeconds { get; init; }
    public long DowntimeSeconds { get; init; }
}

public class HealthStatsTests
{
    private static FakeSource Source()
    {
        var down = new CheckedServer
        {
            Name = "mothership2", Address = "127.0.0.2:443", Status = ServerStatus.Down, CheckStatus = "L4CON", CheckHealth = 0,
            CheckDurationMs = 0, CheckDescription = "Layer4 connection problem", CheckInfo = "Connection refused",
            FailedChecks = 3, DownTransitions = 1, DowntimeSeconds = 12, LastChangeSeconds = 12,
        };
        var goingDown = new CheckedServer
        {
            Name = "mothership1", Address = "127.0.0.3:443", Status = ServerStatus.Up, CheckStatus = "L4OK", CheckHealth = 3,
            CheckDurationMs = 4, CheckDescription = "Layer4 check passed", FailedChecks = 1,
        };
        var goingUp = new CheckedServer { Name = "mothership3", Address = "127.0.0.4:443", Status = ServerStatus.Down, CheckStatus = "L6OK", CheckHealth = 1, CheckDurationMs = 7 };
        var maint = new CheckedServer { Name = "mothership4", Status = ServerStatus.Maint, ResolutionMaintenance = true, CheckHealth = 2, DownTransitions = 1, DowntimeSeconds = 30 };
        return new FakeSource
        {
            Backends = [new CheckedBackend { Name = "datadog-metrics", Servers = [goingDown, down, goingUp, maint], DownTransitions = 2, LastChangeSeconds = 5, DowntimeSeconds = 9 }],
        };
    }

    private static Dictionary<string, Dictionary<string, string>> Csv()
    {
        var lines = FakeStats.Render(Source(), StatsFormat.Csv).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0][2..].Split(',');
        var rows = new Dictionary<string, Dictionary<string, string>>();
        foreach (var line in lines[1..])
        {
            var f = line.Split(',');   // no quoted field in this source
            var row = new Dictionary<string, string>();
            for (int i = 0; i < header.Length; i++) row[header[i]] = i < f.Length ? f[i] : "";
            rows[row["svname"]] = row;
        }
        return rows;
    }

    [Test]
    public async Task Csv_carries_haproxys_check_columns()
    {
        var rows = Csv();
        var down = rows["mothership2"];
        await Assert.That(down["status"]).IsEqualTo("DOWN");
        await Assert.That(down["check_status"]).IsEqualTo("L4CON");
        await Assert.That(down["check_code"]).IsEqualTo("");          // layer-7 checks only
        await Assert.That(down["check_duration"]).IsEqualTo("0");
        await Assert.That(down["last_chk"]).IsEqualTo("Connection refused");
        await Assert.That(down["check_desc"]).IsEqualTo("Layer4 connection problem");
        await Assert.That(down["chkfail"]).IsEqualTo("3");
        await Assert.That(down["chkdown"]).IsEqualTo("1");
        await Assert.That(down["downtime"]).IsEqualTo("12");
        await Assert.That(down["lastchg"]).IsEqualTo("12");
        await Assert.That(down["check_rise"]).IsEqualTo("2");
        await Assert.That(down["check_fall"]).IsEqualTo("3");
        await Assert.That(down["check_health"]).IsEqualTo("0");

        await Assert.That(rows["mothership1"]["status"]).IsEqualTo("UP 2/3");
        await Assert.That(rows["mothership3"]["status"]).IsEqualTo("DOWN 1/2");
        var maint = rows["mothership4"];
        await Assert.That(maint["status"]).IsEqualTo("MAINT (resolution)");
        await Assert.That(maint["check_status"]).IsEqualTo("");        // checks pause in maintenance
        await Assert.That(maint["check_health"]).IsEqualTo("");
        await Assert.That(maint["chkdown"]).IsEqualTo("1");
        await Assert.That(maint["downtime"]).IsEqualTo("30");

        var be = rows["BACKEND"];
        await Assert.That(be["chkdown"]).IsEqualTo("2");
        await Assert.That(be["lastchg"]).IsEqualTo("5");
        await Assert.That(be["downtime"]).IsEqualTo("9");
        await Assert.That(be["act"]).IsEqualTo("1");
    }

    [Test]
    public async Task Prometheus_has_promex_check_families()
    {
        var text = FakeStats.Render(Source(), StatsFormat.Prometheus);
        await Assert.That(text).Contains("\nhaproxy_server_check_status{proxy=\"datadog-metrics\",server=\"mothership2\",state=\"L4CON\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_server_check_failures_total{proxy=\"datadog-metrics\",server=\"mothership2\"} 3\n");
        await Assert.That(text).Contains("\nhaproxy_server_check_up_down_total{proxy=\"datadog-metrics\",server=\"mothership2\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_server_downtime_seconds_total{proxy=\"datadog-metrics\",server=\"mothership2\"} 12\n");
        await Assert.That(text).Contains("\nhaproxy_server_check_duration_seconds{proxy=\"datadog-metrics\",server=\"mothership1\"} 0.004\n");
        await Assert.That(text).Contains("\nhaproxy_server_status{proxy=\"datadog-metrics\",server=\"mothership2\",state=\"DOWN\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_server_status{proxy=\"datadog-metrics\",server=\"mothership4\",state=\"MAINT\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_backend_check_up_down_total{proxy=\"datadog-metrics\"} 2\n");
        await Assert.That(text).Contains("\nhaproxy_backend_downtime_seconds_total{proxy=\"datadog-metrics\"} 9\n");
        await Assert.That(text).DoesNotContain("server=\"mothership4\",state=\"L4");     // no check status in maintenance
    }

    [Test]
    public async Task Html_shows_status_check_result_duration_and_why()
    {
        var html = FakeStats.Render(Source(), StatsFormat.Html);
        await Assert.That(html).Contains("<td class=\"l\">DOWN</td><td class=\"l\">127.0.0.2:443</td><td class=\"l\" title=\"Layer4 connection problem: Connection refused\">L4CON in 0ms</td>");
        await Assert.That(html).Contains("<td class=\"l\">UP 2/3</td>");
        await Assert.That(html).Contains("<td class=\"l\">DOWN 1/2</td>");
        await Assert.That(html).Contains("<td>3</td><td>1</td><td class=\"l\">12s</td></tr>");
    }
}
