using FipsAppliance.Configuration;

namespace FipsAppliance.Stats;

/// <summary>
/// Prometheus text exposition (format 0.0.4) at `/metrics`.
///
/// Names: where HAProxy's built-in exporter (promex, 2.6) has the metric we use its exact name,
/// help and labels (`haproxy_frontend_bytes_in_total{proxy="..."}`,
/// `haproxy_server_status{proxy,server,state}`, `..._http_responses_total{code="2xx"}`): this
/// product replaces an HAProxy, and dashboards, alerts and Datadog's own HAProxy/OpenMetrics
/// integration already query those names. What HAProxy has no metric for (the FIPS module, upstream
/// TLS handshakes) is under our own `datadog_fips_proxy_` prefix rather than squatting in
/// HAProxy's namespace, where a future exporter version could give the name another meaning.
/// No rate gauges: Prometheus derives rates from the counters.
/// </summary>
internal static class PrometheusStats
{
    private const string Gauge = "gauge", Counter = "counter";

    private static readonly string[] ResponseClasses = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

    /// <summary>promex 2.6's server states, in its order.</summary>
    private static readonly string[] ServerStates = ["DOWN", "UP", "MAINT", "DRAIN", "NOLB"];

    /// <summary>promex 2.6's check states (HAProxy's check_status words), in its order.</summary>
    private static readonly string[] CheckStates =
        ["HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"];

    private const string UpDownHelp = "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started";
    private const string LastChangeHelp = "How long ago the last server state changed, in seconds";
    private const string DowntimeHelp = "Total time spent in DOWN state, for server or backend";

    private readonly record struct CounterMetric(string Name, string Type, string Help, Func<TrafficCounters, long> Value);

    private static readonly CounterMetric[] FrontendMetrics =
    [
        new("haproxy_frontend_current_sessions", Gauge, "Number of current sessions on the frontend, backend or server", static c => Volatile.Read(ref c.CurrentSessions)),
        new("haproxy_frontend_max_sessions", Gauge, "Highest value of current sessions encountered since process started", static c => Volatile.Read(ref c.MaxSessions)),
        new("haproxy_frontend_sessions_total", Counter, "Total number of sessions since process started", static c => Volatile.Read(ref c.TotalSessions)),
        new("haproxy_frontend_bytes_in_total", Counter, "Total number of request bytes since process started", static c => Volatile.Read(ref c.BytesIn)),
        new("haproxy_frontend_bytes_out_total", Counter, "Total number of response bytes since process started", static c => Volatile.Read(ref c.BytesOut)),
        new("haproxy_frontend_request_errors_total", Counter, "Total number of invalid requests since process started", static c => Volatile.Read(ref c.RequestErrors)),
        // One session per accepted connection in this product.
        new("haproxy_frontend_connections_total", Counter, "Total number of new connections accepted on this frontend since the worker process started", static c => Volatile.Read(ref c.TotalSessions)),
    ];

    // Backends and servers share their counters' meaning; the name differs only in the object word.
    private static readonly (string Suffix, string Type, string Help, Func<TrafficCounters, long> Value)[] UpstreamMetrics =
    [
        ("current_sessions", Gauge, "Number of current sessions on the frontend, backend or server", static c => Volatile.Read(ref c.CurrentSessions)),
        ("max_sessions", Gauge, "Highest value of current sessions encountered since process started", static c => Volatile.Read(ref c.MaxSessions)),
        ("sessions_total", Counter, "Total number of sessions since process started", static c => Volatile.Read(ref c.TotalSessions)),
        ("bytes_in_total", Counter, "Total number of request bytes since process started", static c => Volatile.Read(ref c.BytesIn)),
        ("bytes_out_total", Counter, "Total number of response bytes since process started", static c => Volatile.Read(ref c.BytesOut)),
        ("connection_errors_total", Counter, "Total number of failed connections to server since the worker process started", static c => Volatile.Read(ref c.ConnectionErrors)),
        ("response_errors_total", Counter, "Total number of invalid responses since the worker process started", static c => Volatile.Read(ref c.ResponseErrors)),
        ("retry_warnings_total", Counter, "Total number of server connection retries since the worker process started", static c => Volatile.Read(ref c.Retries)),
        ("redispatch_warnings_total", Counter, "Total number of server redispatches due to connection failures since the worker process started", static c => Volatile.Read(ref c.Redispatches)),
        ("connection_reuses_total", Counter, "Total number of reused connection on this backend/server since the worker process started", static c => Volatile.Read(ref c.ConnectionReuses)),
    ];

    public static void Write(StatsWriter w, IStatsSource source, IReadOnlyList<StatsProxy> proxies, StatsPageOptions options)
    {
        Process(w, source, options);

        var frontends = new List<(StatsProxy Proxy, IFrontendStats Frontend)>();
        var backends = new List<(StatsProxy Proxy, IBackendStats Backend)>();
        foreach (StatsProxy proxy in proxies)
        {
            if (proxy.Frontend is { } f) frontends.Add((proxy, f));
            if (proxy.Backend is { } b) backends.Add((proxy, b));
        }

        Frontends(w, frontends);
        Backends(w, backends);
        Servers(w, backends);
    }

    private static void Process(StatsWriter w, IStatsSource source, StatsPageOptions options)
    {
        var family = new Family(w, "haproxy_process_build_info", Gauge, "Build info");
        family.Sample(1, ("version", source.Version));

        family = new Family(w, "haproxy_process_start_time_seconds", Gauge, "Start time in seconds");
        family.Sample(source.StartedAt.ToUnixTimeSeconds());

        family = new Family(w, "haproxy_process_uptime_seconds", Gauge, "How long ago this worker process was started (seconds)");
        family.Sample((long)Math.Max(0, (options.Now - source.StartedAt).TotalSeconds));

        family = new Family(w, "haproxy_process_current_connections", Gauge, "Current number of connections on this worker process");
        family.Sample(source.CurrentConnections);

        if (source.MaxConn > 0)
        {
            family = new Family(w, "haproxy_process_max_connections", Gauge, "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)");
            family.Sample(source.MaxConn);
        }

        family = new Family(w, "datadog_fips_proxy_fips_info", Gauge, "The OpenSSL FIPS provider this process runs with (always 1; facts in the labels)");
        family.Sample(1, ("provider", source.FipsProvider), ("version", source.FipsProviderVersion), ("summary", source.FipsSummary));
    }

    private static void Frontends(StatsWriter w, List<(StatsProxy Proxy, IFrontendStats Frontend)> frontends)
    {
        foreach (CounterMetric metric in FrontendMetrics)
        {
            var family = new Family(w, metric.Name, metric.Type, metric.Help);
            foreach (var (proxy, frontend) in frontends) family.Sample(metric.Value(frontend.Counters), ("proxy", proxy.Name));
        }

        var limit = new Family(w, "haproxy_frontend_limit_sessions", Gauge, "Frontend/listener/server's maxconn, backend's fullconn");
        foreach (var (proxy, frontend) in frontends)
        {
            if (frontend.MaxConn > 0) limit.Sample(frontend.MaxConn, ("proxy", proxy.Name));
        }

        // The frontend is listening whenever this page is served; HAProxy reports DOWN only for a stopped one.
        var status = new Family(w, "haproxy_frontend_status", Gauge, "Current status of the service, per state label value.");
        foreach (var (proxy, _) in frontends)
        {
            status.Sample(0, ("proxy", proxy.Name), ("state", "DOWN"));
            status.Sample(1, ("proxy", proxy.Name), ("state", "UP"));
        }

        HttpFamilies(w, "frontend", frontends.Where(static x => x.Frontend.Mode == ProxyMode.Http)
            .Select(static x => (x.Proxy.Name, (string?)null, x.Frontend.Counters)).ToList());
    }

    private static void Backends(StatsWriter w, List<(StatsProxy Proxy, IBackendStats Backend)> backends)
    {
        foreach (var metric in UpstreamMetrics)
        {
            var family = new Family(w, "haproxy_backend_" + metric.Suffix, metric.Type, metric.Help);
            foreach (var (proxy, backend) in backends) family.Sample(metric.Value(backend.Counters), ("proxy", proxy.Name));
        }

        var status = new Family(w, "haproxy_backend_status", Gauge, "Current status of the service, per state label value.");
        var weight = new Family(w, "haproxy_backend_weight", Gauge, "Server's effective weight, or sum of active servers' effective weights for a backend");
        var active = new Family(w, "haproxy_backend_active_servers", Gauge, "Total number of active UP servers with a non-zero weight");
        foreach (var (proxy, backend) in backends)
        {
            bool up = StatsFacts.BackendUp(backend);
            status.Sample(up ? 0 : 1, ("proxy", proxy.Name), ("state", "DOWN"));
            status.Sample(up ? 1 : 0, ("proxy", proxy.Name), ("state", "UP"));
        }
        foreach (var (proxy, backend) in backends) weight.Sample(StatsFacts.BackendWeight(backend), ("proxy", proxy.Name));
        foreach (var (proxy, backend) in backends) active.Sample(StatsFacts.ActiveServers(backend), ("proxy", proxy.Name));

        var upDown = new Family(w, "haproxy_backend_check_up_down_total", Counter, UpDownHelp);
        foreach (var (proxy, backend) in backends) upDown.Sample(backend.DownTransitions, ("proxy", proxy.Name));
        var lastChange = new Family(w, "haproxy_backend_check_last_change_seconds", Gauge, LastChangeHelp);
        foreach (var (proxy, backend) in backends) lastChange.Sample(backend.LastChangeSeconds, ("proxy", proxy.Name));
        var downtime = new Family(w, "haproxy_backend_downtime_seconds_total", Counter, DowntimeHelp);
        foreach (var (proxy, backend) in backends) downtime.Sample(backend.DowntimeSeconds, ("proxy", proxy.Name));

        var handshakes = new Family(w, "datadog_fips_proxy_backend_tls_handshakes_total", Counter, "Total number of full TLS handshakes with this backend's servers since the process started");
        foreach (var (proxy, backend) in backends) handshakes.Sample(Volatile.Read(ref backend.Counters.TlsHandshakes), ("proxy", proxy.Name));

        HttpFamilies(w, "backend", backends.Where(static x => x.Backend.Mode == ProxyMode.Http)
            .Select(static x => (x.Proxy.Name, (string?)null, x.Backend.Counters)).ToList());
    }

    private static void Servers(StatsWriter w, List<(StatsProxy Proxy, IBackendStats Backend)> backends)
    {
        var servers = new List<(string Proxy, IServerStats Server, ProxyMode Mode)>();
        foreach (var (proxy, backend) in backends)
        {
            foreach (IServerStats server in backend.Servers) servers.Add((proxy.Name, server, backend.Mode));
        }

        foreach (var metric in UpstreamMetrics)
        {
            var family = new Family(w, "haproxy_server_" + metric.Suffix, metric.Type, metric.Help);
            foreach (var (proxy, server, _) in servers) family.Sample(metric.Value(server.Counters), ("proxy", proxy), ("server", server.Name));
        }

        var limit = new Family(w, "haproxy_server_limit_sessions", Gauge, "Frontend/listener/server's maxconn, backend's fullconn");
        foreach (var (proxy, server, _) in servers)
        {
            if (server.MaxConn > 0) limit.Sample(server.MaxConn, ("proxy", proxy), ("server", server.Name));
        }

        // A server without checks is UP in promex, as it takes traffic.
        var status = new Family(w, "haproxy_server_status", Gauge, "Current status of the service, per state label value.");
        foreach (var (proxy, server, _) in servers)
        {
            string current = server.Status switch { ServerStatus.Down => "DOWN", ServerStatus.Maint => "MAINT", _ => "UP" };
            foreach (string state in ServerStates)
                status.Sample(state == current ? 1 : 0, ("proxy", proxy), ("server", server.Name), ("state", state));
        }

        var weight = new Family(w, "haproxy_server_weight", Gauge, "Server's effective weight, or sum of active servers' effective weights for a backend");
        foreach (var (proxy, server, _) in servers) weight.Sample(server.Weight, ("proxy", proxy), ("server", server.Name));

        var lastChange = new Family(w, "haproxy_server_check_last_change_seconds", Gauge, LastChangeHelp);
        foreach (var (proxy, server, _) in servers) lastChange.Sample(server.LastChangeSeconds, ("proxy", proxy), ("server", server.Name));

        // promex 2.6 gives these for checked servers only (its PROMEX_FL_SRV_METRIC fields chkfail, chkdown, downtime).
        var failures = new Family(w, "haproxy_server_check_failures_total", Counter, "Total number of failed individual health checks per server/backend, since the worker process started");
        var upDown = new Family(w, "haproxy_server_check_up_down_total", Counter, UpDownHelp);
        var downtime = new Family(w, "haproxy_server_downtime_seconds_total", Counter, DowntimeHelp);
        foreach (var (proxy, server, _) in servers) if (server.CheckEnabled) failures.Sample(server.FailedChecks, ("proxy", proxy), ("server", server.Name));
        foreach (var (proxy, server, _) in servers) if (server.CheckEnabled) upDown.Sample(server.DownTransitions, ("proxy", proxy), ("server", server.Name));
        foreach (var (proxy, server, _) in servers) if (server.CheckEnabled) downtime.Sample(server.DowntimeSeconds, ("proxy", proxy), ("server", server.Name));

        var duration = new Family(w, "haproxy_server_check_duration_seconds", Gauge, "Total duration of the latest server health check, in seconds.");
        foreach (var (proxy, server, _) in servers)
            if (server.CheckStatus.Length > 0 && server.CheckDurationMs >= 0) duration.SampleMilliseconds(server.CheckDurationMs, ("proxy", proxy), ("server", server.Name));

        // Only servers whose check has run; a word outside promex's list still gets its own series.
        var check = new Family(w, "haproxy_server_check_status", Gauge, "Status of last health check, per state label value.");
        foreach (var (proxy, server, _) in servers)
        {
            if (server.CheckStatus.Length == 0) continue;
            foreach (string state in CheckStates)
                check.Sample(state == server.CheckStatus ? 1 : 0, ("proxy", proxy), ("server", server.Name), ("state", state));
            if (Array.IndexOf(CheckStates, server.CheckStatus) < 0)
                check.Sample(1, ("proxy", proxy), ("server", server.Name), ("state", server.CheckStatus));
        }

        // The idle pool, promex 2.6's names and help texts (HTTP servers: a TCP-mode one has no pool).
        var pools = servers.Select(static x => (x.Proxy, x.Server, Pool: x.Server.IdlePool)).Where(static x => x.Pool is not null).ToList();
        var idleNow = new Family(w, "haproxy_server_idle_connections_current", Gauge, "Current number of idle connections available for reuse on this server");
        foreach (var (proxy, server, pool) in pools) idleNow.Sample(pool!.Value.Idle, ("proxy", proxy), ("server", server.Name));
        var idleLimit = new Family(w, "haproxy_server_idle_connections_limit", Gauge, "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)");
        foreach (var (proxy, server, pool) in pools) if (pool!.Value.Limit >= 0) idleLimit.Sample(pool.Value.Limit, ("proxy", proxy), ("server", server.Name));
        var unsafeIdle = new Family(w, "haproxy_server_unsafe_idle_connections_current", Gauge, "Current number of unsafe idle connections");
        foreach (var (proxy, server, pool) in pools) unsafeIdle.Sample(pool!.Value.UnsafeIdle, ("proxy", proxy), ("server", server.Name));
        var safeIdle = new Family(w, "haproxy_server_safe_idle_connections_current", Gauge, "Current number of safe idle connections");
        foreach (var (proxy, server, pool) in pools) safeIdle.Sample(pool!.Value.SafeIdle, ("proxy", proxy), ("server", server.Name));
        var used = new Family(w, "haproxy_server_used_connections_current", Gauge, "Current number of connections in use");
        foreach (var (proxy, server, pool) in pools) used.Sample(pool!.Value.Used, ("proxy", proxy), ("server", server.Name));
        var need = new Family(w, "haproxy_server_need_connections_current", Gauge, "Estimated needed number of connections");
        foreach (var (proxy, server, pool) in pools) need.Sample(pool!.Value.NeedEstimate, ("proxy", proxy), ("server", server.Name));

        var handshakes = new Family(w, "datadog_fips_proxy_server_tls_handshakes_total", Counter, "Total number of full TLS handshakes with this server since the process started");
        foreach (var (proxy, server, _) in servers) handshakes.Sample(Volatile.Read(ref server.Counters.TlsHandshakes), ("proxy", proxy), ("server", server.Name));

        HttpFamilies(w, "server", servers.Where(static x => x.Mode == ProxyMode.Http)
            .Select(static x => (x.Proxy, (string?)x.Server.Name, x.Server.Counters)).ToList());
    }

    /// <summary>The HTTP families, only for http-mode objects (promex leaves them out for tcp ones too).</summary>
    private static void HttpFamilies(StatsWriter w, string objectWord, List<(string Proxy, string? Server, TrafficCounters Counters)> objects)
    {
        if (objectWord != "server")
        {
            var requests = new Family(w, $"haproxy_{objectWord}_http_requests_total", Counter, "Total number of HTTP requests processed by this object since the worker process started");
            foreach (var (proxy, _, c) in objects) requests.Sample(Volatile.Read(ref c.Requests), ("proxy", proxy));
        }

        var responses = new Family(w, $"haproxy_{objectWord}_http_responses_total", Counter, "Total number of HTTP responses returned by this object since the worker process started, by status class");
        foreach (var (proxy, server, c) in objects)
        {
            long[] counts =
            [
                Volatile.Read(ref c.Http1xx), Volatile.Read(ref c.Http2xx), Volatile.Read(ref c.Http3xx),
                Volatile.Read(ref c.Http4xx), Volatile.Read(ref c.Http5xx), Volatile.Read(ref c.HttpOther),
            ];
            for (int i = 0; i < ResponseClasses.Length; i++)
            {
                if (server is null) responses.Sample(counts[i], ("proxy", proxy), ("code", ResponseClasses[i]));
                else responses.Sample(counts[i], ("proxy", proxy), ("server", server), ("code", ResponseClasses[i]));
            }
        }
    }

    /// <summary>
    /// One metric family: HELP and TYPE are written before its first sample, and not at all when it
    /// has none (an empty family is legal but only clutters the page).
    /// </summary>
    private sealed class Family(StatsWriter w, string name, string type, string help)
    {
        private bool _started;

        /// <summary>A duration kept in milliseconds, written in seconds ("0.004"), as promex scales check_duration.</summary>
        public void SampleMilliseconds(long ms, params ReadOnlySpan<(string Name, string Value)> labels) =>
            Sample(ms, labels, seconds: true);

        public void Sample(long value, params ReadOnlySpan<(string Name, string Value)> labels) => Sample(value, labels, seconds: false);

        private void Sample(long value, ReadOnlySpan<(string Name, string Value)> labels, bool seconds)
        {
            if (!_started)
            {
                _started = true;
                w.Text("# HELP ");
                w.Text(name);
                w.Text(" ");
                w.Text(help);
                w.Text("\n# TYPE ");
                w.Text(name);
                w.Text(" ");
                w.Text(type);
                w.Text("\n");
            }
            w.Text(name);
            if (labels.Length > 0)
            {
                w.Ascii("{"u8);
                for (int i = 0; i < labels.Length; i++)
                {
                    if (i > 0) w.Ascii(","u8);
                    w.Text(labels[i].Name);
                    w.Ascii("=\""u8);
                    w.LabelValue(labels[i].Value);
                    w.Ascii("\""u8);
                }
                w.Ascii("}"u8);
            }
            w.Ascii(" "u8);
            if (seconds) w.Text((value / 1000.0).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture));
            else w.Number(value);
            w.Ascii("\n"u8);
        }
    }
}
