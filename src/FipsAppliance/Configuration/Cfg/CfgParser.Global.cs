namespace FipsAppliance.Configuration.Cfg;

internal sealed partial class CfgParser
{
    // Accepted so that files written for HAProxy load, but meaningless here: systemd runs the daemon,
    // the runtime sizes its own threads and buffers.
    private static readonly string[] IgnoredGlobalWords =
    [
        "daemon", "master-worker", "user", "group", "uid", "gid", "chroot", "pidfile", "nbthread", "nbproc",
        "ulimit-n", "tune.ssl.default-dh-param", "tune.bufsize", "tune.maxrewrite", "tune.ssl.cachesize",
        "tune.ssl.lifetime", "maxsslconn", "node", "description",
        "crt-base", "ssl-dh-param-file", "ssl-default-bind-ciphers",
        "ssl-default-bind-ciphersuites", "insecure-fork-wanted", "set-dumpable", "quiet", "zero-warning",
    ];

    private static readonly Keyword[] GlobalKeywords = BuildGlobalKeywords();

    private static Keyword[] BuildGlobalKeywords()
    {
        var table = new List<Keyword>
        {
            new("log", Where.All, "log <target> [len <n>] [format <f>] <facility> [<level> [<minlevel>]]: a syslog target",
                (p, s, a) => p.ParseLog(s, a, global: true)),
            new("maxconn", Where.All, "maxconn <n>: process-wide limit on concurrent connections", GlobalMaxConn),
            new("log-tag", Where.All, "log-tag <string>: the tag of syslog lines (default: the program name)", (p, s, a) =>
            {
                if (a.Length < 2) { p.Alert($"'{a[0]}' expects a tag for use in syslog."); return; }
                if (!p.TooMany(a, 2)) s.Values["LogTag"] = a[1];
            }),
            new("log-send-hostname", Where.All, "log-send-hostname [<name>]: the host name in the syslog header (default: this host's name)", LogSendHostname),
            new("hard-stop-after", Where.All, "hard-stop-after <time>: longest wait for connections in flight at stop or reload", HardStopAfter),
            new("stats", Where.All, "stats socket <path> [mode <m>] [level <l>]: the runtime API socket", GlobalStats),
            new("presetenv", Where.All, "presetenv <name> <value>: set a variable unless the environment has it", (p, s, a) => SetEnv(p, a, overwrite: false)),
            new("setenv", Where.All, "setenv <name> <value>: set a variable for ${...} expansion", (p, s, a) => SetEnv(p, a, overwrite: true)),
            new("unsetenv", Where.All, "unsetenv <name>...: remove variables", UnsetEnv),
            new("resetenv", Where.All, "resetenv [<name>...]: remove every variable but those named", (p, s, a) => p.Env.Reset(a.Skip(1))),
            new("ssl-default-server-ciphers", Where.All, "ssl-default-server-ciphers <list>: OpenSSL cipher list (TLS <= 1.2) to servers",
                (p, s, a) => GlobalString(p, s, a, "SslDefaultServerCiphers")),
            new("ssl-default-server-ciphersuites", Where.All, "ssl-default-server-ciphersuites <list>: TLS 1.3 suites to servers",
                (p, s, a) => GlobalString(p, s, a, "SslDefaultServerCiphersuites")),
            new("ssl-default-server-options", Where.All, "ssl-default-server-options <opt>...: no-tlsv1x, ssl-min-ver ... for servers",
                (p, s, a) => GlobalSslOptions(p, s, a, "SslDefaultServerOptions", server: true)),
            new("ssl-default-bind-options", Where.All, "ssl-default-bind-options <opt>...: no-tlsv1x, ssl-min-ver ... for binds",
                (p, s, a) => GlobalSslOptions(p, s, a, "SslDefaultBindOptions", server: false)),
            new("ssl-server-verify", Where.All, "ssl-server-verify none|required: verify mode of servers that do not say", SslServerVerify),
            new("default-path", Where.All, "default-path current|config|parent|origin <path>: base of relative file names", DefaultPath),
            new("ca-base", Where.All, "ca-base <dir>: base of relative ca-file names", CaBaseKeyword),
            new("spread-checks", Where.All, "spread-checks <0..50>: random jitter, in percent, added to health check intervals", SpreadChecks),
            new("tune.pool-low-fd-ratio", Where.All, "tune.pool-low-fd-ratio <0..100>: percent of descriptors in use from which servers keep one idle connection (default 20)",
                (p, s, a) => FdRatio(p, s, a, "PoolLowFdRatio")),
            new("tune.pool-high-fd-ratio", Where.All, "tune.pool-high-fd-ratio <0..100>: percent of descriptors in use from which idle connections are closed (default 25)",
                (p, s, a) => FdRatio(p, s, a, "PoolHighFdRatio")),
        };
        foreach (var word in IgnoredGlobalWords)
            table.Add(new(word, Where.All, $"{word}: accepted for compatibility, ignored",
                (p, s, a) => p.Warning($"'{a[0]}' is accepted for compatibility with HAProxy and ignored by datadog-fips-proxy.")));
        return table.ToArray();
    }

    private static void SpreadChecks(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2 || !TryInt(a[1], out int n) || n < 0 || n > 50)
        {
            p.Alert($"'{a[0]}' needs a positive numeric value between 0 and 50.");
            return;
        }
        if (!p.TooMany(a, 2)) s.Values["SpreadChecks"] = Num(n);
    }

    /// <summary>
    /// HAProxy's words for a ratio out of range. HAProxy reads a word that is not a number as 0
    /// (atoi), which would silently disable idle pools; here it is the same error.
    /// </summary>
    private static void FdRatio(CfgParser p, CfgSection s, string[] a, string key)
    {
        if (a.Length < 2 || !TryInt(a[1], out int n) || n < 0 || n > 100)
        {
            p.Alert($"'{a[0]}' expects an integer argument between 0 and 100.");
            return;
        }
        if (!p.TooMany(a, 2)) s.Values[key] = Num(n);
    }

    /// <summary>
    /// HAProxy 2.6: the word alone means this host's name (gethostname(), not resolved). A second
    /// line is refused and the first kept, which HAProxy says as an alert that does not fail the
    /// file ("already specified. Continuing."); words after the name it ignores in silence. Both
    /// are warnings here, so that every file HAProxy takes still loads.
    /// </summary>
    private static void LogSendHostname(CfgParser p, CfgSection s, string[] a)
    {
        if (s.Values.ContainsKey("LogSendHostname"))
        {
            p.Warning($"'{a[0]}' already specified. Continuing.");
            return;
        }
        if (a.Length > 2) p.Warning($"'{a[0]}' ignores unexpected argument '{a[2]}'.");
        s.Values["LogSendHostname"] = a.Length > 1 ? a[1] : System.Net.Dns.GetHostName();
    }

    private static void GlobalMaxConn(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2 || !TryInt(a[1], out int n)) { p.Alert($"'{a[0]}' expects an integer argument."); return; }
        if (p.TooMany(a, 2)) return;
        s.Values["MaxConn"] = Num(n);
    }

    private static void HardStopAfter(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2) { p.Alert($"'{a[0]}' expects <time> as argument."); return; }
        var ms = ParseTime(a[1], a[0], out var err);
        if (ms is null) { p.Alert(err!); return; }
        if (p.TooMany(a, 2)) return;
        s.Values["HardStopAfter"] = Num(ms.Value);
    }

    private static void GlobalStats(CfgParser p, CfgSection s, string[] a)
    {
        string sub = a.Length > 1 ? a[1] : "";
        if (sub is "timeout" or "maxconn") return;
        if (sub != "socket")
        {
            p.Alert("'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' in 'global' section.");
            return;
        }
        if (a.Length < 3) { p.Alert("'stats socket' requires a path or an address"); return; }
        var socket = new Keys
        {
            ["Path"] = CfgLexer.EnvExpand(a[2], p.GetEnv),
            ["File"] = p.File,
            ["Line"] = Num(p.Line),
        };
        for (int i = 3; i < a.Length; i++)
        {
            switch (a[i])
            {
                case "mode" or "level" or "user" or "group" or "uid" or "gid" or "expose-fd" or "name" or "process":
                    if (i + 1 >= a.Length) { p.Alert($"'stats socket' : missing argument for '{a[i]}'."); return; }
                    if (a[i] == "mode") socket["Mode"] = a[i + 1];
                    if (a[i] == "level")
                    {
                        if (a[i + 1] is not ("user" or "operator" or "admin"))
                        {
                            p.Alert($"'level' only supports 'user', 'operator', and 'admin' (got '{a[i + 1]}').");
                            return;
                        }
                        socket["Level"] = a[i + 1];
                    }
                    i++;
                    break;
                default:
                    p.Alert($"'stats socket' : unknown keyword '{a[i]}'.");
                    return;
            }
        }
        s.StatsSockets.Add(socket);
    }

    private static void SetEnv(CfgParser p, string[] a, bool overwrite)
    {
        if (a.Length != 3) { p.Alert($"'{a[0]}' expects exactly 2 arguments."); return; }
        if (overwrite || p.Env.Get(a[1]) is null) p.Env.Set(a[1], a[2]);
    }

    private static void UnsetEnv(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2) { p.Alert($"'{a[0]}' expects at least one variable name."); return; }
        foreach (var name in a.Skip(1)) p.Env.Unset(name);
    }

    private static void GlobalString(CfgParser p, CfgSection s, string[] a, string key)
    {
        if (a.Length < 2) { p.Alert($"global statement '{a[0]}' expects a cipher suite as an argument."); return; }
        if (p.TooMany(a, 2)) return;
        s.Values[key] = a[1];
    }

    private static void GlobalSslOptions(CfgParser p, CfgSection s, string[] a, string key, bool server)
    {
        var words = new List<string>();
        for (int i = 1; i < a.Length; i++)
        {
            string w = a[i];
            if (w is "ssl-min-ver" or "ssl-max-ver")
            {
                if (i + 1 >= a.Length || SslVersionIndex(a[i + 1]) < 0)
                {
                    p.Alert($"global statement '{a[0]}' : '{w}' expects one of 'SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2' or 'TLSv1.3'.");
                    return;
                }
                words.Add(w); words.Add(a[++i]);
                continue;
            }
            bool known = SslVersionWord(w) || w == "no-tls-tickets"
                         || (!server && w is "prefer-client-ciphers" or "strict-sni" or "no-alpn" or "allow-0rtt");
            if (!known)
            {
                p.Alert($"unknown option '{w}' on global statement '{a[0]}'.");
                return;
            }
            words.Add(w);
        }
        if (server) p.GlobalServerSslWords.AddRange(words);
        var existing = s.Values.TryGetValue(key + ":Words", out var w0) ? w0 + " " : "";
        s.Values[key + ":Words"] = (existing + string.Join(' ', words)).Trim();
    }

    private static void SslServerVerify(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2 || a[1] is not ("none" or "required"))
        {
            p.Alert($"'{a[0]}' expects 'none' or 'required' as argument.");
            return;
        }
        if (p.TooMany(a, 2)) return;
        p.DefaultVerify = a[1] == "none" ? "None" : "Required";
    }

    private static void DefaultPath(CfgParser p, CfgSection s, string[] a)
    {
        string kind = a.Length > 1 ? a[1] : "";
        switch (kind)
        {
            case "current" when a.Length == 2: p.DefaultPathBase = Directory.GetCurrentDirectory(); break;
            case "config" when a.Length == 2: p.DefaultPathBase = p.CfgDirectory; break;
            case "parent" when a.Length == 2: p.DefaultPathBase = Path.GetDirectoryName(p.CfgDirectory) ?? "/"; break;
            case "origin" when a.Length == 3: p.DefaultPathBase = Path.GetFullPath(a[2]); break;
            default:
                p.Alert($"'{a[0]}' expects either 'current', 'config', 'parent' or 'origin' and optionally a path to append.");
                break;
        }
    }

    private static void CaBaseKeyword(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length != 2) { p.Alert($"'{a[0]}' expects a directory path as an argument."); return; }
        if (p.CaBase is not null) { p.Alert($"'{a[0]}' already specified. Continuing."); return; }
        p.CaBase = p.ResolvePath(a[1]);
    }

    // ---- SSL/TLS version words, shared with server lines ----

    private static readonly string[] SslVersions = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
    private static readonly string[] VersionSuffixes = ["sslv3", "tlsv10", "tlsv11", "tlsv12", "tlsv13"];

    public static int SslVersionIndex(string name) => Array.IndexOf(SslVersions, name);

    public static bool SslVersionWord(string w) =>
        (w.StartsWith("no-", StringComparison.Ordinal) && Array.IndexOf(VersionSuffixes, w[3..]) >= 0)
        || (w.StartsWith("force-", StringComparison.Ordinal) && Array.IndexOf(VersionSuffixes, w[6..]) >= 0);

    /// <summary>
    /// Reduces option words to the contiguous version range OpenSSL takes: the lowest and highest
    /// version still enabled. Null/null when no word speaks of versions (library defaults apply).
    /// </summary>
    public static (string? Min, string? Max, bool NoTickets, string? Error) ReduceSslWords(IReadOnlyList<string> words)
    {
        var enabled = new bool[SslVersions.Length];
        Array.Fill(enabled, true);
        bool any = false, noTickets = false;
        int min = -1, max = -1;
        for (int i = 0; i < words.Count; i++)
        {
            string w = words[i];
            if (w == "no-tls-tickets") { noTickets = true; continue; }
            if (w is "ssl-min-ver" or "ssl-max-ver" && i + 1 < words.Count)
            {
                int v = SslVersionIndex(words[++i]);
                if (w == "ssl-min-ver") min = v; else max = v;
                any = true;
                continue;
            }
            if (w.StartsWith("no-", StringComparison.Ordinal) && Array.IndexOf(VersionSuffixes, w[3..]) is int n and >= 0)
            {
                enabled[n] = false; any = true;
            }
            else if (w.StartsWith("force-", StringComparison.Ordinal) && Array.IndexOf(VersionSuffixes, w[6..]) is int f and >= 0)
            {
                min = max = f; any = true;
            }
        }
        if (!any) return (null, null, noTickets, null);
        // As in HAProxy, ssl-min-ver/ssl-max-ver (and force-*) take precedence over the no-* words.
        if (min >= 0 || max >= 0)
        {
            int lo = min >= 0 ? min : 0, hi = max >= 0 ? max : SslVersions.Length - 1;
            if (lo > hi) return (null, null, noTickets, "ssl-min-ver is above ssl-max-ver");
            return (SslVersions[lo], SslVersions[hi], noTickets, null);
        }
        int first = Array.IndexOf(enabled, true), last = Array.LastIndexOf(enabled, true);
        if (first < 0) return (null, null, noTickets, "all SSL/TLS versions are disabled");
        return (SslVersions[first], SslVersions[last], noTickets, null);
    }

    // ---- resolvers section ----

    private static readonly Keyword[] ResolversKeywords =
    [
        new("nameserver", Where.All, "nameserver <name> <ip>:<port>: a DNS server to query", Nameserver),
        new("parse-resolv-conf", Where.All, "parse-resolv-conf: add the nameservers of /etc/resolv.conf",
            (p, s, a) => { if (!p.TooMany(a, 1)) s.Values["ParseResolvConf"] = "true"; }),
        new("resolve_retries", Where.All, "resolve_retries <n>: queries sent before giving up", (p, s, a) =>
        {
            if (a.Length < 2 || !TryInt(a[1], out int n)) { p.Alert($"'{a[0]}' expects <nb> as argument."); return; }
            if (!p.TooMany(a, 2)) s.Values["ResolveRetries"] = Num(n);
        }),
        new("timeout", Where.All, "timeout resolve|retry <time>: DNS timers", (p, s, a) =>
        {
            string what = a.Length > 1 ? a[1] : "";
            if (what is not ("resolve" or "retry"))
            {
                p.Alert($"'timeout' supports 'resolve' and 'retry' (got '{what}')");
                return;
            }
            if (a.Length < 3) { p.Alert($"'timeout {what}' expects <time> as argument."); return; }
            var ms = ParseTime(a[2], $"timeout {what}", out var err);
            if (ms is null) { p.Alert(err!); return; }
            if (!p.TooMany(a, 3)) s.Values[what == "resolve" ? "TimeoutResolve" : "TimeoutRetry"] = Num(ms.Value);
        }),
        new("hold", Where.All, "hold <status> <period>: how long a DNS answer of that status is kept", (p, s, a) =>
        {
            string status = a.Length > 1 ? a[1] : "";
            string? key = status switch
            {
                "nx" => "Nx", "other" => "Other", "refused" => "Refused", "timeout" => "Timeout", "valid" => "Valid", "obsolete" => "Obsolete", _ => null,
            };
            if (key is null)
            {
                p.Alert($"'hold' unknown <event>: '{status}', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'.");
                return;
            }
            if (a.Length < 3) { p.Alert("'hold' expects an <event> and a <time> as arguments."); return; }
            var ms = ParseTime(a[2], "hold", out var err);
            if (ms is null) { p.Alert(err!); return; }
            if (!p.TooMany(a, 3)) s.Values["Hold:" + key] = Num(ms.Value);
        }),
        new("accepted_payload_size", Where.All, "accepted_payload_size <n>: largest DNS answer over UDP (512..65535)", (p, s, a) =>
        {
            if (a.Length < 2 || !TryInt(a[1], out int n) || n < 512 || n > 65535)
            {
                p.Alert($"'{a[0]}' expects a value between 512 and 65535 (got '{(a.Length > 1 ? a[1] : "")}').");
                return;
            }
            if (!p.TooMany(a, 2)) s.Values["AcceptedPayloadSize"] = Num(n);
        }),
    ];

    private static void Nameserver(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 3) { p.Alert($"'{a[0]}' expects <name> and <addr>[:<port>] as arguments."); return; }
        if (p.TooMany(a, 3)) return;
        var dup = s.Nameservers.Find(n => n["Name"] == a[1]);
        if (dup is not null)
        {
            p.AlertText($"Parsing [{p.File}:{p.Line}]: nameserver '{a[1]}' has same name as another nameserver (declared at {dup["File"]}:{dup["Line"]}).");
            return;
        }
        if (!p.TryAddress(a[2], $"'nameserver {a[1]}'", portRequired: true, out string addr, out int port, out _)) return;
        s.Nameservers.Add(new Keys { ["Name"] = a[1], ["Address"] = addr, ["Port"] = Num(port), ["File"] = p.File, ["Line"] = Num(p.Line) });
    }
}
