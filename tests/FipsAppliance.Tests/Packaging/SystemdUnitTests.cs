using System.Globalization;
using System.Text.RegularExpressions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// The shipped unit: how it starts, reloads and restarts the daemon, and how tightly it is sandboxed
/// (`systemd-analyze security`, offline, with the machine's systemd 252: 2.0 at most; Debian's
/// haproxy.service is measured beside it for the record). `systemd-analyze verify` runs on the
/// installed package in <see cref="DebInstallTests"/>, where the binary it names exists.
/// </summary>
public partial class SystemdUnitTests
{
    private static async Task<string> ShippedUnitAsync(TempDir dir)
    {
        var bytes = await VersionTests.DebFileAsync("./lib/systemd/system/datadog-fips-proxy.service");
        var path = dir.Combine("datadog-fips-proxy.service");
        await File.WriteAllBytesAsync(path, bytes);
        return path;
    }

    /// <summary>The overall exposure `systemd-analyze security --offline=true` gives a unit file.</summary>
    private static async Task<(double Score, string Report)> ExposureAsync(string unitFile)
    {
        var r = await Packages.RunAsync("systemd-analyze", ["security", "--offline=true", "--no-pager", unitFile], check: false);
        var m = Exposure().Match(r.All);
        if (!m.Success) throw new InvalidOperationException("no exposure level in:\n" + r.All);
        return (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), r.All);
    }

    [GeneratedRegex(@"Overall exposure level for \S+: (\d+\.\d+)")]
    private static partial Regex Exposure();

    [Test]
    public async Task Security_exposure_is_at_most_2_0()
    {
        using var dir = new TempDir();
        var (ours, report) = await ExposureAsync(await ShippedUnitAsync(dir));
        Console.WriteLine($"systemd-analyze security: datadog-fips-proxy.service {ours.ToString(CultureInfo.InvariantCulture)}");
        if (File.Exists("/lib/systemd/system/haproxy.service"))
        {
            var (haproxy, _) = await ExposureAsync("/lib/systemd/system/haproxy.service");
            Console.WriteLine($"systemd-analyze security: haproxy.service (Debian) {haproxy.ToString(CultureInfo.InvariantCulture)}");
        }
        await Assert.That(ours).IsLessThanOrEqualTo(2.0).Because(report);
    }

    [Test]
    public async Task Starts_as_notify_after_a_check_and_reloads_after_a_check()
    {
        using var dir = new TempDir();
        var unit = Directives(await File.ReadAllTextAsync(await ShippedUnitAsync(dir)));
        const string exe = Packages.Binary;
        const string cfg = "-f " + Packages.Cfg;
        await Assert.That(unit["Type"]).IsEquivalentTo(new[] { "notify" });
        await Assert.That(unit["User"]).IsEquivalentTo(new[] { "dd-agent" });
        await Assert.That(unit["ExecStartPre"]).IsEquivalentTo(new[] { $"{exe} -c -q {cfg}" });
        await Assert.That(unit["ExecStart"]).IsEquivalentTo(new[] { $"{exe} {cfg}" });
        // In this order: a bad file fails the reload before the daemon is signalled.
        await Assert.That(unit["ExecReload"]).IsEquivalentTo(new[] { $"{exe} -c -q {cfg}", "/bin/kill -HUP $MAINPID" }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
        await Assert.That(unit["Restart"]).IsEquivalentTo(new[] { "on-failure" });
        await Assert.That(unit["WatchdogSec"].Single()).IsNotEqualTo("0");
        // maxconn comes from RLIMIT_NOFILE, two descriptors per relayed connection.
        await Assert.That(int.Parse(unit["LimitNOFILE"].Single(), CultureInfo.InvariantCulture)).IsGreaterThanOrEqualTo(65536);
        await Assert.That(unit["WantedBy"]).IsEquivalentTo(new[] { "multi-user.target" });
    }

    [Test]
    public async Task Sandbox_options_are_all_set()
    {
        using var dir = new TempDir();
        var unit = Directives(await File.ReadAllTextAsync(await ShippedUnitAsync(dir)));
        var expected = new Dictionary<string, string>
        {
            ["NoNewPrivileges"] = "yes", ["ProtectSystem"] = "strict", ["ProtectHome"] = "yes", ["PrivateTmp"] = "yes",
            ["PrivateDevices"] = "yes", ["ProtectKernelTunables"] = "yes", ["ProtectKernelModules"] = "yes",
            ["ProtectKernelLogs"] = "yes", ["ProtectControlGroups"] = "yes", ["CapabilityBoundingSet"] = "",
            ["RestrictAddressFamilies"] = "AF_INET AF_INET6 AF_UNIX", ["MemoryDenyWriteExecute"] = "yes",
            ["LockPersonality"] = "yes", ["RestrictRealtime"] = "yes", ["RestrictNamespaces"] = "yes",
            ["RestrictSUIDSGID"] = "yes", ["ProtectClock"] = "yes", ["ProtectHostname"] = "yes",
            ["ProtectProc"] = "invisible", ["SystemCallArchitectures"] = "native", ["UMask"] = "0077",
        };
        var wrong = expected.Where(e => !unit.TryGetValue(e.Key, out var v) || v[^1] != e.Value)
            .Select(e => $"{e.Key}={(unit.TryGetValue(e.Key, out var v) ? v[^1] : "(absent)")}, expected {e.Value}").ToList();
        await Assert.That(wrong).IsEmpty();
        await Assert.That(unit["SystemCallFilter"]).Contains("@system-service");
        // No writable path: the daemon writes no file (logs go to the journal).
        await Assert.That(unit.ContainsKey("ReadWritePaths")).IsFalse();
    }

    /// <summary>Directive → values in file order (the [Service]/[Unit]/[Install] sections merged).</summary>
    internal static Dictionary<string, List<string>> Directives(string unitText)
    {
        var d = new Dictionary<string, List<string>>();
        foreach (var raw in unitText.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';' or '[') continue;
            var eq = line.IndexOf('=');
            if (eq < 0) continue;
            var key = line[..eq].Trim();
            if (!d.TryGetValue(key, out var list)) d[key] = list = [];
            list.Add(line[(eq + 1)..].Trim());
        }
        return d;
    }
}
