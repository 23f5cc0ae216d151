using System.Net;

namespace FipsAppliance.Configuration.Cfg;

internal sealed partial class CfgParser
{
    private static readonly Keyword[] ProxyKeywords =
    [
        new("mode", Where.All, "mode tcp|http: how the proxy handles traffic", Mode),
        new("log", Where.All, "log global | log <target> [len <n>] [format <f>] <facility> [<level> [<minlevel>]]",
            (p, s, a) => p.ParseLog(s, a, global: false)),
        new("option", Where.All, "option dontlognull|redispatch|tcplog|httplog (negated by 'no option')", (p, s, a) => Option(p, s, a, negate: false)),
        new("no", Where.All, "no option <name> | no log: cancel an inherited setting", No),
        new("retries", Where.Defaults | Where.Backend, "retries <n>: connection attempts after the first", Retries, IgnoredWithoutCapability: true),
        new("timeout", Where.All, "timeout client|server|connect|http-request|http-keep-alive|check|queue <time>", Timeout),
        new("default-server", Where.Defaults | Where.Backend, "default-server <param>...: defaults for the following server lines",
            (p, s, a) => p.ParseServer(s, a, ServerLineKind.Default)),
        new("bind", Where.Frontend, "bind <addr>:<port>[,...]: where the frontend listens", Bind, IgnoredWithoutCapability: true),
        new("maxconn", Where.Defaults | Where.Frontend, "maxconn <n>: concurrent connections accepted by the frontend", ProxyMaxConn, IgnoredWithoutCapability: true),
        new("default_backend", Where.Defaults | Where.Frontend, "default_backend <backend>: where requests go when no use_backend matches",
            DefaultBackend, IgnoredWithoutCapability: true),
        new("use_backend", Where.Frontend, "use_backend <backend> [if|unless <condition>]: conditional backend switching", UseBackend, IgnoredWithoutCapability: true),
        new("acl", Where.Proxy, "acl <name> path|path_beg|path_end [-i] [--] <pattern>...: a named condition", Acl),
        new("balance", Where.Defaults | Where.Backend, "balance roundrobin|first|leastconn: how servers are chosen", Balance, IgnoredWithoutCapability: true),
        new("http-reuse", Where.Defaults | Where.Backend, "http-reuse never|safe|aggressive|always: which requests may take another session's idle server connection",
            HttpReuseKeyword, IgnoredWithoutCapability: true),
        new("server", Where.Backend, "server <name> <addr>[:<port>] [param*]: one upstream server",
            (p, s, a) => p.ParseServer(s, a, ServerLineKind.Server)),
        new("server-template", Where.Backend, "server-template <prefix> <num|range> <fqdn>[:<port>] [param*]: servers filled by DNS",
            (p, s, a) => p.ParseServer(s, a, ServerLineKind.Template)),
        new("stats", Where.All, "stats enable | stats uri <prefix> | stats refresh <delay>: the statistics page", Stats),
    ];

    private static void Mode(CfgParser p, CfgSection s, string[] a)
    {
        string m = a.Length > 1 ? a[1] : "";
        if (m is not ("tcp" or "http"))
        {
            p.Alert(m == "health" ? "'mode health' doesn't exist anymore. Please use 'http-request return status 200' instead."
                                  : $"unknown proxy mode '{m}'.");
            return;
        }
        if (p.TooMany(a, 2)) return;
        s.Values["Mode"] = m == "http" ? "Http" : "Tcp";
    }

    private static readonly string[] OptionNames = ["dontlognull", "redispatch", "tcplog", "httplog"];

    private static void Option(CfgParser p, CfgSection s, string[] a, bool negate)
    {
        if (a.Length < 2) { p.Alert("'option' expects an option name."); return; }
        string key = a[1] switch
        {
            "dontlognull" => "DontLogNull", "redispatch" => "Redispatch", "tcplog" => "TcpLog", "httplog" => "HttpLog", _ => "",
        };
        if (key.Length == 0)
        {
            p.Alert($"unknown option '{a[1]}'{Suggest(a[1], OptionNames)}.".Replace(" ?.", " ?"));
            return;
        }
        int max = a[1] == "httplog" ? 3 : 2; // `option httplog clf`
        if (p.TooMany(a, max, $"option {a[1]}")) return;
        if (a.Length == 3 && a[2] != "clf") { p.Alert($"'option httplog' only supports 'clf' as an argument, got '{a[2]}'."); return; }
        s.Values["Options:" + key] = negate ? "false" : "true";
        // tcplog and httplog are two formats of one setting: the last one wins.
        if (!negate && key == "TcpLog") s.Values["Options:HttpLog"] = "false";
        if (!negate && key == "HttpLog") s.Values["Options:TcpLog"] = "false";
    }

    private static void No(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length >= 2 && a[1] == "option") { Option(p, s, a[1..], negate: true); return; }
        if (a.Length == 2 && a[1] == "log") { s.Logs.Clear(); s.Values.Remove("LogGlobal"); return; }
        p.Alert($"'no' is only supported before 'option' and 'log' (got '{(a.Length > 1 ? a[1] : "")}').");
    }

    private static void Retries(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2 || !TryInt(a[1], out int n)) { p.Alert($"'{a[0]}' expects an integer value."); return; }
        if (!p.TooMany(a, 2)) s.Values["Retries"] = Num(n);
    }

    private static void Timeout(CfgParser p, CfgSection s, string[] a)
    {
        string what = a.Length > 1 ? a[1] : "";
        string? key = what switch
        {
            "client" => "Client", "server" => "Server", "connect" => "Connect", "http-request" => "HttpRequest",
            "http-keep-alive" => "HttpKeepAlive", "check" => "Check", "queue" => "Queue",
            "tunnel" or "tarpit" or "client-fin" or "server-fin" => "",
            _ => null,
        };
        if (key is null)
        {
            p.Alert($"'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '{what}')");
            return;
        }
        if (a.Length < 3) { p.Alert($"'timeout {what}' expects an integer value (in milliseconds)"); return; }
        var ms = ParseTime(a[2], $"timeout {what}", out var err);
        if (ms is null) { p.Alert(err!); return; }
        if (p.TooMany(a, 3, $"timeout {what}")) return;
        if (key.Length == 0) { p.Warning($"'timeout {what}' is accepted for compatibility with HAProxy and ignored by datadog-fips-proxy."); return; }
        s.Values["Timeouts:" + key] = Num(ms.Value);
    }

    private static void Bind(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2) { p.Alert($"'bind' : missing address (expects [addr1]:port1[,[addr2]:port2]...)."); return; }
        if (a.Length > 2)
        {
            // TLS and the other bind options belong to HAProxy's listeners; ours take plain HTTP from the Agent.
            p.Alert($"'bind {a[1]}' : unknown keyword '{a[2]}'. datadog-fips-proxy binds take no options.");
            return;
        }
        var parsed = new List<Keys>();
        foreach (var item in a[1].Split(','))
        {
            if (!p.TryAddress(item, "'bind'", portRequired: true, out string addr, out int port, out int last)) return;
            for (int q = port; q <= last; q++)
                parsed.Add(new Keys { ["Address"] = addr, ["Port"] = Num(q), ["File"] = p.File, ["Line"] = Num(p.Line) });
        }
        s.Binds.AddRange(parsed);
    }

    private static void ProxyMaxConn(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2 || !TryInt(a[1], out int n)) { p.Alert($"'{a[0]}' expects an integer argument."); return; }
        if (!p.TooMany(a, 2)) s.Values["MaxConn"] = Num(n);
    }

    private static void DefaultBackend(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2) { p.Alert($"'{a[0]}' expects a backend name."); return; }
        if (p.TooMany(a, 2)) return;
        s.Values["DefaultBackend"] = a[1];
        s.Values["DefaultBackendFile"] = p.File;
        s.Values["DefaultBackendLine"] = Num(p.Line);
    }

    private static void Balance(CfgParser p, CfgSection s, string[] a)
    {
        string algo = a.Length > 1 ? a[1] : "";
        string? v = algo switch { "roundrobin" => "RoundRobin", "first" => "First", "leastconn" => "LeastConn", _ => null };
        if (v is null)
        {
            p.Alert(algo is "static-rr" or "source" or "uri" or "url_param" or "random" || algo.StartsWith("hdr(", StringComparison.Ordinal)
                    || algo.StartsWith("rdp-cookie", StringComparison.Ordinal)
                ? $"balance '{algo}' is an HAProxy algorithm that datadog-fips-proxy does not implement; use 'roundrobin', 'first' or 'leastconn'."
                : "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.");
            return;
        }
        if (!p.TooMany(a, 2)) s.Values["Balance"] = v;
    }

    private static void HttpReuseKeyword(CfgParser p, CfgSection s, string[] a)
    {
        string word = a.Length > 1 ? a[1] : "";
        string? v = word switch { "never" => "Never", "safe" => "Safe", "aggressive" => "Aggressive", "always" => "Always", _ => null };
        if (v is null)
        {
            p.Alert("'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.");
            return;
        }
        if (!p.TooMany(a, 2, $"http-reuse {word}")) s.Values["HttpReuse"] = v;
    }

    private static void Stats(CfgParser p, CfgSection s, string[] a)
    {
        string sub = a.Length > 1 ? a[1] : "";
        switch (sub)
        {
            case "enable":
                if (!p.TooMany(a, 2)) s.Values["Stats:Enable"] = "true";
                return;
            case "uri":
                if (a.Length < 3) { p.Alert("'uri' needs a URI prefix."); return; }
                if (p.TooMany(a, 3)) return;
                s.Values["Stats:Uri"] = a[2];
                s.Values["Stats:Enable"] = "true"; // as in HAProxy: any stats directive enables the page
                return;
            case "refresh":
                if (a.Length < 3) { p.Alert("'refresh' needs a positive interval in seconds."); return; }
                var ms = ParseTime(a[2], "stats refresh", out var err);
                if (ms is null) { p.Alert(err!); return; }
                if (p.TooMany(a, 3)) return;
                s.Values["Stats:RefreshSeconds"] = Num(Math.Max(1, ms.Value / 1000));
                s.Values["Stats:Enable"] = "true";
                return;
            case "socket":
                p.Alert("'stats socket' is only allowed in 'global' section.");
                return;
            default:
                p.Alert($"unknown stats parameter '{sub}', expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'.");
                return;
        }
    }

    // ---- log ----

    private static readonly string[] Facilities =
    [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ];
    private static readonly string[] Levels = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

    private void ParseLog(CfgSection s, string[] a, bool global)
    {
        if (a.Length == 2 && a[1] == "global" && !global)
        {
            s.Values["LogGlobal"] = "true";
            return;
        }
        if (a.Length < 3)
        {
            Alert(global ? "'log' expects <address> and <facility> as arguments."
                         : "'log' expects either <address[:port]> and <facility> or 'global' as arguments.");
            return;
        }
        string target = CfgLexer.EnvExpand(a[1], GetEnv);
        var log = new Keys { ["Target"] = target, ["File"] = File, ["Line"] = Num(Line) };
        int i = 2;
        while (i + 1 < a.Length && a[i] is "len" or "format" or "sample")
        {
            if (a[i] == "len")
            {
                if (!TryInt(a[i + 1], out int len)) { Alert($"'len' expects a positive integer argument."); return; }
                if (len is < 80 or > 65535) { Alert($"log : invalid log length '{a[i + 1]}', must be between 80 and 65535"); return; }
                log["Len"] = Num(len);
            }
            if (a[i] == "format")
            {
                if (a[i + 1] is not ("local" or "rfc3164" or "rfc5424" or "priority" or "short" or "timed" or "iso" or "raw"))
                {
                    Alert($"unknown log format '{a[i + 1]}'");
                    return;
                }
                log["Format"] = a[i + 1];
            }
            i += 2;
        }
        if (i >= a.Length) { Alert("'log' expects <address> and <facility> as arguments."); return; }
        if (Array.IndexOf(Facilities, a[i]) < 0) { Alert($"unknown log facility '{a[i]}'"); return; }
        log["Facility"] = a[i++];
        if (i < a.Length)
        {
            if (Array.IndexOf(Levels, a[i]) < 0) { Alert($"unknown optional log level '{a[i]}'"); return; }
            log["Level"] = a[i++];
        }
        if (i < a.Length)
        {
            if (Array.IndexOf(Levels, a[i]) < 0) { Alert($"unknown optional minimum log level '{a[i]}'"); return; }
            log["MinLevel"] = a[i++];
        }
        if (i < a.Length) { Alert($"'log' cannot handle unexpected argument '{a[i]}'."); return; }
        if (!IsLogTarget(target)) { Alert($"invalid log target '{a[1]}': expects stdout, stderr, an ip[:port] or an absolute unix socket path."); return; }
        s.Logs.Add(log);
    }

    private static bool IsLogTarget(string target)
    {
        if (target is "stdout" or "stderr" || target.StartsWith('/')) return true;
        if (target.StartsWith("udp@", StringComparison.Ordinal) || target.StartsWith("ipv4@", StringComparison.Ordinal)) target = target[(target.IndexOf('@') + 1)..];
        if (IPAddress.TryParse(target, out _)) return true;
        int colon = target.LastIndexOf(':');
        if (colon > 0 && TryInt(target[(colon + 1)..], out int port) && port is > 0 and <= 65535)
            return IPAddress.TryParse(target[..colon].Trim('[', ']'), out _) || IsHostName(target[..colon]);
        return IsHostName(target);
    }

    // ---- addresses ----

    /// <summary>
    /// `[addr]:port`, `addr:port`, `*:port`, `:port`, `[v6]:port`, with `${VAR}` expanded (HAProxy's
    /// str2sa_range). A port range `a-b` is allowed where <paramref name="last"/> is used (binds).
    /// </summary>
    public bool TryAddress(string text, string who, bool portRequired, out string addr, out int port, out int last)
    {
        addr = ""; port = 0; last = 0;
        string expanded = CfgLexer.EnvExpand(text, GetEnv);
        string host, portText;
        if (expanded.StartsWith('['))
        {
            int close = expanded.IndexOf(']');
            if (close < 0) { Alert($"{who} : invalid address: '{expanded}' in '{text}'"); return false; }
            host = expanded[1..close];
            string rest = expanded[(close + 1)..];
            if (rest.Length > 0 && rest[0] != ':') { Alert($"{who} : invalid address: '{expanded}' in '{text}'"); return false; }
            portText = rest.Length > 0 ? rest[1..] : "";
            if (!IPAddress.TryParse(host, out var ip6) || ip6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            { Alert($"{who} : invalid address: '{host}' in '{text}'"); return false; }
            if (rest.Length == 0) portText = "\0";
        }
        else
        {
            int colon = expanded.LastIndexOf(':');
            if (colon < 0) { host = expanded; portText = "\0"; }
            else { host = expanded[..colon]; portText = expanded[(colon + 1)..]; }
            if (host.Contains('@') || host.StartsWith('/'))
            { Alert($"{who} : address family of '{text}' is not supported by datadog-fips-proxy (IP addresses and host names only)."); return false; }
            if (host is not ("" or "*") && !IPAddress.TryParse(host, out _) && !IsHostName(host))
            { Alert($"{who} : invalid address: '{host}' in '{text}'"); return false; }
            if (host == "*") host = "";
        }
        if (portText == "\0")
        {
            if (portRequired) { Alert($"{who} : missing port specification in '{text}'"); return false; }
            addr = host;
            return true;
        }
        int dash = portText.IndexOf('-');
        string p1 = dash < 0 ? portText : portText[..dash], p2 = dash < 0 ? portText : portText[(dash + 1)..];
        if (!TryInt(p1, out port) || port is < 1 or > 65535 || !TryInt(p2, out last) || last is < 1 or > 65535 || last < port)
        { Alert($"{who} : invalid port '{portText}'"); return false; }
        if (dash >= 0 && who != "'bind'") { Alert($"{who} : port ranges and offsets are not allowed in '{text}'"); return false; }
        addr = host;
        return true;
    }

    private static bool IsHostName(string host)
    {
        if (host.Length == 0 || host.Length > 253) return false;
        foreach (char c in host)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')) return false;
        return true;
    }
}
