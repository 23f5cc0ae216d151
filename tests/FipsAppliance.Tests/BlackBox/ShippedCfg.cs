using System.Text.RegularExpressions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>One product port of the shipped cfg: its offset from the port range start, the intake
/// host its backend names, and a path the Agent sends there.</summary>
public sealed record ProductPort(int Offset, string Frontend, string Host, string Path, bool TcpMode);

/// <summary>The shipped example cfg, pointed at local things for a test.</summary>
public static partial class ShippedCfg
{
    public const int StatsOffset = 0;
    public const int MetricsOffset = 1;

    /// <summary>Every product port the Agent uses (9814, reserved for appsec, is not one).</summary>
    public static readonly ProductPort[] Products =
    [
        new(1, "metrics-forwarder", "metrics.agent.ddog-gov.com", "/api/v2/series", false),
        new(2, "traces-forwarder", "trace.agent.ddog-gov.com", "/api/v0.2/traces", true),
        new(3, "profiles-forwarder", "intake.profile.ddog-gov.com", "/api/v2/profile", true),
        new(4, "processes-forwarder", "process.ddog-gov.com", "/api/v1/collector", true),
        new(5, "logs-http-forwarder", "agent-http-intake.logs.ddog-gov.com", "/api/v2/logs", false),
        new(6, "database-monitoring-metrics-forwarder", "dbm-metrics-intake.ddog-gov.com", "/api/v2/dbmmetrics", false),
        new(7, "database-monitoring-samples-forwarder", "dbquery-intake.ddog-gov.com", "/api/v2/databasequery", false),
        new(8, "network-devices-metadata-forwarder", "ndm-intake.ddog-gov.com", "/api/v2/ndm", false),
        new(9, "network-devices-snmp-traps-forwarder", "snmp-traps-intake.ddog-gov.com", "/api/v2/ndmtraps", false),
        new(10, "instrumentations-telemetry-forwarder", "instrumentation-telemetry-intake.ddog-gov.com", "/api/v2/apmtelemetry", true),
        new(12, "orchestrator-forwarder", "orchestrator.ddog-gov.com", "/api/v2/orch", false),
        new(13, "runtime-security-forwarder", "runtime-security-http-intake.logs.ddog-gov.com", "/api/v2/secruntime", false),
        new(14, "compliance-forwarder", "cspm-intake.ddog-gov.com", "/api/v2/compliance", false),
        new(15, "network-devices-netflow-forwarder", "ndmflow-intake.ddog-gov.com", "/api/v2/ndmflow", false),
    ];

    /// <summary>The stand-in written from the reference while src/dist has no example yet.</summary>
    public static string StandInPath =>
        System.IO.Path.Combine(Repo.Root, "tests", "FipsAppliance.Tests", "BlackBox", "datadog-fips-proxy.cfg.standin");

    /// <summary>The real shipped example when the tree has it, else the stand-in.</summary>
    public static string Path => File.Exists(Repo.ExampleCfg) ? Repo.ExampleCfg : StandInPath;

    public static string Text => File.ReadAllText(Path);

    /// <summary>
    /// The shipped cfg with only the CA bundle (`ca-file ca-certificates.crt`, written beside the cfg
    /// by <see cref="RelayUnderTest"/>), the resolvers (one nameserver: the local dnsmasq; no
    /// parse-resolv-conf, so the machine's DNS is never asked) and the server ports (443 → the
    /// intake) pointed at local things, and the binds 9803..9818 moved to a free range.
    /// </summary>
    public static string ForTest(int intakePort, int dnsPort, int portRangeStart) =>
        PointAtLocal(Text, intakePort, dnsPort, portRangeStart);

    public static string PointAtLocal(string cfg, int intakePort, int dnsPort, int portRangeStart)
    {
        var lines = new List<string>();
        bool nameserverWritten = false;
        foreach (var raw in cfg.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var trimmed = line.TrimStart();
            // The machine's resolv.conf gives way to the local DNS (the shipped file names no nameserver).
            if (trimmed.StartsWith("parse-resolv-conf", StringComparison.Ordinal))
            {
                if (!nameserverWritten) lines.Add($"    nameserver dns1 127.0.0.1:{dnsPort}");
                nameserverWritten = true;
                continue;
            }
            if (trimmed.StartsWith("nameserver ", StringComparison.Ordinal))
            {
                if (!nameserverWritten) lines.Add($"    nameserver dns1 127.0.0.1:{dnsPort}");
                nameserverWritten = true;
                continue;
            }
            // Things a packaged cfg may carry that a test run cannot honour (not in the stand-in).
            if (Regex.IsMatch(trimmed, @"^(stats socket|chroot|user|group|pidfile|daemon)\b")) continue;
            if (trimmed.StartsWith("bind ", StringComparison.Ordinal))
                line = BindPort().Replace(line, m => m.Groups[1].Value + (portRangeStart + int.Parse(m.Groups[2].Value) - 9803));
            line = CaFile().Replace(line, "ca-file ca-certificates.crt");
            line = Line443().Replace(line, m => m.Groups[1].Value + intakePort);
            lines.Add(line);
        }
        if (!nameserverWritten) throw new InvalidOperationException("the shipped cfg has no nameserver line to point at the local DNS");
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The frontend (or listen) name whose bind has this offset in <paramref name="cfg"/>'s range.</summary>
    public static string FrontendBoundAt(string cfg, int port)
    {
        string? section = null;
        foreach (var raw in cfg.Split('\n'))
        {
            var t = raw.Trim();
            var m = Regex.Match(t, @"^(frontend|listen|backend|global|defaults|resolvers)\s*(\S*)");
            if (m.Success) section = m.Groups[2].Value;
            if (t.StartsWith("bind ", StringComparison.Ordinal) && Regex.IsMatch(t, $@":{port}(\s|$)")) return section!;
        }
        throw new InvalidOperationException($"no bind on port {port}");
    }

    [GeneratedRegex(@"(\bbind\s+\S*:)(98(?:0[3-9]|1[0-8]))\b")]
    private static partial Regex BindPort();

    [GeneratedRegex(@"\bca-file\s+\S+")]
    private static partial Regex CaFile();

    [GeneratedRegex(@"(:|\bport\s+)443\b")]
    private static partial Regex Line443();
}
