using System.Text.RegularExpressions;
using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Stats;

public partial class PrometheusStatsTests
{
    // Exposition format 0.0.4: name, optional {label="value",...} with \\ \" \n escapes, a value.
    [GeneratedRegex("""^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9]+(?:\.[0-9]+)?|NaN|[+-]Inf)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$""")]
    private static partial Regex CommentLine();

    [Test]
    public async Task Output_parses_and_every_family_has_one_help_and_one_type_before_its_samples()
    {
        var source = FakeStats.Appliance();
        string text = FakeStats.Render(source, StatsFormat.Prometheus);
        await Assert.That(text).EndsWith("\n");

        var help = new Dictionary<string, int>();
        var type = new Dictionary<string, string>();
        var finished = new HashSet<string>();
        string? current = null;
        foreach (string line in text.TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                Match comment = CommentLine().Match(line);
                await Assert.That(comment.Success).IsTrue().Because(line);
                string name = comment.Groups[2].Value;
                if (comment.Groups[1].Value == "HELP") help[name] = help.GetValueOrDefault(name) + 1;
                else
                {
                    await Assert.That(type.ContainsKey(name)).IsFalse().Because($"second TYPE for {name}");
                    await Assert.That(comment.Groups[3].Value).IsIn("gauge", "counter");
                    type[name] = comment.Groups[3].Value;
                }
                continue;
            }

            Match sample = SampleLine().Match(line);
            await Assert.That(sample.Success).IsTrue().Because(line);
            string metric = sample.Groups[1].Value;
            await Assert.That(type.ContainsKey(metric)).IsTrue().Because($"sample before TYPE: {line}");
            if (metric != current)
            {
                // Samples of one family must be contiguous.
                await Assert.That(finished.Contains(metric)).IsFalse().Because($"{metric} split in two groups");
                if (current is not null) finished.Add(current);
                current = metric;
            }
            if (type[metric] == "counter") await Assert.That(metric).EndsWith("_total");
        }

        await Assert.That(help.Count).IsGreaterThan(20);
        foreach (var (name, count) in help) await Assert.That(count).IsEqualTo(1).Because(name);
        await Assert.That(help.Keys.Order()).IsEquivalentTo(type.Keys.Order());
    }

    [Test]
    public async Task Uses_haproxy_exporter_names_and_labels_with_our_values()
    {
        string text = FakeStats.Render(FakeStats.Appliance(), StatsFormat.Prometheus);

        await Assert.That(text).Contains("\nhaproxy_frontend_current_sessions{proxy=\"metrics-forwarder\"} 3\n");
        await Assert.That(text).Contains("\nhaproxy_frontend_bytes_in_total{proxy=\"metrics-forwarder\"} 123456\n");
        await Assert.That(text).Contains("\nhaproxy_frontend_limit_sessions{proxy=\"metrics-forwarder\"} 500\n");
        await Assert.That(text).Contains("\nhaproxy_frontend_http_responses_total{proxy=\"metrics-forwarder\",code=\"2xx\"} 390\n");
        await Assert.That(text).Contains("\nhaproxy_frontend_http_requests_total{proxy=\"metrics-forwarder\"} 400\n");
        await Assert.That(text).Contains("\nhaproxy_backend_connection_errors_total{proxy=\"datadog-metrics\"} 14\n");
        await Assert.That(text).Contains("\nhaproxy_backend_status{proxy=\"datadog-metrics\",state=\"UP\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_backend_active_servers{proxy=\"datadog-metrics\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_server_status{proxy=\"datadog-metrics\",server=\"mothership2\",state=\"DOWN\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_server_status{proxy=\"datadog-metrics\",server=\"mothership2\",state=\"UP\"} 0\n");
        await Assert.That(text).Contains("\nhaproxy_server_status{proxy=\"datadog-metrics\",server=\"mothership3\",state=\"MAINT\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_server_status{proxy=\"datadog-traces\",server=\"mothership1\",state=\"UP\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_server_check_status{proxy=\"datadog-metrics\",server=\"mothership2\",state=\"L4CON\"} 1\n");
        await Assert.That(text).Contains("\nhaproxy_server_connection_reuses_total{proxy=\"datadog-metrics\",server=\"mothership1\"} 289\n");
        await Assert.That(text).Contains("\nhaproxy_server_http_responses_total{proxy=\"datadog-metrics\",server=\"mothership1\",code=\"5xx\"} 5\n");
        await Assert.That(text).Contains("\ndatadog_fips_proxy_server_tls_handshakes_total{proxy=\"datadog-metrics\",server=\"mothership1\"} 11\n");
        await Assert.That(text).Contains("\nhaproxy_process_uptime_seconds 3723\n");
        await Assert.That(text).Contains("\nhaproxy_process_current_connections 7\n");
        await Assert.That(text).Contains("\ndatadog_fips_proxy_fips_info{provider=\"OpenSSL FIPS Provider\",version=\"3.1.2\",summary=\"OpenSSL FIPS Provider 3.1.2 (FIPS 140-3 #4985)\"} 1\n");
    }

    [Test]
    public async Task Servers_idle_pools_use_the_exporters_names()
    {
        var pooled = new FakeServer { Name = "pooled", IdlePool = new ServerPoolStats(2, 3, 4, 7, 8) };
        var unbounded = new FakeServer { Name = "unbounded", IdlePool = new ServerPoolStats(0, 1, 0, 1, -1) };
        string text = FakeStats.Render(new FakeSource { Backends = [new FakeBackend { Name = "be", Servers = [pooled, unbounded] }] }, StatsFormat.Prometheus);

        await Assert.That(text).Contains("\nhaproxy_server_idle_connections_current{proxy=\"be\",server=\"pooled\"} 5\n");
        await Assert.That(text).Contains("\nhaproxy_server_idle_connections_limit{proxy=\"be\",server=\"pooled\"} 8\n");
        await Assert.That(text).DoesNotContain("haproxy_server_idle_connections_limit{proxy=\"be\",server=\"unbounded\"}");
        await Assert.That(text).Contains("\nhaproxy_server_unsafe_idle_connections_current{proxy=\"be\",server=\"pooled\"} 2\n");
        await Assert.That(text).Contains("\nhaproxy_server_safe_idle_connections_current{proxy=\"be\",server=\"pooled\"} 3\n");
        await Assert.That(text).Contains("\nhaproxy_server_used_connections_current{proxy=\"be\",server=\"pooled\"} 4\n");
        await Assert.That(text).Contains("\nhaproxy_server_need_connections_current{proxy=\"be\",server=\"unbounded\"} 1\n");
    }

    [Test]
    public async Task Tcp_proxies_have_no_http_series()
    {
        string text = FakeStats.Render(FakeStats.Appliance(), StatsFormat.Prometheus);

        await Assert.That(text).DoesNotContain("haproxy_frontend_http_requests_total{proxy=\"traces-forwarder\"}");
        await Assert.That(text).DoesNotContain("haproxy_backend_http_responses_total{proxy=\"datadog-traces\"");
        await Assert.That(text).Contains("haproxy_frontend_sessions_total{proxy=\"traces-forwarder\"} 5");
    }

    [Test]
    public async Task Escapes_label_values()
    {
        var source = new FakeSource
        {
            Backends = [new FakeBackend { Name = "b\\1", Servers = [new FakeServer { Name = "s\"x\ny" }] }],
        };

        string text = FakeStats.Render(source, StatsFormat.Prometheus);

        await Assert.That(text).Contains("haproxy_server_weight{proxy=\"b\\\\1\",server=\"s\\\"x\\ny\"} 1\n");
        foreach (string line in text.TrimEnd('\n').Split('\n').Where(l => !l.StartsWith('#')))
            await Assert.That(SampleLine().IsMatch(line)).IsTrue().Because(line);
    }
}
