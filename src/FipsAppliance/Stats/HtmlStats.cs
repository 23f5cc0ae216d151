using System.Globalization;
using FipsAppliance.Configuration;

namespace FipsAppliance.Stats;

/// <summary>
/// The page a person opens with `curl http://localhost:9803/` or a browser: process facts and the
/// FIPS line on top, then one table per proxy with its FRONTEND line, its servers and the BACKEND
/// total. Self-contained (inline CSS, no scripts, no external assets) because it is served from a
/// loopback port on machines that may have no way out but the intake. Colours follow HAProxy's
/// report so its users read it the same way: green UP, red DOWN, brown MAINT, grey no check.
/// </summary>
internal static class HtmlStats
{
    private const string Style = """
        body{font-family:arial,helvetica,sans-serif;font-size:12px;color:#000;background:#fff;margin:8px}
        h1{font-size:18px;margin:0 0 4px}
        p.info{margin:0 0 8px;line-height:1.5}
        table{border-collapse:collapse;margin:0 0 10px;font-size:11px}
        th,td{border:1px solid #999;padding:1px 4px;white-space:nowrap}
        td{text-align:right}
        td.l{text-align:left}
        th{background:#20d0d0}
        th.px{background:#b00040;color:#ffff40;text-align:left;font-size:13px}
        tr.frontend,tr.backend{background:#e8e8d0;font-weight:bold}
        tr.up{background:#c0ffc0}
        tr.down{background:#ff9090}
        tr.maint{background:#c07820}
        tr.nocheck{background:#e0e0e0}
        span.lg{padding:0 6px;border:1px solid #999}
        """;

    // Two header rows: groups, then the columns of each group. Every line type uses every column,
    // so a listen's frontend, servers and backend line up in one table.
    private static readonly (string Group, string[] Columns)[] Groups =
    [
        ("", ["Name"]),
        ("Server", ["Status", "Address", "Check", "LastChg", "Wght"]),
        ("Sessions", ["Cur", "Max", "Limit", "Total", "Rate"]),
        ("Bytes", ["In", "Out"]),
        ("Requests", ["Total", "Rate", "2xx", "4xx", "5xx"]),
        ("Errors", ["Req", "Conn", "Resp"]),
        ("Warnings", ["Retr", "Redis"]),
        ("Upstream TLS", ["Handshakes", "Reuses"]),
        ("Checks", ["Fail", "Down", "Dwntme"]),
    ];

    public static void Write(StatsWriter w, IStatsSource source, IReadOnlyList<StatsProxy> proxies, StatsPageOptions options)
    {
        w.Text("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>Statistics Report for datadog-fips-proxy</title>\n");
        if (options.RefreshSeconds is int refresh && refresh > 0 && !options.NoRefresh)
        {
            w.Text("<meta http-equiv=\"refresh\" content=\"");
            w.Number(refresh);
            w.Text("\">\n");
        }
        w.Text("<style>\n");
        w.Text(Style);
        w.Text("\n</style></head><body>\n");

        Header(w, source, options);
        foreach (StatsProxy proxy in proxies) ProxyTable(w, proxy);
        Legend(w);
        w.Text("</body></html>\n");
    }

    private static void Header(StatsWriter w, IStatsSource source, StatsPageOptions options)
    {
        w.Text("<h1>datadog-fips-proxy version ");
        w.Html(source.Version);
        w.Text(" statistics</h1>\n<p class=\"info\">pid = ");
        w.Number(source.ProcessId);
        w.Text(" &middot; uptime = ");
        w.Text(StatsFacts.Uptime(options.Now - source.StartedAt));
        w.Text(" &middot; current conns = ");
        w.Number(source.CurrentConnections);
        w.Text("; maxconn = ");
        if (source.MaxConn > 0) w.Number(source.MaxConn);
        else w.Text("unlimited");
        w.Text("<br>\nFIPS: ");
        w.Html(source.FipsSummary.Length > 0 ? source.FipsSummary : "(no FIPS report)");
        w.Text("<br>\nUpdated ");
        w.Text(options.Now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        w.Text(" &middot; <a href=\"");
        w.Html((options.StatsUri ?? "/") + ";csv");
        w.Text("\">CSV export</a> &middot; <a href=\"/metrics\">Prometheus metrics</a></p>\n");
    }

    private static void ProxyTable(StatsWriter w, StatsProxy proxy)
    {
        int columns = 0;
        foreach (var group in Groups) columns += group.Columns.Length;

        w.Text("<table>\n<tr><th class=\"px\" colspan=\"");
        w.Number(columns);
        w.Text("\">");
        w.Html(proxy.Name);
        w.Text(" <small>(");
        w.Text(proxy.Frontend is null ? "backend" : proxy.Backend is null ? "frontend" : "listen");
        w.Text(", mode ");
        w.Text(StatsFacts.ModeWord(proxy.Mode));
        if (proxy.Backend is { } b)
        {
            w.Text(", balance ");
            w.Text(StatsFacts.BalanceWord(b.Balance));
        }
        w.Text(")</small></th></tr>\n<tr>");
        foreach (var (group, groupColumns) in Groups)
        {
            w.Text("<th colspan=\"");
            w.Number(groupColumns.Length);
            w.Text("\">");
            w.Text(group);
            w.Text("</th>");
        }
        w.Text("</tr>\n<tr>");
        foreach (var (_, groupColumns) in Groups)
        {
            foreach (string column in groupColumns)
            {
                w.Text("<th>");
                w.Text(column);
                w.Text("</th>");
            }
        }
        w.Text("</tr>\n");

        if (proxy.Frontend is { } frontend)
        {
            TrafficCounters c = frontend.Counters;
            BeginRow(w, "frontend", "FRONTEND");
            Cell(w, StatsFacts.FrontendStatusWord(frontend));
            Empty(w, 4);
            SessionCells(w, c, frontend.MaxConn);
            TrafficCells(w, c, frontend.Mode);
            Number(w, Volatile.Read(ref c.RequestErrors));
            Empty(w, 2 + 2 + 2 + 3);
            w.Text("</tr>\n");
        }

        if (proxy.Backend is { } backend)
        {
            foreach (IServerStats server in backend.Servers)
            {
                TrafficCounters c = server.Counters;
                BeginRow(w, RowClass(server.Status), server.Name);
                Cell(w, StatsFacts.ServerStatusWord(server));
                Cell(w, server.Address.Length > 0 ? server.Address : "(unresolved)");
                CheckCell(w, server);
                Cell(w, StatsFacts.ShortDuration(server.LastChangeSeconds));
                Number(w, server.Weight);
                SessionCells(w, c, server.MaxConn);
                TrafficCells(w, c, backend.Mode);
                UpstreamCells(w, c);
                if (server.CheckEnabled)
                {
                    Number(w, server.FailedChecks);
                    Number(w, server.DownTransitions);
                    Cell(w, StatsFacts.ShortDuration(server.DowntimeSeconds));
                }
                else Empty(w, 3);
                w.Text("</tr>\n");
            }

            TrafficCounters bc = backend.Counters;
            BeginRow(w, "backend", "BACKEND");
            Cell(w, StatsFacts.BackendUp(backend) ? "UP" : "DOWN");
            Cell(w, $"{StatsFacts.ActiveServers(backend)}/{backend.Servers.Count} up");
            Empty(w, 2);
            Number(w, StatsFacts.BackendWeight(backend));
            SessionCells(w, bc, limit: 0);
            TrafficCells(w, bc, backend.Mode);
            UpstreamCells(w, bc);
            Empty(w, 1);
            Number(w, backend.DownTransitions);
            Cell(w, StatsFacts.ShortDuration(backend.DowntimeSeconds));
            w.Text("</tr>\n");
        }
        w.Text("</table>\n");
    }

    private static void SessionCells(StatsWriter w, TrafficCounters c, int limit)
    {
        Number(w, Volatile.Read(ref c.CurrentSessions));
        Number(w, Volatile.Read(ref c.MaxSessions));
        if (limit > 0) Number(w, limit);
        else Empty(w, 1);
        Number(w, Volatile.Read(ref c.TotalSessions));
        Number(w, c.SessionRate);
    }

    /// <summary>Bytes and requests; the HTTP columns stay empty for a tcp-mode proxy, which has none.</summary>
    private static void TrafficCells(StatsWriter w, TrafficCounters c, ProxyMode mode)
    {
        Number(w, Volatile.Read(ref c.BytesIn));
        Number(w, Volatile.Read(ref c.BytesOut));
        if (mode != ProxyMode.Http)
        {
            Empty(w, 5);
            return;
        }
        Number(w, Volatile.Read(ref c.Requests));
        Number(w, c.RequestRate);
        Number(w, Volatile.Read(ref c.Http2xx));
        Number(w, Volatile.Read(ref c.Http4xx));
        Number(w, Volatile.Read(ref c.Http5xx));
    }

    /// <summary>Errors (the request column belongs to frontends), warnings and TLS of a server or backend.</summary>
    private static void UpstreamCells(StatsWriter w, TrafficCounters c)
    {
        Empty(w, 1);
        Number(w, Volatile.Read(ref c.ConnectionErrors));
        Number(w, Volatile.Read(ref c.ResponseErrors));
        Number(w, Volatile.Read(ref c.Retries));
        Number(w, Volatile.Read(ref c.Redispatches));
        Number(w, Volatile.Read(ref c.TlsHandshakes));
        Number(w, Volatile.Read(ref c.ConnectionReuses));
    }

    private static string RowClass(ServerStatus status) => status switch
    {
        ServerStatus.Up => "up",
        ServerStatus.Down => "down",
        ServerStatus.Maint => "maint",
        _ => "nocheck",
    };

    private static void BeginRow(StatsWriter w, string cssClass, string name)
    {
        w.Text("<tr class=\"");
        w.Text(cssClass);
        w.Text("\"><td class=\"l\">");
        w.Html(name);
        w.Text("</td>");
    }

    private static void Cell(StatsWriter w, string text)
    {
        w.Text("<td class=\"l\">");
        w.Html(text);
        w.Text("</td>");
    }

    /// <summary>"L4CON in 0ms", its reason and info as the tooltip (HAProxy's page does the same).</summary>
    private static void CheckCell(StatsWriter w, IServerStats server)
    {
        string title = server.CheckInfo.Length > 0 ? $"{server.CheckDescription}: {server.CheckInfo}" : server.CheckDescription;
        if (title.Length == 0)
        {
            Cell(w, StatsFacts.CheckCell(server));
            return;
        }
        w.Text("<td class=\"l\" title=\"");
        w.Html(title);
        w.Text("\">");
        w.Html(StatsFacts.CheckCell(server));
        w.Text("</td>");
    }

    private static void Number(StatsWriter w, long value)
    {
        w.Text("<td>");
        w.Number(value);
        w.Text("</td>");
    }

    private static void Empty(StatsWriter w, int count)
    {
        for (int i = 0; i < count; i++) w.Text("<td></td>");
    }

    private static void Legend(StatsWriter w)
    {
        w.Text("<p>Server status: <span class=\"lg\" style=\"background:#c0ffc0\">UP</span> ");
        w.Text("<span class=\"lg\" style=\"background:#ff9090\">DOWN</span> ");
        w.Text("<span class=\"lg\" style=\"background:#c07820\">MAINT</span> ");
        w.Text("<span class=\"lg\" style=\"background:#e0e0e0\">no check</span>. ");
        w.Text("UP 1/3: going down (1 of 3 failed checks); DOWN 1/2: going up. ");
        w.Text("Rates are per second over the last full second; LastChg is the time since the last status change; ");
        w.Text("Checks: failed checks, transitions to DOWN, time spent DOWN.</p>\n");
    }
}
