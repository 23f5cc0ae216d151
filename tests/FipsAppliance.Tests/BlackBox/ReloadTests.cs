using System.Text.RegularExpressions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// SIGHUP reloads the published binary: a new live model takes the kept listeners over without
/// refusing anyone, a broken cfg leaves the old one serving, a removed frontend's port closes while
/// its session finishes, and a replaced CA file is read anew.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class ReloadTests(ShippedEnvironment env)
{
    private static string ClientTimeout(string cfg, int seconds) =>
        Regex.Replace(cfg, @"timeout\s+client\s+\S+", $"timeout client {seconds}s");

    [Test]
    [NotInParallel("load")]
    public async Task Reloads_during_a_wrk_run_lose_no_request()
    {
        await using var relay = await LifecycleRelay.StartAsync(env);
        var cfg = File.ReadAllText(relay.CfgPath);
        var id = "wrk-reload-" + Payloads.NewTestId();
        var run = Wrk.RunAsync($"http://127.0.0.1:{relay.MetricsPort}/api/v2/series", TimeSpan.FromSeconds(8),
            threads: 2, connections: 8, headers: [$"{TestIntake.TestIdHeader}: {id}"]);

        // Three reloads while wrk runs, each a genuinely different cfg (another timeout client).
        var reloaded = new List<bool>();
        for (int generation = 2; generation <= 4; generation++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            reloaded.Add(await LifecycleRelay.ReloadAsync(relay, ClientTimeout(cfg, 5 + generation), generation, TimeSpan.FromSeconds(20)));
        }
        var wrk = await run;

        await Assert.That(reloaded.All(r => r)).IsTrue().Because(relay.Output);
        await Assert.That(wrk.Requests).IsGreaterThan(100).Because(wrk.Output);
        await Assert.That(wrk.Non2xx).IsEqualTo(0).Because(wrk.Output);
        await Assert.That(wrk.SocketErrors).IsEqualTo(0).Because(wrk.Output);
        // The old models drained once wrk's connections were answered with `connection: close`.
        await Assert.That(await relay.Process.WaitForOutputAsync("Configuration #3 released", TimeSpan.FromSeconds(15))).IsTrue().Because(relay.Output);
    }

    [Test]
    public async Task An_invalid_reload_keeps_serving_and_says_so()
    {
        using var systemd = new NotifySocket();
        await using var relay = await LifecycleRelay.StartAsync(env, systemd);
        var cfg = File.ReadAllText(relay.CfgPath);
        int before = systemd.Received.Count;

        await File.WriteAllTextAsync(relay.CfgPath, cfg.Replace("    mode http\n", "    mode http\n    bogus-keyword 1\n", StringComparison.Ordinal));
        relay.Process.Signal(Posix.SIGHUP);

        await Assert.That(await relay.Process.WaitForOutputAsync("Reload refused", TimeSpan.FromSeconds(20))).IsTrue().Because(relay.Output);
        await Assert.That(relay.Output).Contains("unknown keyword 'bogus-keyword'");
        await Assert.That(relay.Output).Matches(@"\[ALERT\]\s+\(\d+\) : Reload refused: .* still serving with configuration #1 loaded at \d\d:\d\d:\d\d\.");
        // systemd is told the reload is over (READY=1 after RELOADING=1), or `systemctl reload` would hang.
        await Assert.That(await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(10), before)).IsNotNull();
        await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, Payloads.NewTestId())).IsEqualTo(202);

        // Fixed, it reloads.
        await Assert.That(await LifecycleRelay.ReloadAsync(relay, cfg, 2)).IsTrue().Because(relay.Output);
        await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, Payloads.NewTestId())).IsEqualTo(202);
    }

    [Test]
    public async Task A_reload_that_runs_out_of_descriptors_while_binding_keeps_serving()
    {
        using var systemd = new NotifySocket();
        await using var relay = await LifecycleRelay.StartAsync(env, systemd);
        var cfg = File.ReadAllText(relay.CfgPath);
        string backend = Regex.Match(cfg, @"(?m)^backend (\S+)").Groups[1].Value;
        int first = Ports.Free(), second = Ports.Free();
        string grown = cfg.TrimEnd('\n') + $"\n\nfrontend reload-extra\n    bind 127.0.0.1:{first}\n    bind 127.0.0.1:{second}\n    default_backend {backend}\n";
        await File.WriteAllTextAsync(relay.CfgPath, grown);
        int pid = relay.Process.Pid;
        string soft = Regex.Match(File.ReadAllText($"/proc/{pid}/limits"), @"Max open files\s+(\d+)").Groups[1].Value;

        // Room for one more descriptor (soft limit only, so it can be given back): the cfg is read
        // through it, the first new listener keeps it, and the second one's socket() fails with EMFILE.
        int fd = await SessionFaultTests.LowestFreeFdAsync(pid);
        var limited = await ProcessRunner.RunAsync("prlimit", ["--pid", pid.ToString(), $"--nofile={fd + 1}:"]);
        await Assert.That(limited.ExitCode).IsEqualTo(0).Because(limited.All);
        int before = systemd.Received.Count;
        relay.Process.Signal(Posix.SIGHUP);

        await Assert.That(await relay.Process.WaitForOutputAsync("Reload refused", TimeSpan.FromSeconds(20))).IsTrue().Because(relay.Output);
        await Assert.That(relay.Output).Matches(@"\[ALERT\]\s+\(\d+\) : Reload refused: .* still serving with configuration #1 loaded at \d\d:\d\d:\d\d\.");
        await Assert.That(await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(10), before)).IsNotNull();

        // Descriptors again: the daemon still serves, and the refused reload left no port bound.
        var restored = await ProcessRunner.RunAsync("prlimit", ["--pid", pid.ToString(), $"--nofile={soft}:"]);
        await Assert.That(restored.ExitCode).IsEqualTo(0).Because(restored.All);
        await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, Payloads.NewTestId())).IsEqualTo(202).Because(relay.Output);
        await Assert.That(await LifecycleRelay.IsRefusedAsync(first)).IsTrue();
        relay.Process.Signal(Posix.SIGHUP);
        await Assert.That(await relay.Process.WaitForOutputAsync("2 opened, 0 closed", TimeSpan.FromSeconds(30))).IsTrue().Because(relay.Output);
        await Assert.That(await LifecycleRelay.IsRefusedAsync(second)).IsFalse();
    }

    [Test]
    public async Task A_reload_that_removes_a_frontend_closes_its_port_while_its_session_finishes()
    {
        await using var relay = await LifecycleRelay.StartAsync(env);
        var cfg = File.ReadAllText(relay.CfgPath);
        var logs = ShippedCfg.Products.Single(p => p.Frontend == "logs-http-forwarder");
        int logsPort = relay.Port(logs);
        var id = Payloads.NewTestId();
        var body = Payloads.Random(1024 * 1024);

        // An upload in flight on the frontend about to go.
        await using var upload = await RawHttp.ConnectAsync(logsPort);
        await upload.SendAsync(RawHttp.Post(logs.Path, logs.Host, id, body.Length));
        await upload.SendAsync(body.AsMemory(0, body.Length / 2));

        await Assert.That(await LifecycleRelay.ReloadAsync(relay, LifecycleRelay.WithoutFrontend(cfg, "logs-http-forwarder"), 2)).IsTrue().Because(relay.Output);
        await Assert.That(relay.Output).Contains("listeners: 14 kept, 0 opened, 1 closed");

        await Assert.That(await LifecycleRelay.IsRefusedAsync(logsPort)).IsTrue();
        await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, Payloads.NewTestId())).IsEqualTo(202);

        await upload.SendAsync(body.AsMemory(body.Length / 2));
        var response = await upload.ReadFinalResponseAsync(TimeSpan.FromSeconds(15));
        await Assert.That(response?.IsCompleteSuccess).IsTrue();
        // Served by the retiring model: the client is told the connection ends.
        await Assert.That(response!.Header("connection")).IsEqualTo("close");
        var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(5));
        await Assert.That(seen.Single().BodySha256).IsEqualTo(Payloads.Sha256(body));
        await Assert.That(await relay.Process.WaitForOutputAsync("Configuration #1 released", TimeSpan.FromSeconds(10))).IsTrue().Because(relay.Output);
    }

    [Test]
    public async Task A_reload_reads_a_replaced_ca_file_anew()
    {
        await using var relay = await LifecycleRelay.StartAsync(env);
        var cfg = File.ReadAllText(relay.CfgPath);
        var caFile = Path.Combine(relay.Directory, "ca-certificates.crt");
        var original = File.ReadAllText(caFile);

        // The admin replaces the bundle with one that does not hold the intake's CA, then reloads.
        await File.WriteAllTextAsync(caFile, new TestCa("Another Root CA").RootPem);
        await Assert.That(await LifecycleRelay.ReloadAsync(relay, cfg, 2)).IsTrue().Because(relay.Output);
        await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, Payloads.NewTestId())).IsEqualTo(502);

        await File.WriteAllTextAsync(caFile, original);
        await Assert.That(await LifecycleRelay.ReloadAsync(relay, cfg, 3)).IsTrue().Because(relay.Output);
        await Assert.That(await LifecycleRelay.GetAsync(relay.MetricsPort, Payloads.NewTestId())).IsEqualTo(202);
    }
}
