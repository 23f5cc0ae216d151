using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Stats;

public class HtmlStatsTests
{
    [Test]
    public async Task Shows_every_proxy_and_server_name()
    {
        string html = FakeStats.Render(FakeStats.Appliance(), StatsFormat.Html);

        foreach (string proxy in new[] { "stats", "metrics-forwarder", "traces-forwarder", "datadog-metrics", "datadog-traces" })
            await Assert.That(html).Contains($"<th class=\"px\" colspan=\"28\">{proxy} <small>");
        foreach (string server in new[] { "mothership1", "mothership2", "mothership3" })
            await Assert.That(html).Contains($"<td class=\"l\">{server}</td>");
    }

    [Test]
    public async Task Header_shows_version_pid_uptime_fips_and_connections()
    {
        string html = FakeStats.Render(FakeStats.Appliance(), StatsFormat.Html);

        await Assert.That(html).Contains("datadog-fips-proxy version 1.2.3");
        await Assert.That(html).Contains("pid = 4242");
        await Assert.That(html).Contains("uptime = 0d 1h02m03s");
        await Assert.That(html).Contains("FIPS: OpenSSL FIPS Provider 3.1.2 (FIPS 140-3 #4985)");
        await Assert.That(html).Contains("current conns = 7; maxconn = 4096");
    }

    [Test]
    public async Task Escapes_names()
    {
        var source = new FakeSource
        {
            Frontends = [new FakeFrontend { Name = "<script>alert(1)</script>" }],
            Backends = [new FakeBackend { Name = "b&b", Servers = [new FakeServer { Name = "s\"<img>" }] }],
            FipsSummary = "<b>fips</b>",
        };

        string html = FakeStats.Render(source, StatsFormat.Html);

        await Assert.That(html).DoesNotContain("<script>");
        await Assert.That(html).DoesNotContain("<img>");
        await Assert.That(html).DoesNotContain("<b>fips");
        await Assert.That(html).Contains("&lt;script&gt;alert(1)&lt;/script&gt;");
        await Assert.That(html).Contains("b&amp;b");
        await Assert.That(html).Contains("s&quot;&lt;img&gt;");
    }

    [Test]
    public async Task Down_servers_are_marked_apart_from_up_ones()
    {
        string html = FakeStats.Render(FakeStats.Appliance(), StatsFormat.Html);

        await Assert.That(html).Contains("<tr class=\"up\"><td class=\"l\">mothership1</td><td class=\"l\">UP</td><td class=\"l\">10.1.2.3:443</td><td class=\"l\">L6OK</td><td class=\"l\">1h2m</td>");
        await Assert.That(html).Contains("<tr class=\"down\"><td class=\"l\">mothership2</td><td class=\"l\">DOWN</td><td class=\"l\">10.1.2.4:443</td><td class=\"l\">L4CON</td><td class=\"l\">42s</td>");
        await Assert.That(html).Contains("<tr class=\"maint\"><td class=\"l\">mothership3</td><td class=\"l\">MAINT (resolution)</td>");
        await Assert.That(html).Contains("tr.down{background:#ff9090}");
    }

    [Test]
    public async Task Every_row_of_a_table_has_as_many_cells_as_the_header()
    {
        string html = FakeStats.Render(FakeStats.Appliance(), StatsFormat.Html);

        // The third header row lists one <th> per column; every data row must match it.
        string[] rows = html.Split("</tr>");
        int columns = rows.Where(r => r.Contains("<th>Cur</th>")).Select(r => Count(r, "<th>")).First();
        var dataRows = rows.Where(r => r.Contains("<td")).ToList();

        await Assert.That(dataRows.Count).IsEqualTo(3 + 4 + 2);
        foreach (string row in dataRows) await Assert.That(Count(row, "<td")).IsEqualTo(columns);
    }

    [Test]
    public async Task Refreshes_itself_only_when_asked_and_not_told_norefresh()
    {
        FakeSource source = FakeStats.Appliance();

        string refreshing = FakeStats.Render(source, StatsFormat.Html, FakeStats.Options with { RefreshSeconds = 5 });
        string norefresh = FakeStats.Render(source, StatsFormat.Html, FakeStats.Options with { RefreshSeconds = 5, NoRefresh = true });
        string plain = FakeStats.Render(source, StatsFormat.Html);

        await Assert.That(refreshing).Contains("<meta http-equiv=\"refresh\" content=\"5\">");
        await Assert.That(norefresh).DoesNotContain("http-equiv=\"refresh\"");
        await Assert.That(plain).DoesNotContain("http-equiv=\"refresh\"");
    }

    [Test]
    public async Task Needs_nothing_from_outside()
    {
        string html = FakeStats.Render(FakeStats.Appliance(), StatsFormat.Html);

        // Served from loopback on hosts that may reach nothing but the intake: no scripts, no fetched assets.
        await Assert.That(html).DoesNotContain("<script");
        await Assert.That(html).DoesNotContain("src=");
        await Assert.That(html).DoesNotContain("<link");
        await Assert.That(html).DoesNotContain("://");
    }

    [Test]
    public async Task Links_to_its_csv_under_the_stats_uri()
    {
        string html = FakeStats.Render(FakeStats.Appliance(), StatsFormat.Html, FakeStats.Options with { StatsUri = "/haproxy?stats" });

        await Assert.That(html).Contains("<a href=\"/haproxy?stats;csv\">");
    }

    private static int Count(string text, string part)
    {
        int n = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
