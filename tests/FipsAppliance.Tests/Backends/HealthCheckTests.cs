using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using FipsAppliance.Backends;
using FipsAppliance.Backends.Health;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Backends;

public class HealthCheckTests
{
    /// <summary>HAProxy 2.6's init_srv_check, case by case; the first row is the shipped file's line.</summary>
    [Test]
    [Arguments("check port 443 ssl", false)]                // `port` stops the inheritance of `ssl`: TCP only
    [Arguments("check ssl", true)]                          // inherits the server's transport
    [Arguments("check", false)]
    [Arguments("check port 443 ssl check-ssl", true)]
    [Arguments("check addr 127.0.0.1 ssl", false)]
    [Arguments("check addr 127.0.0.1 check-ssl", true)]
    [Arguments("check ssl no-check-ssl", false)]
    [Arguments("check check-ssl", true)]
    public async Task Check_speaks_tls_by_haproxy_26s_rule(string words, bool tls)
    {
        var line = new ServerLine { Ssl = words.Contains(" ssl", StringComparison.Ordinal) && !words.EndsWith("no-ssl", StringComparison.Ordinal) };
        foreach (var w in words.Split(' '))
        {
            if (w == "check-ssl") line.CheckSsl = true;
            if (w == "no-check-ssl") { line.CheckSsl = false; line.NoCheckSsl = true; }
        }
        if (words.Contains("port 443", StringComparison.Ordinal)) line.CheckPort = 443;
        if (words.Contains("addr ", StringComparison.Ordinal)) line.CheckAddr = "127.0.0.1";
        await Assert.That(HealthCheck.SpeaksTls(line)).IsEqualTo(tls);
    }

    [Test]
    public async Task Timeout_is_inter_or_min_of_inter_and_connect_with_timeout_check()
    {
        var line = new ServerLine { Inter = 2000 };
        await Assert.That(HealthCheck.TimeoutFor(line, new ProxyTimeouts { Connect = 500 })).IsEqualTo(2000);
        await Assert.That(HealthCheck.TimeoutFor(line, new ProxyTimeouts { Connect = 500, Check = 9000 })).IsEqualTo(500);
        await Assert.That(HealthCheck.TimeoutFor(line, new ProxyTimeouts { Connect = 5000, Check = 100 })).IsEqualTo(2000);
    }

    private static (HealthCheck Check, CheckScheduler Scheduler) Check(ServerLine line, SslClientAuthenticationOptions? tls = null)
    {
        var log = new ListLogger();
        var b = TestModel.Backend(log, "be", line);
        TestModel.Start(b);
        var scheduler = new CheckScheduler();
        return (new HealthCheck(b.Servers[0], scheduler, tls, 0, CancellationToken.None), scheduler);
    }

    [Test]
    public async Task Tcp_check_passes_on_a_listener_and_says_connection_refused_on_a_closed_port()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int open = ((IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            var (ok, s1) = Check(TestModel.Line("s1", "127.0.0.1", open));
            using (s1)
            {
                var r = await ok.ProbeAsync();
                await Assert.That(r.Status).IsEqualTo(CheckStatus.L4Ok);
            }
        }
        finally { listener.Stop(); }
        var (refused, s2) = Check(TestModel.Line("s1", "127.0.0.1", open));
        using (s2)
        {
            var r = await refused.ProbeAsync();
            await Assert.That(r.Status).IsEqualTo(CheckStatus.L4Connection);
            await Assert.That(r.Info).IsEqualTo("Connection refused");
            await Assert.That(r.AppendInfo()).StartsWith(", reason: Layer4 connection problem, info: \"Connection refused\", check duration: ");
        }
    }

    [Test]
    public async Task Check_goes_to_addr_and_port_when_given()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var line = TestModel.Line("s1", "10.255.255.1", 1);   // the server's own address is never tried
            line.CheckAddr = "127.0.0.1";
            line.CheckPort = ((IPEndPoint)listener.LocalEndpoint).Port;
            var (check, s) = Check(line);
            using (s)
            {
                await Assert.That(check.Target()!.ToString()).IsEqualTo($"127.0.0.1:{line.CheckPort}");
                await Assert.That((await check.ProbeAsync()).Status).IsEqualTo(CheckStatus.L4Ok);
            }
        }
        finally { listener.Stop(); }
    }

    [Test]
    public async Task Tls_check_uses_the_servers_name_rule_and_fails_on_a_certificate_for_another_host()
    {
        using var dir = new TempDir();
        var ca = new TestCa();
        string caFile = ca.WriteRoot(dir.Path);
        var leaf = ca.Issue(["other.example"]);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var serve = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Socket c;
                try { c = await listener.AcceptSocketAsync(stop.Token); } catch (Exception) { return; }
                _ = Task.Run(async () =>
                {
                    using var ssl = new SslStream(new NetworkStream(c, ownsSocket: true));
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                        {
                            ServerCertificate = leaf.Certificate, EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        });
                    }
                    catch (Exception) { }
                });
            }
        });
        try
        {
            foreach (var (name, verifyHost, status, info) in new[]
            {
                ("api.example", "api.example", CheckStatus.L6Response, "Server presented an SSL certificate different from the configured one (certificate name mismatch"),
                ("api.example", (string?)null, CheckStatus.L6Response, "Server presented an SSL certificate different from the expected one (certificate name mismatch"),
                ("other.example", "other.example", CheckStatus.L6Ok, ""),
            })
            {
                var line = TestModel.Line("s1", "127.0.0.1", port);
                line.Ssl = true;
                line.CaFile = caFile;
                line.Sni = $"str({name})";
                line.VerifyHost = verifyHost;
                var policy = new TlsPolicies(new GlobalSection()).For(line);
                var (check, s) = Check(line, policy.Options);
                using (s)
                {
                    var r = await check.ProbeAsync();
                    await Assert.That(r.Status).IsEqualTo(status).Because($"{name}/{verifyHost}: {r.Info}");
                    await Assert.That(r.Info).StartsWith(info);
                }
            }
        }
        finally
        {
            stop.Cancel();
            listener.Stop();
            await serve;
        }
    }

    [Test]
    public async Task Tls_check_to_a_silent_server_is_a_layer6_timeout_after_inter()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();   // accepts (in the backlog) and never speaks
        try
        {
            var line = TestModel.Line("s1", "127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, inter: 300);
            line.Ssl = true;
            line.Verify = VerifyMode.None;
            var (check, s) = Check(line, new TlsPolicies(new GlobalSection()).For(line).Options);
            using (s)
            {
                var r = await check.ProbeAsync();
                await Assert.That(r.Status).IsEqualTo(CheckStatus.L6Timeout);
                await Assert.That(r.DurationMs).IsGreaterThanOrEqualTo(290);
                await Assert.That(r.AppendInfo()).StartsWith(", reason: Layer6 timeout, check duration: ");
            }
        }
        finally { listener.Stop(); }
    }

    [Test]
    public async Task Start_up_spreads_80_checks_over_the_smallest_interval()
    {
        var log = new ListLogger();
        var backends = Enumerable.Range(0, 16).Select(b =>
            TestModel.Backend(log, "b" + b, [.. Enumerable.Range(1, 5).Select(i => TestModel.Line("m" + i, $"127.0.{b}.{i}", 1, inter: 10_000))])).ToArray();
        foreach (var b in backends) TestModel.Start(b);
        using var checks = new HealthChecks(backends, new GlobalSection(), new TlsPolicies(new GlobalSection()));
        await Assert.That(checks.Count).IsEqualTo(80);
        long before = Environment.TickCount64;
        checks.Start();
        var dues = backends.SelectMany(b => b.Servers).Select(s => s.Check!.DueTicks - before).Order().ToArray();
        // One every 10 s / 80 = 125 ms: never two in the same millisecond.
        await Assert.That(dues.Distinct().Count()).IsEqualTo(80);
        for (int i = 1; i < dues.Length; i++) await Assert.That(dues[i] - dues[i - 1]).IsGreaterThanOrEqualTo(120);
    }
}
