using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// The unit under real systemd: the minimal Debian root with the .deb installed (offline, as an
/// image build does) is booted with systemd-nspawn on the host's network; its systemd starts the
/// enabled unit at boot, with every sandbox option, and the daemon relays to the test intake. A
/// probe unit inside records what systemd and the kernel say about the service (the shipped
/// Type=notify and WatchdogSec=: it is active only once the daemon sent READY=1), reloads it,
/// then stops it and powers the container off when the test says so.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class SystemdBootTests(ShippedEnvironment env)
{
    private const string Probe = "/root/probe";

    [Test]
    public async Task Systemd_starts_the_installed_unit_at_boot_and_it_relays_under_its_whole_sandbox()
    {
        var nspawn = Path.Combine(Repo.Artifacts, "systemd-nspawn");
        if (!File.Exists(nspawn)) throw new InvalidOperationException($"{nspawn} is missing: run ./build.sh test (its debroot step unpacks it)");
        using var root = await DebRoot.CreateAsync();
        var install = await root.RunAsync(["dpkg", "-i", root.CopyIn(Packages.Deb)], network: false, check: false);
        await Assert.That(install.ExitCode).IsEqualTo(0).Because(install.All);

        var start = Ports.FreeRange(16);
        // The administrator's cfg: the shipped one pointed at the test intake and DNS, binds left at
        // 9803-9818 and moved by the unit's environment (DD_FIPS_PORT_RANGE_START, as in a drop-in).
        await File.WriteAllTextAsync(root.HostPath(Packages.Cfg),
            env.Cfg(9803).Replace("ca-file ca-certificates.crt", "ca-file intake-ca.pem", StringComparison.Ordinal));
        await File.WriteAllTextAsync(root.HostPath(Packages.EtcDir + "/intake-ca.pem"), env.Ca.RootPem);
        Directory.CreateDirectory(root.HostPath("/etc/systemd/system/datadog-fips-proxy.service.d"));
        await File.WriteAllTextAsync(root.HostPath("/etc/systemd/system/datadog-fips-proxy.service.d/test.conf"),
            "[Service]\n" + $"Environment=DD_FIPS_PORT_RANGE_START={start}\n");
        WriteProbe(root);

        var machine = "fips-pkg-" + Guid.NewGuid().ToString("N")[..8];
        await using (var container = new RunningProcess(nspawn,
            ["-q", "-D", root.Root, "-b", "--register=no", "--keep-unit", $"--machine={machine}", "--console=pipe"]))
        {
            try
            {
                if (!await WaitForFileAsync(root, Probe + "/ready", container, TimeSpan.FromSeconds(120)))
                {
                    // systemd-nspawn could not boot a container on this machine at all: nothing of ours ran.
                    Skip.When(!root.Exists(Probe + "/booted"), "systemd-nspawn cannot boot a container here:\n" + container.Output);
                    throw new TimeoutException("datadog-fips-proxy.service did not become active:\n" + Read(root, "started.txt") + container.Output);
                }
                await Sandbox.WaitUntilRelayingAsync(container, start, TimeSpan.FromSeconds(40));
                var (status, seen) = await Sandbox.PostMetricsAsync(env.Intake, start, Guid.NewGuid().ToString("N"));
                await Assert.That(status).IsEqualTo(202);
                await Assert.That(seen?.Sni).IsEqualTo("metrics.agent.ddog-gov.com");
            }
            finally
            {
                await File.WriteAllTextAsync(root.HostPath(Probe + "/go-stop"), "");
                try { await container.WaitForExitAsync(TimeSpan.FromSeconds(120)); }
                catch (OperationCanceledException) { /* disposed (killed) below; the asserts say what was missed */ }
                TryRemovePropagateDir(machine);
            }
        }

        var started = Read(root, "started.txt");
        await Assert.That(started).Contains("Active: active (running)");
        // Active under Type=notify means READY=1 arrived; the STATUS= line is the daemon's own.
        await Assert.That(started).Contains("Type=notify");
        await Assert.That(started).Matches(@"StatusText=Ready: \d+ frontends");
        await Assert.That(started).Contains("/lib/systemd/system/datadog-fips-proxy.service; enabled; preset: enabled");
        await Assert.That(started).Contains("ExecStartPre=/opt/datadog-fips-proxy/bin/datadog-fips-proxy -c -q -f /etc/datadog-fips-proxy/datadog-fips-proxy.cfg (code=exited, status=0/SUCCESS)");
        // What the kernel says about the running daemon: the sandbox is in force.
        var proc = Read(root, "proc.txt");
        await Assert.That(proc).Matches(@"NoNewPrivs:\s+1");
        await Assert.That(proc).Matches(@"Seccomp:\s+2");
        await Assert.That(proc).Matches(@"CapEff:\s+0000000000000000");
        await Assert.That(proc).Matches(@"CapBnd:\s+0000000000000000");
        var dd = root.User("dd-agent")!.Value;
        await Assert.That(proc).Matches($@"Uid:\s+{dd.Uid}\s+{dd.Uid}\s+{dd.Uid}\s+{dd.Uid}");
        var journal = Read(root, "journal.txt");
        await Assert.That(journal).Contains("FIPS mode enabled");
        await Assert.That(journal).Contains($"moved to {start}-{start + 15}");
        await Assert.That(Read(root, "reload.txt")).Contains("reload: ok, same MainPID");
        var stopped = Read(root, "stopped.txt");
        await Assert.That(stopped).Contains("Result=success");
        await Assert.That(stopped).Contains("ExecMainStatus=0");
        await Assert.That(stopped).Contains("NRestarts=0");
        await Assert.That(root.Mounts()).IsEmpty();
    }

    private static void WriteProbe(DebRoot root)
    {
        var script = $$"""
            #!/bin/bash
            # Started by systemd at boot, after datadog-fips-proxy.service: records, waits for the test, stops, powers off.
            d={{Probe}}
            mkdir -p $d; touch $d/booted
            for i in $(seq 1 90); do systemctl is-active --quiet datadog-fips-proxy && break; sleep 1; done
            systemctl status --no-pager datadog-fips-proxy > $d/started.txt 2>&1
            systemctl show -p Type,WatchdogUSec,StatusText datadog-fips-proxy >> $d/started.txt 2>&1
            pid=$(systemctl show -p MainPID --value datadog-fips-proxy)
            grep -E 'Uid|Gid|NoNewPrivs|Seccomp|Cap(Eff|Bnd)' /proc/$pid/status > $d/proc.txt 2>&1
            touch $d/ready
            for i in $(seq 1 240); do [ -e $d/go-stop ] && break; sleep 0.5; done
            if systemctl reload datadog-fips-proxy && [ "$(systemctl show -p MainPID --value datadog-fips-proxy)" = "$pid" ] \
               && systemctl is-active --quiet datadog-fips-proxy; then echo "reload: ok, same MainPID" > $d/reload.txt
            else echo "reload: failed" > $d/reload.txt; systemctl status --no-pager datadog-fips-proxy >> $d/reload.txt 2>&1; fi
            systemctl stop datadog-fips-proxy
            systemctl show -p Result,ExecMainStatus,NRestarts,ActiveState datadog-fips-proxy > $d/stopped.txt 2>&1
            journalctl -u datadog-fips-proxy --no-pager > $d/journal.txt 2>&1
            systemctl poweroff
            """;
        File.WriteAllText(root.HostPath("/usr/local/sbin/fips-probe"), script.Replace("\r", ""));
        if (OperatingSystem.IsLinux())
            File.SetUnixFileMode(root.HostPath("/usr/local/sbin/fips-probe"),
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.WriteAllText(root.HostPath("/etc/systemd/system/fips-probe.service"), """
            [Unit]
            After=datadog-fips-proxy.service
            [Service]
            Type=oneshot
            ExecStart=/usr/local/sbin/fips-probe
            [Install]
            WantedBy=multi-user.target
            """);
        File.CreateSymbolicLink(root.HostPath("/etc/systemd/system/multi-user.target.wants/fips-probe.service"), "/etc/systemd/system/fips-probe.service");
    }

    private static async Task<bool> WaitForFileAsync(DebRoot root, string path, RunningProcess container, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (root.Exists(path)) return true;
            if (container.HasExited) return root.Exists(path);
            await Task.Delay(200);
        }
        return false;
    }

    private static string Read(DebRoot root, string name) =>
        root.Exists($"{Probe}/{name}") ? root.ReadText($"{Probe}/{name}") : $"({name} was not written)";

    /// <summary>systemd-nspawn leaves an empty /run/systemd/nspawn/propagate/&lt;machine&gt; on the host.</summary>
    private static void TryRemovePropagateDir(string machine)
    {
        try { Directory.Delete($"/run/systemd/nspawn/propagate/{machine}"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
