using FipsAppliance.Configuration;
using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Stats;

public class CsvStatsTests
{
    /// <summary>Copied from Debian 12's HAProxy 2.6.12 answering `GET /;csv` (not from our source).</summary>
    private const string Haproxy26Header =
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,";

    [Test]
    public async Task Header_is_haproxy_26s_exactly()
    {
        string[] lines = Lines(FakeStats.Render(FakeStats.Appliance(), StatsFormat.Csv));

        await Assert.That(lines[0]).IsEqualTo(Haproxy26Header);
    }

    [Test]
    public async Task Every_line_has_as_many_fields_as_the_header()
    {
        string[] lines = Lines(FakeStats.Render(FakeStats.Appliance(), StatsFormat.Csv));
        int columns = ParseCsvLine(lines[0]).Count;

        await Assert.That(lines.Length).IsEqualTo(1 + 3 + 3 + 1 + 2); // header, 3 frontends, 3+1 servers, 2 backends
        foreach (string line in lines.Skip(1))
        {
            await Assert.That(ParseCsvLine(line).Count).IsEqualTo(columns);
            await Assert.That(line).EndsWith(",");
        }
    }

    [Test]
    public async Task Lines_come_per_proxy_frontend_then_servers_then_backend()
    {
        var rows = Rows(FakeStats.Appliance());

        var order = rows.Select(r => $"{r["pxname"]}/{r["svname"]}/{r["type"]}").ToArray();
        await Assert.That(string.Join(" ", order)).IsEqualTo(
            "stats/FRONTEND/0 metrics-forwarder/FRONTEND/0 traces-forwarder/FRONTEND/0 " +
            "datadog-metrics/mothership1/2 datadog-metrics/mothership2/2 datadog-metrics/mothership3/2 datadog-metrics/BACKEND/1 " +
            "datadog-traces/mothership1/2 datadog-traces/BACKEND/1");
    }

    [Test]
    public async Task Frontend_line_carries_its_counters()
    {
        var fe = Rows(FakeStats.Appliance()).Single(r => r["pxname"] == "metrics-forwarder");

        await Assert.That(fe["svname"]).IsEqualTo("FRONTEND");
        await Assert.That(fe["status"]).IsEqualTo("OPEN");
        await Assert.That(fe["scur"]).IsEqualTo("3");
        await Assert.That(fe["smax"]).IsEqualTo("9");
        await Assert.That(fe["slim"]).IsEqualTo("500");
        await Assert.That(fe["stot"]).IsEqualTo("120");
        await Assert.That(fe["bin"]).IsEqualTo("123456");
        await Assert.That(fe["bout"]).IsEqualTo("7890");
        await Assert.That(fe["ereq"]).IsEqualTo("2");
        await Assert.That(fe["req_tot"]).IsEqualTo("400");
        await Assert.That(fe["hrsp_2xx"]).IsEqualTo("390");
        await Assert.That(fe["hrsp_4xx"]).IsEqualTo("7");
        await Assert.That(fe["hrsp_5xx"]).IsEqualTo("3");
        await Assert.That(fe["mode"]).IsEqualTo("http");
        await Assert.That(fe["pid"]).IsEqualTo("1");
        await Assert.That(fe["-"]).IsEqualTo("-");
        // Backend-only columns stay empty on a frontend line, as in HAProxy's.
        await Assert.That(fe["econ"]).IsEqualTo("");
        await Assert.That(fe["qcur"]).IsEqualTo("");
    }

    /// <summary>
    /// The idle pool's columns, filled on server lines as HAProxy 2.6.12 fills them (measured: an
    /// HTTP server line has srv_icur, idle/safe/used_conn_cur and need_conn_est; src_ilim only
    /// with a pool-max-conn; frontend and backend lines none).
    /// </summary>
    [Test]
    public async Task Server_lines_carry_the_idle_pool()
    {
        var pooled = new FakeServer { Name = "pooled", Address = "10.0.0.9:443", IdlePool = new ServerPoolStats(2, 3, 4, 7, 8) };
        var unbounded = new FakeServer { Name = "unbounded", Address = "10.0.0.10:443", IdlePool = new ServerPoolStats(0, 1, 0, 1, -1) };
        var rows = Rows(new FakeSource { Backends = [new FakeBackend { Name = "pool-test", Servers = [pooled, unbounded] }] });

        var p = rows.Single(r => r["svname"] == "pooled");
        await Assert.That(p["srv_icur"]).IsEqualTo("5");
        await Assert.That(p["src_ilim"]).IsEqualTo("8");
        await Assert.That(p["idle_conn_cur"]).IsEqualTo("2");
        await Assert.That(p["safe_conn_cur"]).IsEqualTo("3");
        await Assert.That(p["used_conn_cur"]).IsEqualTo("4");
        await Assert.That(p["need_conn_est"]).IsEqualTo("7");
        await Assert.That(rows.Single(r => r["svname"] == "unbounded")["src_ilim"]).IsEqualTo("");
        var backend = rows.Single(r => r["pxname"] == "pool-test" && r["svname"] == "BACKEND");
        await Assert.That(backend["srv_icur"] + backend["idle_conn_cur"] + backend["need_conn_est"]).IsEqualTo("");
    }

    [Test]
    public async Task Server_lines_carry_status_check_and_upstream_counters()
    {
        var rows = Rows(FakeStats.Appliance()).Where(r => r["pxname"] == "datadog-metrics").ToList();
        var up = rows.Single(r => r["svname"] == "mothership1");
        var down = rows.Single(r => r["svname"] == "mothership2");
        var unresolved = rows.Single(r => r["svname"] == "mothership3");

        await Assert.That(up["status"]).IsEqualTo("UP");
        await Assert.That(up["check_status"]).IsEqualTo("L6OK");
        await Assert.That(up["addr"]).IsEqualTo("10.1.2.3:443");
        await Assert.That(up["sid"]).IsEqualTo("1");
        await Assert.That(up["lastchg"]).IsEqualTo("3725");
        await Assert.That(up["bin"]).IsEqualTo("100000");
        await Assert.That(up["econ"]).IsEqualTo("1");
        await Assert.That(up["eresp"]).IsEqualTo("4");
        await Assert.That(up["wretr"]).IsEqualTo("6");
        await Assert.That(up["wredis"]).IsEqualTo("8");
        await Assert.That(up["ssl_sess"]).IsEqualTo("11");
        await Assert.That(up["reuse"]).IsEqualTo("289");
        await Assert.That(up["hrsp_5xx"]).IsEqualTo("5");

        await Assert.That(down["status"]).IsEqualTo("DOWN");
        await Assert.That(down["check_status"]).IsEqualTo("L4CON");
        await Assert.That(down["econ"]).IsEqualTo("13");
        await Assert.That(down["sid"]).IsEqualTo("2");

        await Assert.That(unresolved["status"]).IsEqualTo("MAINT (resolution)");
        await Assert.That(unresolved["addr"]).IsEqualTo("");
        await Assert.That(unresolved["check_status"]).IsEqualTo("");
    }

    [Test]
    public async Task Backend_line_totals_and_counts_usable_servers()
    {
        var rows = Rows(FakeStats.Appliance());
        var be = rows.Single(r => r["pxname"] == "datadog-metrics" && r["svname"] == "BACKEND");
        var tcp = rows.Single(r => r["pxname"] == "datadog-traces" && r["svname"] == "BACKEND");

        await Assert.That(be["status"]).IsEqualTo("UP");
        await Assert.That(be["act"]).IsEqualTo("1");
        await Assert.That(be["weight"]).IsEqualTo("1");
        await Assert.That(be["econ"]).IsEqualTo("14");
        await Assert.That(be["req_tot"]).IsEqualTo("300");
        await Assert.That(be["algo"]).IsEqualTo("roundrobin");
        // A server without checks takes traffic, so it keeps its backend UP.
        await Assert.That(tcp["status"]).IsEqualTo("UP");
        await Assert.That(tcp["weight"]).IsEqualTo("3");
        await Assert.That(tcp["algo"]).IsEqualTo("leastconn");
        // tcp mode has no HTTP counters: empty, not zero.
        await Assert.That(tcp["hrsp_2xx"]).IsEqualTo("");
        await Assert.That(tcp["req_tot"]).IsEqualTo("");
        await Assert.That(tcp["mode"]).IsEqualTo("tcp");
    }

    [Test]
    public async Task Backend_is_down_when_no_server_may_take_traffic()
    {
        var source = new FakeSource
        {
            Backends =
            [
                new FakeBackend
                {
                    Name = "b",
                    Servers = [new FakeServer { Name = "s1", Status = ServerStatus.Down }, new FakeServer { Name = "s2", Status = ServerStatus.Maint, Address = "10.0.0.1:443" }],
                },
            ],
        };

        var rows = Rows(source);

        await Assert.That(rows.Single(r => r["svname"] == "BACKEND")["status"]).IsEqualTo("DOWN");
        await Assert.That(rows.Single(r => r["svname"] == "BACKEND")["act"]).IsEqualTo("0");
        await Assert.That(rows.Single(r => r["svname"] == "s2")["status"]).IsEqualTo("MAINT");
    }

    [Test]
    public async Task Listen_shows_frontend_and_backend_under_one_iid()
    {
        var source = new FakeSource
        {
            Frontends = [new FakeFrontend { Name = "a" }, new FakeFrontend { Name = "both" }],
            Backends = [new FakeBackend { Name = "both", Servers = [new FakeServer { Name = "s" }] }],
        };

        var rows = Rows(source);

        await Assert.That(rows.Select(r => r["iid"]).ToArray()).IsEquivalentTo(new[] { "1", "2", "2", "2" });
    }

    [Test]
    public async Task Quotes_a_field_with_a_comma_or_quote()
    {
        var source = new FakeSource
        {
            Backends = [new FakeBackend { Name = "b", Servers = [new FakeServer { Name = "s", CheckStatus = "odd,\"word\"" }] }],
        };

        string csv = FakeStats.Render(source, StatsFormat.Csv);
        var rows = Rows(source);

        await Assert.That(csv).Contains("\"odd,\"\"word\"\"\"");
        await Assert.That(rows.Single(r => r["svname"] == "s")["check_status"]).IsEqualTo("odd,\"word\"");
    }

    private static string[] Lines(string csv)
    {
        return csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static List<Dictionary<string, string>> Rows(IStatsSource source)
    {
        string[] lines = Lines(FakeStats.Render(source, StatsFormat.Csv));
        List<string> header = ParseCsvLine(lines[0][2..]);
        var rows = new List<Dictionary<string, string>>();
        foreach (string line in lines.Skip(1))
        {
            List<string> fields = ParseCsvLine(line);
            var row = new Dictionary<string, string>();
            for (int i = 0; i < header.Count; i++)
            {
                if (header[i].Length > 0) row[header[i]] = fields[i];
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>RFC 4180 fields of one line: quoted fields may hold commas and doubled quotes.</summary>
    private static List<string> ParseCsvLine(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return fields;
    }
}
