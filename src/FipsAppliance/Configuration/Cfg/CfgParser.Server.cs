namespace FipsAppliance.Configuration.Cfg;

internal enum ServerLineKind { Server, Template, Default }

/// <summary>One server parameter: how many words it takes and what it sets. SslOption words also feed the version range.</summary>
internal sealed record ServerKeyword(string Name, int Args, string Help, Func<CfgParser, Keys, string[], string?> Apply, bool SslOption = false);

internal sealed partial class CfgParser
{
    private static readonly ServerKeyword[] ServerKeywords =
    [
        new("check", 0, "enable health checks", (p, k, v) => Set(k, "Check", "true")),
        new("no-check", 0, "disable health checks", (p, k, v) => Set(k, "Check", "false")),
        new("inter", 1, "<time>: interval between checks", (p, k, v) => Time(k, "Inter", v[0], "inter")),
        new("fall", 1, "<n>: failed checks before DOWN", (p, k, v) => Positive(k, "Fall", v[0], "fall")),
        new("rise", 1, "<n>: passed checks before UP", (p, k, v) => Positive(k, "Rise", v[0], "rise")),
        new("port", 1, "<port>: the port health checks go to", (p, k, v) =>
            TryInt(v[0], out int n) && n is > 0 and <= 65535 ? Set(k, "CheckPort", Num(n)) : "'port' expects a valid TCP port (from 1 to 65535) as argument."),
        new("check-ssl", 0, "run health checks over TLS", (p, k, v) => Set(k, "CheckSsl", "true") ?? Set(k, "NoCheckSsl", "false")),
        new("no-check-ssl", 0, "run health checks in clear", (p, k, v) => Set(k, "CheckSsl", "false") ?? Set(k, "NoCheckSsl", "true")),
        new("fastinter", 1, "<time>: interval between checks while the server changes state", (p, k, v) => Time(k, "FastInter", v[0], "fastinter")),
        new("downinter", 1, "<time>: interval between checks while the server is DOWN", (p, k, v) => Time(k, "DownInter", v[0], "downinter")),
        new("addr", 1, "<ip>[:<port>]: the address health checks go to", CheckAddr),
        new("check-sni", 1, "<name>: the SNI sent by TLS health checks", (p, k, v) => Set(k, "CheckSni", v[0])),
        new("ssl", 0, "TLS to the server", (p, k, v) => Set(k, "Ssl", "true")),
        new("no-ssl", 0, "no TLS to the server", (p, k, v) => Set(k, "Ssl", "false")),
        new("verify", 1, "none|required: verify the server's certificate", (p, k, v) => v[0] switch
        {
            "required" => Set(k, "Verify", "Required"),
            "none" => Set(k, "Verify", "None"),
            _ => $"'verify' : unknown verify method '{v[0]}', only 'none' and 'required' are supported.",
        }),
        new("ca-file", 1, "<file>: CA bundle that verifies the server", CaFile),
        new("sni", 1, "str(<name>): the server name sent in the TLS handshake", (p, k, v) =>
            v[0].StartsWith("str(", StringComparison.Ordinal) && v[0].EndsWith(')') && v[0].Length > 5
                ? Set(k, "Sni", v[0])
                : $"'sni' : only the constant expression str(<name>) is supported by datadog-fips-proxy (got '{v[0]}')."),
        new("verifyhost", 1, "<name>: the name the server's certificate must carry", (p, k, v) => Set(k, "VerifyHost", v[0])),
        new("ciphers", 1, "<list>: OpenSSL cipher list (TLS <= 1.2)", (p, k, v) => Set(k, "Ciphers", v[0])),
        new("ciphersuites", 1, "<list>: TLS 1.3 suites", (p, k, v) => Set(k, "Ciphersuites", v[0])),
        new("resolvers", 1, "<section>: the resolvers section that resolves this server", (p, k, v) => Set(k, "Resolvers", v[0])),
        new("init-addr", 1, "last,libc,none,<ip>: how the address is found at start-up", InitAddr),
        new("resolve-prefer", 1, "ipv4|ipv6: address family preferred in DNS answers", (p, k, v) =>
            v[0] is "ipv4" or "ipv6" ? Set(k, "ResolvePrefer", v[0]) : "'resolve-prefer' expects either ipv4 or ipv6 as argument.."),
        new("maxconn", 1, "<n>: concurrent connections to this server", (p, k, v) =>
            TryInt(v[0], out int n) ? Set(k, "MaxConn", Num(n)) : "'maxconn' expects an integer argument."),
        new("weight", 1, "<0-256>: share of the load", (p, k, v) =>
            TryInt(v[0], out int n) && n <= 256 ? Set(k, "Weight", Num(n)) : $"'weight' expects an integer between 0 and 256 (got '{v[0]}')."),
        new("pool-max-conn", 1, "<n>: most idle connections kept for other sessions (-1: no fixed bound)", (p, k, v) =>
            !int.TryParse(v[0], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int n)
                ? "'pool-max-conn' expects an integer argument."
                : n < -1 ? "'pool-max-conn' must be >= -1." : Set(k, "PoolMaxConn", Num(n))),
        new("pool-purge-delay", 1, "<time>: how often idle connections beyond recent need are halved (0: keep none)", (p, k, v) =>
            ParseTime(v[0], "pool-purge-delay", out var error) is int ms ? Set(k, "PoolPurgeDelay", Num(ms))
                : v[0].Length > 0 && !char.IsAsciiDigit(v[0][0]) ? $"unexpected character '{v[0][0]}' in argument to <pool-purge-delay>." : error),
        new("pool-low-conn", 1, "<n>: idle connections kept beyond the recent need", (p, k, v) =>
            TryInt(v[0], out int n) ? Set(k, "PoolLowConn", Num(n)) : "'pool-low-conn' expects an integer argument >= 0."),
        new("disabled", 0, "start in maintenance", (p, k, v) => Set(k, "Disabled", "true")),
        new("enabled", 0, "start enabled", (p, k, v) => Set(k, "Disabled", "false")),
        new("ssl-min-ver", 1, "SSLv3|TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3: lowest version", SslWordWithVersion, SslOption: true),
        new("ssl-max-ver", 1, "SSLv3|TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3: highest version", SslWordWithVersion, SslOption: true),
        new("no-sslv3", 0, "disable SSLv3", SslWord, SslOption: true), new("no-tlsv10", 0, "disable TLS 1.0", SslWord, SslOption: true),
        new("no-tlsv11", 0, "disable TLS 1.1", SslWord, SslOption: true), new("no-tlsv12", 0, "disable TLS 1.2", SslWord, SslOption: true),
        new("no-tlsv13", 0, "disable TLS 1.3", SslWord, SslOption: true), new("no-tls-tickets", 0, "no session tickets", SslWord, SslOption: true),
        new("force-tlsv12", 0, "TLS 1.2 only", SslWord, SslOption: true), new("force-tlsv13", 0, "TLS 1.3 only", SslWord, SslOption: true),
    ];

    private static string? Set(Keys k, string key, string value)
    {
        k[key] = value;
        return null;
    }

    private static string? Time(Keys k, string key, string text, string what)
    {
        var ms = ParseTime(text, what, out _);
        if (ms is null or 0) return $"'{what}' expects a delay as argument.";
        return Set(k, key, Num(ms.Value));
    }

    private static string? Positive(Keys k, string key, string text, string what) =>
        TryInt(text, out int n) && n > 0 ? Set(k, key, Num(n)) : $"'{what}' expects an integer argument > 0.";

    private static string? SslWord(CfgParser p, Keys k, string[] v) => null; // collected by ParseServer

    private static string? SslWordWithVersion(CfgParser p, Keys k, string[] v) =>
        SslVersionIndex(v[0]) < 0 ? $"'{v[0]}' : unknown ssl/tls version." : null;

    private static string? CaFile(CfgParser p, Keys k, string[] v)
    {
        string path = p.ResolvePath(v[0], p.CaBase);
        if (!System.IO.File.Exists(path))
            return $"Couldn't open the ca-file '{v[0]}' (No such file or directory).";
        return Set(k, "CaFile", path);
    }

    // HAProxy resolves a host name given to `addr` at parse time; checks here go to IP literals only,
    // so that nothing blocks on DNS after start-up.
    private static string? CheckAddr(CfgParser p, Keys k, string[] v)
    {
        string text = v[0], host = text;
        int port = 0;
        int colon = text.LastIndexOf(':');
        if (text.StartsWith('[') && text.IndexOf(']') is int close and > 0)
        {
            host = text[1..close];
            if (close + 1 < text.Length && (text[close + 1] != ':' || !TryInt(text[(close + 2)..], out port))) port = -1;
        }
        else if (colon > 0 && text.IndexOf(':') == colon)
        {
            host = text[..colon];
            if (!TryInt(text[(colon + 1)..], out port)) port = -1;
        }
        if (!System.Net.IPAddress.TryParse(host, out _))
            return $"'addr' : '{text}' is not an IPv4 or IPv6 address (datadog-fips-proxy sends checks to IP literals only).";
        if (port is < 0 or > 65535) return $"'addr' : invalid port in '{text}'.";
        Set(k, "CheckAddr", host);
        return Set(k, "CheckAddrPort", Num(port));
    }

    private static string? InitAddr(CfgParser p, Keys k, string[] v)
    {
        foreach (var method in v[0].Split(','))
        {
            if (method is "last" or "libc" or "none" || System.Net.IPAddress.TryParse(method, out _)) continue;
            return $"'init-addr' : unknown init-addr method '{method}', supported methods are 'libc', 'last', 'none'..";
        }
        return Set(k, "InitAddr", v[0]);
    }

    private void ParseServer(CfgSection s, string[] a, ServerLineKind kind)
    {
        int first; // index of the first parameter
        string name = "", address = "";
        int port = 0;
        int from = 1, to = 1;
        if (kind == ServerLineKind.Server)
        {
            if (a.Length < 3) { AlertAt("'server' expects <name> and <addr>[:<port>] as arguments."); return; }
            name = a[1];
            if (!TryAddress(a[2], $"'server {s.Name}/{name}'", portRequired: false, out address, out port, out _)) return;
            first = 3;
        }
        else if (kind == ServerLineKind.Template)
        {
            if (a.Length < 4) { AlertAt("'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments."); return; }
            name = a[1];
            if (!TryTemplateRange(a[2], out from, out to)) { AlertAt($"Wrong server-template number or range arg '{a[2]}'."); return; }
            if (!TryAddress(a[3], $"'server-template {s.Name}/{name}'", portRequired: false, out address, out port, out _)) return;
            first = 4;
        }
        else first = 1;

        // A server starts as a copy of the default-server settings in force (HAProxy's srv_settings_cpy).
        var target = kind == ServerLineKind.Default ? s.DefaultServer : new Keys(s.DefaultServer);
        var sslWords = new List<string>();
        string who = kind == ServerLineKind.Default ? "'default-server'" : $"'{a[0]} {s.Name}/{name}'";
        for (int i = first; i < a.Length; i++)
        {
            ServerKeyword? kw = null;
            foreach (var candidate in ServerKeywords)
                if (candidate.Name == a[i]) { kw = candidate; break; }
            if (kw is null)
            {
                AlertAt($"{who} : unknown keyword '{a[i]}'{Suggest(a[i], ServerKeywords.Select(x => x.Name))}.".Replace(" ?.", " ?"));
                return;
            }
            if (i + kw.Args >= a.Length)
            {
                AlertAt($"{who} : '{kw.Name}' expects an argument.");
                return;
            }
            var values = a[(i + 1)..(i + 1 + kw.Args)];
            string? error = kw.Apply(this, target, values);
            if (error is not null) { AlertAt($"{who} : {error}"); return; }
            if (kw.SslOption)
            {
                sslWords.Add(kw.Name);
                sslWords.AddRange(values);
            }
            i += kw.Args;
        }
        if (sslWords.Count > 0)
            target["SslWords"] = target.TryGetValue("SslWords", out var before) ? before + " " + string.Join(' ', sslWords) : string.Join(' ', sslWords);
        if (kind == ServerLineKind.Default) return;

        target["Address"] = address;
        if (port != 0) target["Port"] = Num(port);
        target["File"] = File;
        target["Line"] = Num(Line);
        for (int id = from; id <= to; id++)
        {
            var server = new Keys(target);
            if (kind == ServerLineKind.Template)
            {
                server["Name"] = name + Num(id);
                server["Template"] = name;
            }
            else server["Name"] = name;
            var dup = s.Servers.Find(x => x["Name"] == server["Name"]);
            if (dup is not null)
            {
                Alert($"{s.KindWord} '{s.Name}', another server named '{server["Name"]}' was already defined at line {dup["Line"]}, please use distinct names.");
                continue;
            }
            s.Servers.Add(server);
        }
    }

    private static bool TryTemplateRange(string text, out int from, out int to)
    {
        from = 1;
        int dash = text.IndexOf('-');
        if (dash < 0) return TryInt(text, out to) && to > 0;
        to = 0;
        return TryInt(text[..dash], out from) && TryInt(text[(dash + 1)..], out to) && from > 0 && to >= from;
    }
}
