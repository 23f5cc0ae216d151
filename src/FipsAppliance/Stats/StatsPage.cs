using System.Buffers;
using System.Text;
using FipsAppliance.Configuration;

namespace FipsAppliance.Stats;

public enum StatsFormat { Html, Csv, Prometheus }

/// <summary>What a request to the stats listener asks for.</summary>
/// <param name="NoRefresh">`;norefresh` was given: the HTML page leaves out its meta refresh.</param>
public readonly record struct StatsRequest(StatsFormat Format, bool NoRefresh);

/// <summary>How the page is rendered; the clock is a parameter so tests see fixed uptimes.</summary>
/// <param name="RefreshSeconds">`stats refresh`: the HTML page reloads itself every so many seconds.</param>
/// <param name="StatsUri">`stats uri`, for the page's link to its CSV.</param>
public readonly record struct StatsPageOptions(DateTimeOffset Now, int? RefreshSeconds = null, bool NoRefresh = false, string StatsUri = "/");

/// <summary>
/// The stats listener's page (9803): HAProxy's HTML report, its CSV (`;csv`), and Prometheus text at
/// `/metrics`.
/// </summary>
public static class StatsPage
{
    /// <summary>Where the Prometheus text is served, whatever `stats uri` says.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// HAProxy's stats URI matching (http_stats_check_uri / http_handle_stats in 2.6): the request
    /// target, reduced to its path-and-query when the prefix starts with '/', must begin with
    /// <paramref name="statsUri"/> byte for byte (so "/" takes every request, and the default
    /// "/haproxy?stats" also takes "/haproxy?stats;csv"). After the prefix, ";csv" anywhere selects
    /// the CSV and ";norefresh" drops the refresh, exactly as HAProxy scans for them.
    /// Our addition: the path <see cref="MetricsPath"/> (query ignored) is the Prometheus text, like
    /// `http-request use-service prometheus-exporter if { path /metrics }` on HAProxy's stats listen;
    /// it is checked first, so it wins over a "/" prefix.
    /// </summary>
    /// <param name="target">The request target as received: origin-form ("/;csv") or absolute-form.</param>
    public static bool TryMatch(ReadOnlySpan<byte> target, string statsUri, out StatsRequest request)
    {
        request = default;
        ReadOnlySpan<byte> path = statsUri.StartsWith('/') ? PathAndQuery(target) : target;

        int query = path.IndexOf((byte)'?');
        ReadOnlySpan<byte> pathOnly = query < 0 ? path : path[..query];
        if (pathOnly.SequenceEqual("/metrics"u8))
        {
            request = new StatsRequest(StatsFormat.Prometheus, NoRefresh: true);
            return true;
        }

        byte[] prefix = Encoding.UTF8.GetBytes(statsUri);
        if (prefix.Length == 0 || !path.StartsWith(prefix)) return false;

        ReadOnlySpan<byte> rest = path[prefix.Length..];
        StatsFormat format = rest.IndexOf(";csv"u8) >= 0 ? StatsFormat.Csv : StatsFormat.Html;
        request = new StatsRequest(format, NoRefresh: rest.IndexOf(";norefresh"u8) >= 0);
        return true;
    }

    public static bool TryMatch(ReadOnlySpan<byte> target, string statsUri, out StatsFormat format)
    {
        bool matched = TryMatch(target, statsUri, out StatsRequest request);
        format = request.Format;
        return matched;
    }

    /// <summary>
    /// The Content-Type to send. HAProxy 2.6 sends "text/html" and "text/plain" for the report and
    /// its CSV (seen on Debian's 2.6.12); we name the charset because our names are UTF-8. Prometheus
    /// is the text exposition format 0.0.4, as HAProxy's exporter says.
    /// </summary>
    public static string ContentType(StatsFormat format) => format switch
    {
        StatsFormat.Csv => "text/plain; charset=utf-8",
        StatsFormat.Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        _ => "text/html; charset=utf-8",
    };

    /// <summary>Writes the body in <paramref name="format"/>; returns the number of bytes written.</summary>
    public static int Render(IStatsSource source, StatsFormat format, IBufferWriter<byte> output, StatsPageOptions options)
    {
        var writer = new StatsWriter(output);
        IReadOnlyList<StatsProxy> proxies = StatsProxy.Group(source);
        switch (format)
        {
            case StatsFormat.Csv: CsvStats.Write(writer, proxies); break;
            case StatsFormat.Prometheus: PrometheusStats.Write(writer, source, proxies, options); break;
            default: HtmlStats.Write(writer, source, proxies, options); break;
        }
        return writer.Written;
    }

    /// <summary>The body as a byte array, for callers that want one buffer.</summary>
    public static byte[] Render(IStatsSource source, StatsFormat format, StatsPageOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        Render(source, format, buffer, options);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The path-and-query of a request target. An absolute-form target ("http://host:9803/;csv")
    /// loses its scheme and authority, as HAProxy's http_parse_path does; one with no path at all is "/".
    /// </summary>
    private static ReadOnlySpan<byte> PathAndQuery(ReadOnlySpan<byte> target)
    {
        if (target.IsEmpty || target[0] == (byte)'/') return target;
        int scheme = target.IndexOf("://"u8);
        if (scheme < 0) return target;
        ReadOnlySpan<byte> afterScheme = target[(scheme + 3)..];
        int slash = afterScheme.IndexOfAny((byte)'/', (byte)'?');
        if (slash < 0) return "/"u8;
        return afterScheme[slash] == (byte)'/' ? afterScheme[slash..] : "/"u8;
    }
}

/// <summary>
/// One proxy as the stats page shows it: a `listen` has both a frontend and a backend under one
/// name, a `frontend` or `backend` section has one of them. Numbered 1.. in order, which is the
/// CSV's iid (HAProxy numbers proxies in cfg order; we have frontends-then-backends order, see Group).
/// </summary>
internal sealed class StatsProxy(string name, int id)
{
    public string Name { get; } = name;
    public int Id { get; } = id;
    public IFrontendStats? Frontend { get; set; }
    public IBackendStats? Backend { get; set; }

    public ProxyMode Mode => Frontend?.Mode ?? Backend?.Mode ?? ProxyMode.Tcp;

    /// <summary>
    /// Pairs frontends and backends by name. The source lists frontends and backends apart, so
    /// the cfg's interleaving is lost: frontends come first in their order, then backends that are
    /// not already the back half of a `listen`.
    /// </summary>
    public static IReadOnlyList<StatsProxy> Group(IStatsSource source)
    {
        var proxies = new List<StatsProxy>(source.Frontends.Count + source.Backends.Count);
        var byName = new Dictionary<string, StatsProxy>(StringComparer.Ordinal);
        foreach (IFrontendStats frontend in source.Frontends)
        {
            StatsProxy proxy = GetOrAdd(frontend.Name);
            proxy.Frontend ??= frontend;
        }
        foreach (IBackendStats backend in source.Backends)
        {
            StatsProxy proxy = GetOrAdd(backend.Name);
            proxy.Backend ??= backend;
        }
        return proxies;

        StatsProxy GetOrAdd(string name)
        {
            if (!byName.TryGetValue(name, out StatsProxy? proxy))
            {
                proxy = new StatsProxy(name, proxies.Count + 1);
                byName.Add(name, proxy);
                proxies.Add(proxy);
            }
            return proxy;
        }
    }
}

/// <summary>The words and derived numbers all three formats share, so they never disagree.</summary>
internal static class StatsFacts
{
    /// <summary>A server counts toward its backend when traffic may go to it: UP, or not checked.</summary>
    public static bool IsUsable(IServerStats server) => server.Status is ServerStatus.Up or ServerStatus.NoCheck;

    /// <summary>
    /// HAProxy's status column for a server (stats.c stats_fill_sv_stats): "UP", "UP 1/3" while going
    /// down (health - rise + 1 of fall), "DOWN", "DOWN 1/2" while going up (health of rise),
    /// "MAINT (resolution)" for a resolvers-fed server without an address (the usual state of the
    /// shipped cfg's spare server-template slots), "MAINT", "no check".
    /// </summary>
    public static string ServerStatusWord(IServerStats server)
    {
        int health = server.CheckHealth, rise = server.CheckRise, fall = server.CheckFall;
        bool known = health >= 0 && rise > 0 && fall > 0;
        return server.Status switch
        {
            ServerStatus.Up when known && health < rise + fall - 1 => $"UP {health - rise + 1}/{fall}",
            ServerStatus.Up => "UP",
            ServerStatus.Down when known && health > 0 => $"DOWN {health}/{rise}",
            ServerStatus.Down => "DOWN",
            ServerStatus.Maint => server.ResolutionMaintenance ? "MAINT (resolution)" : "MAINT",
            _ => "no check",
        };
    }

    /// <summary>The HTML page's check cell, as HAProxy's: "L4CON in 0ms", or the bare status when the duration is unknown.</summary>
    public static string CheckCell(IServerStats server) =>
        server.CheckStatus.Length == 0 ? "-"
        : server.CheckDurationMs >= 0 ? $"{server.CheckStatus} in {server.CheckDurationMs}ms"
        : server.CheckStatus;

    /// <summary>A backend is UP while at least one server may take traffic, as HAProxy reports it.</summary>
    public static bool BackendUp(IBackendStats backend)
    {
        foreach (IServerStats server in backend.Servers)
        {
            if (IsUsable(server)) return true;
        }
        return false;
    }

    /// <summary>act: servers that may take traffic.</summary>
    public static int ActiveServers(IBackendStats backend)
    {
        int n = 0;
        foreach (IServerStats server in backend.Servers)
        {
            if (IsUsable(server)) n++;
        }
        return n;
    }

    /// <summary>weight: the backend's is the sum of its usable servers' weights.</summary>
    public static long BackendWeight(IBackendStats backend)
    {
        long weight = 0;
        foreach (IServerStats server in backend.Servers)
        {
            if (IsUsable(server)) weight += server.Weight;
        }
        return weight;
    }

    /// <summary>HAProxy's frontend status: OPEN, or FULL while its maxconn is reached.</summary>
    public static string FrontendStatusWord(IFrontendStats frontend) =>
        frontend.MaxConn > 0 && Volatile.Read(ref frontend.Counters.CurrentSessions) >= frontend.MaxConn ? "FULL" : "OPEN";

    public static string ModeWord(ProxyMode mode) => mode == ProxyMode.Http ? "http" : "tcp";

    public static string BalanceWord(BalanceAlgorithm balance) => balance switch
    {
        BalanceAlgorithm.First => "first",
        BalanceAlgorithm.LeastConn => "leastconn",
        _ => "roundrobin",
    };

    /// <summary>
    /// A short duration the way HAProxy's page prints "last change" (human_time): the two most
    /// significant units, "12s", "5m3s", "2h10m", "3d4h".
    /// </summary>
    public static string ShortDuration(long seconds)
    {
        if (seconds < 0) seconds = 0;
        long d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
        if (d > 0) return $"{d}d{h}h";
        if (h > 0) return $"{h}h{m}m";
        if (m > 0) return $"{m}m{s}s";
        return $"{s}s";
    }

    /// <summary>The page header's uptime, in HAProxy's "0d 1h02m03s" form.</summary>
    public static string Uptime(TimeSpan uptime)
    {
        if (uptime < TimeSpan.Zero) uptime = TimeSpan.Zero;
        return $"{(int)uptime.TotalDays}d {uptime.Hours}h{uptime.Minutes:00}m{uptime.Seconds:00}s";
    }
}
