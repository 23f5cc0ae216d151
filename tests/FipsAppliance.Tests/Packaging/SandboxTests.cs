using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// The unit's kernel-level restrictions, checked on the published binary without systemd as PID 1:
/// MemoryDenyWriteExecute= (systemd 252's seccomp rules, made fatal, and the kernel's PR_SET_MDWE),
/// RestrictAddressFamilies= and SystemCallFilter=@system-service ~@privileged @resources (every
/// system call the daemon makes while it starts, relays in both modes and stops, traced by strace,
/// is one the filter allows). Native AOT compiles ahead of time; these tests are what says that
/// no code path maps writable memory executable.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class SandboxTests(ShippedEnvironment env)
{
    private sealed record Run(int ExitCode, string Output, int PostStatus, IntakeRequest? Seen);

    /// <summary>The daemon with the shipped cfg (pointed at the test intake and DNS), started by
    /// <paramref name="prefix"/>, relaying every product port and a 64 KiB POST, then SIGTERM.</summary>
    private async Task<Run> RelayUnderAsync(string[] prefix, Func<RunningProcess, int>? daemonPid = null)
    {
        using var dir = new TempDir();
        var start = Ports.FreeRange(16);
        var cfg = dir.File("datadog-fips-proxy.cfg", env.Cfg(start));
        dir.File("ca-certificates.crt", env.Ca.RootPem);
        var env_ = new Dictionary<string, string?> { ["DD_FIPS_LOCAL_ADDRESS"] = null, ["DD_FIPS_PORT_RANGE_START"] = null };
        await using var daemon = new RunningProcess(prefix[0], [.. prefix[1..], Repo.Binary, "-f", cfg], env_, dir.Path);
        await Sandbox.WaitUntilRelayingAsync(daemon, start, TimeSpan.FromSeconds(30));
        var testId = Guid.NewGuid().ToString("N");
        var (status, seen) = await Sandbox.PostMetricsAsync(env.Intake, start, testId);
        Posix.kill(daemonPid?.Invoke(daemon) ?? daemon.Pid, Posix.SIGTERM);
        var exit = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return new Run(exit, daemon.Output, status, seen);
    }

    [Test]
    public async Task Relays_under_systemd_252s_MemoryDenyWriteExecute_filter_made_fatal()
    {
        var sandbox = await Sandbox.ExecAsync();
        var run = await RelayUnderAsync([sandbox, "seccomp", "--"]);
        // A W+X mapping or an mprotect(PROT_EXEC) would have killed it with SIGSYS (exit 159).
        await Assert.That(run.ExitCode).IsEqualTo(0).Because(run.Output);
        await Assert.That(run.PostStatus).IsEqualTo(202);
        await Assert.That(run.Seen?.BodyLength).IsEqualTo(64 * 1024);
    }

    [Test]
    public async Task Relays_under_the_kernels_PR_SET_MDWE()
    {
        var sandbox = await Sandbox.ExecAsync();
        var probe = await Packages.RunAsync(sandbox, ["prctl", "--", "true"], check: false);
        Skip.When(probe.ExitCode == 77, "this kernel has no PR_SET_MDWE (Linux 6.3+); the seccomp test covers MemoryDenyWriteExecute=");
        await Assert.That(probe.ExitCode).IsEqualTo(0).Because(probe.All);
        var run = await RelayUnderAsync([sandbox, "prctl", "--"]);
        await Assert.That(run.ExitCode).IsEqualTo(0).Because(run.Output);
        await Assert.That(run.PostStatus).IsEqualTo(202);
    }

    [Test]
    public async Task Sandbox_refuses_a_writable_executable_mapping()
    {
        // The filter is live: the same rules kill a program that maps W+X memory (perl's syscall to mmap).
        var sandbox = await Sandbox.ExecAsync();
        var r = await Packages.RunAsync(sandbox, ["seccomp", "--", "perl", "-e", "syscall(9, 0, 4096, 7, 0x22, -1, 0); print qq(mapped\\n)"], check: false);
        await Assert.That(r.ExitCode).IsEqualTo(128 + 31);
        await Assert.That(r.StdOut).DoesNotContain("mapped");
    }

    [Test]
    public async Task Check_and_fips_status_run_under_the_filter()
    {
        var sandbox = await Sandbox.ExecAsync();
        using var dir = new TempDir();
        var cfg = dir.File("datadog-fips-proxy.cfg", env.Cfg(Ports.FreeRange(16)));
        dir.File("ca-certificates.crt", env.Ca.RootPem);
        var check = await Packages.RunAsync(sandbox, ["seccomp", "--", Repo.Binary, "-c", "-q", "-f", cfg], check: false);
        await Assert.That(check.ExitCode).IsEqualTo(0).Because(check.All);
        var status = await Packages.RunAsync(sandbox, ["seccomp", "--", Repo.Binary, "fips-status"], check: false);
        await Assert.That(status.ExitCode).IsEqualTo(0).Because(status.All);
    }

    [Test]
    public async Task Every_system_call_is_in_the_units_SystemCallFilter_and_no_netlink_socket_is_opened()
    {
        using var dir = new TempDir();
        var trace = dir.Combine("strace.txt");
        // strace -f traces the daemon; the daemon (strace's child) gets the SIGTERM.
        var run = await RelayUnderAsync(["strace", "-f", "-qq", "-o", trace],
            daemon => int.Parse(File.ReadAllText($"/proc/{daemon.Pid}/task/{daemon.Pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]));
        await Assert.That(run.ExitCode).IsEqualTo(0).Because(run.Output);

        var lines = await File.ReadAllLinesAsync(trace);
        var used = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^\d+\s+([a-z_0-9]+)\(")).Where(m => m.Success)
            .Select(m => m.Groups[1].Value).ToHashSet();
        var allowed = await SyscallGroupAsync("@system-service");
        allowed.ExceptWith(await SyscallGroupAsync("@privileged"));
        allowed.ExceptWith(await SyscallGroupAsync("@resources"));
        Console.WriteLine($"{used.Count} distinct system calls: {string.Join(' ', used.Order())}");
        await Assert.That(used.Except(allowed).Order().ToList()).IsEmpty();
        await Assert.That(used.Count).IsGreaterThan(30);
        var families = lines.Where(l => l.Contains(" socket(", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"socket\((AF_[A-Z0-9]+)").Groups[1].Value).ToHashSet();
        await Assert.That(families.Except(["AF_INET", "AF_INET6", "AF_UNIX"]).ToList()).IsEmpty();
    }

    /// <summary>The system calls of a systemd group, nested groups expanded (the machine's systemd).</summary>
    private static async Task<HashSet<string>> SyscallGroupAsync(string group)
    {
        var all = (await Packages.RunAsync("systemd-analyze", ["syscall-filter", "--no-pager"])).StdOut;
        var groups = new Dictionary<string, List<string>>();
        List<string>? current = null;
        foreach (var raw in all.Split('\n'))
        {
            if (raw.StartsWith('@')) { groups[raw.Trim()] = current = []; continue; }
            var s = raw.Trim();
            if (current is not null && s.Length > 0 && !s.StartsWith('#')) current.Add(s);
        }
        var result = new HashSet<string>();
        var seen = new HashSet<string>();
        void Expand(string g)
        {
            if (!seen.Add(g) || !groups.TryGetValue(g, out var members)) return;
            foreach (var m in members)
                if (m.StartsWith('@')) Expand(m); else result.Add(m);
        }
        Expand(group);
        if (result.Count == 0) throw new InvalidOperationException($"systemd-analyze knows no {group}");
        return result;
    }
}
