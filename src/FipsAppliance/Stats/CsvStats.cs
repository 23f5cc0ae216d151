using FipsAppliance.Configuration;

namespace FipsAppliance.Stats;

/// <summary>
/// HAProxy's CSV (`/;csv`, `show stat`): one line per frontend (svname FRONTEND, type 0), per server
/// (type 2) and per backend (svname BACKEND, type 1, after its servers), in HAProxy 2.6's columns.
/// A column we have no counter for stays empty, which is how HAProxy marks "not applicable".
/// </summary>
internal static class CsvStats
{
    /// <summary>
    /// The header exactly as HAProxy 2.6.12 (Debian 12's build) answers `/;csv`: the 99 static
    /// fields of management.txt 9.1 plus agg_server_status, agg_server_check_status and
    /// agg_check_status, the "-" column that ends the static fields, then the ssl, h2 and h1 stats
    /// modules' fields, and a trailing comma. Tools parse by these names (Datadog's haproxy check
    /// among them), so the text must not drift: a test pins it.
    /// </summary>
    public const string Header =
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,";

    private static readonly string[] Columns = Header[2..^1].Split(',');

    // Column positions, looked up by name so a typo fails the type initializer (and every CSV test)
    // instead of silently shifting a value into the neighbouring column.
    private static readonly int PxName = Col("pxname"), SvName = Col("svname"),
        Scur = Col("scur"), Smax = Col("smax"), Slim = Col("slim"), Stot = Col("stot"),
        Bin = Col("bin"), Bout = Col("bout"), Ereq = Col("ereq"), Econ = Col("econ"), Eresp = Col("eresp"),
        Wretr = Col("wretr"), Wredis = Col("wredis"), Status = Col("status"), Weight = Col("weight"),
        Act = Col("act"), Bck = Col("bck"), LastChg = Col("lastchg"), Pid = Col("pid"), Iid = Col("iid"),
        Sid = Col("sid"), Type = Col("type"), Rate = Col("rate"), CheckStatus = Col("check_status"),
        Hrsp1xx = Col("hrsp_1xx"), Hrsp2xx = Col("hrsp_2xx"), Hrsp3xx = Col("hrsp_3xx"),
        Hrsp4xx = Col("hrsp_4xx"), Hrsp5xx = Col("hrsp_5xx"), HrspOther = Col("hrsp_other"),
        ReqRate = Col("req_rate"), ReqTot = Col("req_tot"), Addr = Col("addr"), Mode = Col("mode"),
        Algo = Col("algo"), ConnRate = Col("conn_rate"), ConnTot = Col("conn_tot"), Reuse = Col("reuse"),
        Uweight = Col("uweight"), StaticEnd = Col("-"), SslSess = Col("ssl_sess"),
        ChkFail = Col("chkfail"), ChkDown = Col("chkdown"), Downtime = Col("downtime"),
        CheckDuration = Col("check_duration"), LastChk = Col("last_chk"), CheckDesc = Col("check_desc"),
        CheckRise = Col("check_rise"), CheckFall = Col("check_fall"), CheckHealth = Col("check_health"),
        SrvIcur = Col("srv_icur"), SrcIlim = Col("src_ilim"), IdleConnCur = Col("idle_conn_cur"),
        SafeConnCur = Col("safe_conn_cur"), UsedConnCur = Col("used_conn_cur"), NeedConnEst = Col("need_conn_est");

    public static int ColumnCount => Columns.Length;

    public static void Write(StatsWriter w, IReadOnlyList<StatsProxy> proxies)
    {
        w.Text(Header);
        w.Text("\n");
        var row = new Row(Columns.Length);
        foreach (StatsProxy proxy in proxies)
        {
            if (proxy.Frontend is { } frontend)
            {
                FrontendRow(row, proxy, frontend);
                row.WriteTo(w);
            }
            if (proxy.Backend is { } backend)
            {
                for (int i = 0; i < backend.Servers.Count; i++)
                {
                    ServerRow(row, proxy, backend, backend.Servers[i], sid: i + 1);
                    row.WriteTo(w);
                }
                BackendRow(row, proxy, backend);
                row.WriteTo(w);
            }
        }
    }

    private static void FrontendRow(Row row, StatsProxy proxy, IFrontendStats frontend)
    {
        TrafficCounters c = frontend.Counters;
        Common(row, proxy, "FRONTEND", type: 0, sid: 0, frontend.Mode, c);
        if (frontend.MaxConn > 0) row.Number(Slim, frontend.MaxConn);
        row.Number(Ereq, Volatile.Read(ref c.RequestErrors));
        row.Text(Status, StatsFacts.FrontendStatusWord(frontend));
        // One session per accepted connection here, so HAProxy's connection columns equal the session ones.
        row.Number(ConnRate, c.SessionRate);
        row.Number(ConnTot, Volatile.Read(ref c.TotalSessions));
        if (frontend.Mode == ProxyMode.Http) row.Number(ReqRate, c.RequestRate);
    }

    private static void BackendRow(Row row, StatsProxy proxy, IBackendStats backend)
    {
        TrafficCounters c = backend.Counters;
        Common(row, proxy, "BACKEND", type: 1, sid: 0, backend.Mode, c);
        UpstreamErrors(row, c);
        row.Text(Status, StatsFacts.BackendUp(backend) ? "UP" : "DOWN");
        long weight = StatsFacts.BackendWeight(backend);
        row.Number(Weight, weight);
        row.Number(Uweight, weight);
        row.Number(Act, StatsFacts.ActiveServers(backend));
        row.Number(Bck, 0);
        row.Number(ChkDown, backend.DownTransitions);
        row.Number(LastChg, backend.LastChangeSeconds);
        row.Number(Downtime, backend.DowntimeSeconds);
        // HAProxy shows algo (and a server's addr) only with `stats show-legends`; on a loopback-only
        // page they help more than they reveal, so we always fill them.
        row.Text(Algo, StatsFacts.BalanceWord(backend.Balance));
    }

    private static void ServerRow(Row row, StatsProxy proxy, IBackendStats backend, IServerStats server, int sid)
    {
        TrafficCounters c = server.Counters;
        Common(row, proxy, server.Name, type: 2, sid, backend.Mode, c);
        UpstreamErrors(row, c);
        if (server.MaxConn > 0) row.Number(Slim, server.MaxConn);
        row.Text(Status, StatsFacts.ServerStatusWord(server));
        row.Number(Weight, server.Weight);
        row.Number(Uweight, server.Weight);
        row.Number(Act, 1);
        row.Number(Bck, 0);
        row.Number(LastChg, server.LastChangeSeconds);
        if (server.CheckEnabled)
        {
            // As HAProxy 2.6.12 fills them (measured): the counters always, the last check's facts
            // only while checks run (not in maintenance); check_code is for layer-7 checks.
            row.Number(ChkFail, server.FailedChecks);
            row.Number(ChkDown, server.DownTransitions);
            row.Number(Downtime, server.DowntimeSeconds);
        }
        if (server.CheckStatus.Length > 0)
        {
            row.Text(CheckStatus, server.CheckStatus);
            if (server.CheckDurationMs >= 0) row.Number(CheckDuration, server.CheckDurationMs);
            if (server.CheckInfo.Length > 0) row.Text(LastChk, server.CheckInfo);
            if (server.CheckDescription.Length > 0) row.Text(CheckDesc, server.CheckDescription);
        }
        if (server.CheckHealth >= 0 && server.Status != ServerStatus.Maint)
        {
            row.Number(CheckRise, server.CheckRise);
            row.Number(CheckFall, server.CheckFall);
            row.Number(CheckHealth, server.CheckHealth);
        }
        if (server.Address.Length > 0) row.Text(Addr, server.Address);
        if (server.IdlePool is { } pool)
        {
            // As HAProxy 2.6.12 fills them for a server (measured); src_ilim only with a pool-max-conn.
            row.Number(SrvIcur, pool.Idle);
            if (pool.Limit >= 0) row.Number(SrcIlim, pool.Limit);
            row.Number(IdleConnCur, pool.UnsafeIdle);
            row.Number(SafeConnCur, pool.SafeIdle);
            row.Number(UsedConnCur, pool.Used);
            row.Number(NeedConnEst, pool.NeedEstimate);
        }
    }

    /// <summary>The columns every line type fills the same way.</summary>
    private static void Common(Row row, StatsProxy proxy, string svName, int type, int sid, ProxyMode mode, TrafficCounters c)
    {
        row.Clear();
        row.Text(PxName, proxy.Name);
        row.Text(SvName, svName);
        row.Number(Scur, Volatile.Read(ref c.CurrentSessions));
        row.Number(Smax, Volatile.Read(ref c.MaxSessions));
        row.Number(Stot, Volatile.Read(ref c.TotalSessions));
        row.Number(Bin, Volatile.Read(ref c.BytesIn));
        row.Number(Bout, Volatile.Read(ref c.BytesOut));
        // pid is HAProxy's relative process number, 1 for its only worker, not the OS pid.
        row.Number(Pid, 1);
        row.Number(Iid, proxy.Id);
        row.Number(Sid, sid);
        row.Number(Type, type);
        row.Number(Rate, c.SessionRate);
        row.Text(Mode, StatsFacts.ModeWord(mode));
        row.Text(StaticEnd, "-");
        // Upstream TLS: ssl_sess counts full handshakes; reuse counts requests sent on a kept-alive
        // connection (HAProxy's "reuse"), the figure that shows the pool working.
        row.Number(SslSess, Volatile.Read(ref c.TlsHandshakes));
        if (type != 0) row.Number(Reuse, Volatile.Read(ref c.ConnectionReuses));
        if (mode == ProxyMode.Http)
        {
            row.Number(Hrsp1xx, Volatile.Read(ref c.Http1xx));
            row.Number(Hrsp2xx, Volatile.Read(ref c.Http2xx));
            row.Number(Hrsp3xx, Volatile.Read(ref c.Http3xx));
            row.Number(Hrsp4xx, Volatile.Read(ref c.Http4xx));
            row.Number(Hrsp5xx, Volatile.Read(ref c.Http5xx));
            row.Number(HrspOther, Volatile.Read(ref c.HttpOther));
            row.Number(ReqTot, Volatile.Read(ref c.Requests));
        }
    }

    private static void UpstreamErrors(Row row, TrafficCounters c)
    {
        row.Number(Econ, Volatile.Read(ref c.ConnectionErrors));
        row.Number(Eresp, Volatile.Read(ref c.ResponseErrors));
        row.Number(Wretr, Volatile.Read(ref c.Retries));
        row.Number(Wredis, Volatile.Read(ref c.Redispatches));
    }

    private static int Col(string name)
    {
        int i = Array.IndexOf(Columns, name);
        if (i < 0) throw new InvalidOperationException($"CSV column '{name}' is not in HAProxy's header");
        return i;
    }

    /// <summary>One line's cells, reused line after line: each is empty, a number or a text.</summary>
    private sealed class Row(int columns)
    {
        private readonly long[] _numbers = new long[columns];
        private readonly string?[] _texts = new string?[columns];
        private readonly bool[] _isNumber = new bool[columns];

        public void Clear()
        {
            Array.Clear(_texts);
            Array.Clear(_isNumber);
        }

        public void Number(int column, long value)
        {
            _numbers[column] = value;
            _isNumber[column] = true;
            _texts[column] = null;
        }

        public void Text(int column, string value)
        {
            _texts[column] = value;
            _isNumber[column] = false;
        }

        /// <summary>Every cell followed by a comma, like HAProxy's lines (so each ends with one).</summary>
        public void WriteTo(StatsWriter w)
        {
            for (int i = 0; i < _texts.Length; i++)
            {
                if (_isNumber[i]) w.Number(_numbers[i]);
                else if (_texts[i] is { } text) w.CsvField(text);
                w.Ascii(","u8);
            }
            w.Ascii("\n"u8);
        }
    }
}
