using System.Globalization;
using System.Text;

namespace FipsAppliance.Configuration.Cfg;

/// <summary>
/// `-c --dump-config`: the bound model written back as a normalised cfg, every inherited and
/// default value spelled out. It reads only the bound objects, so in the published binary it shows
/// what the binding source generator produced under AOT.
/// </summary>
internal static class CfgDump
{
    public static string ToText(LoadedConfig loaded)
    {
        var sb = new StringBuilder();
        var c = loaded.Proxy;
        var a = loaded.Appliance;
        sb.Append("# appliance\n");
        sb.Append(CultureInfo.InvariantCulture, $"#   fips.openssl_conf {a.Fips.OpenSslConf ?? "(default)"}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#   fips.module {a.Fips.Module ?? "(default)"}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#   fips.module_conf {a.Fips.ModuleConf ?? "(default)"}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#   ports.local_address {a.Ports.LocalAddress ?? "(unset)"}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#   ports.range_start {a.Ports.RangeStart}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#   log.format {a.Log.Format.ToString().ToLowerInvariant()}\n");

        var g = c.Global;
        sb.Append("global\n");
        if (g.MaxConn > 0) Line(sb, $"maxconn {g.MaxConn}");
        if (g.LogTag is { } tag) Line(sb, $"log-tag {tag}");
        if (g.LogSendHostname is { } host) Line(sb, $"log-send-hostname {host}");
        if (g.HardStopAfter is int hsa) Line(sb, $"hard-stop-after {Ms(hsa)}");
        foreach (var l in g.Logs) Line(sb, LogText(l));
        foreach (var s in g.StatsSockets) Line(sb, $"stats socket {s.Path}{Opt("mode", s.Mode)}{Opt("level", s.Level)}");
        if (g.SslDefaultServerCiphers is { } ciphers) Line(sb, $"ssl-default-server-ciphers {ciphers}");
        if (g.SslDefaultServerCiphersuites is { } suites) Line(sb, $"ssl-default-server-ciphersuites {suites}");
        Line(sb, $"ssl-default-server-options {SslText(g.SslDefaultServerOptions)}");
        Line(sb, $"ssl-default-bind-options {SslText(g.SslDefaultBindOptions)}");

        foreach (var r in c.Resolvers)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nresolvers {r.Name}  # {r.File}:{r.Line}\n");
            foreach (var n in r.Nameservers) Line(sb, $"nameserver {n.Name} {HostPort(n.Address, n.Port)}");
            if (r.ParseResolvConf) Line(sb, "parse-resolv-conf");
            Line(sb, $"resolve_retries {r.ResolveRetries}");
            Line(sb, $"timeout resolve {r.TimeoutResolve}ms");
            Line(sb, $"timeout retry {r.TimeoutRetry}ms");
            var h = r.Hold;
            Line(sb, $"hold nx {h.Nx}ms other {h.Other}ms refused {h.Refused}ms timeout {h.Timeout}ms valid {h.Valid}ms obsolete {h.Obsolete}ms");
            Line(sb, $"accepted_payload_size {r.AcceptedPayloadSize}");
        }

        foreach (var p in c.Proxies)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n{p.Kind.ToString().ToLowerInvariant()} {p.Name}  # {p.File}:{p.Line}\n");
            Line(sb, $"mode {p.Mode.ToString().ToLowerInvariant()}");
            foreach (var b in p.Binds) Line(sb, $"bind {HostPort(b.Address, b.Port)}");
            if (p.MaxConn > 0) Line(sb, $"maxconn {p.MaxConn}");
            if (p.LogGlobal) Line(sb, "log global");
            foreach (var l in p.Logs) Line(sb, LogText(l));
            var o = p.Options;
            Line(sb, $"option dontlognull {OnOff(o.DontLogNull)} redispatch {OnOff(o.Redispatch)} tcplog {OnOff(o.TcpLog)} httplog {OnOff(o.HttpLog)}");
            var t = p.Timeouts;
            Line(sb, $"timeout client {Ms(t.Client)} server {Ms(t.Server)} connect {Ms(t.Connect)} http-request {Ms(t.HttpRequest)} http-keep-alive {Ms(t.HttpKeepAlive)} check {Ms(t.Check)} queue {Ms(t.Queue)}");
            if (p.Stats.Enable) Line(sb, $"stats enable uri {p.Stats.Uri}{(p.Stats.RefreshSeconds is int rs ? $" refresh {rs}s" : "")}");
            foreach (var acl in p.Acls)
                Line(sb, $"acl {acl.Name} {CfgValidator.CriterionWord(acl.Criterion)}{(acl.IgnoreCase ? " -i" : "")} -- {string.Join(' ', acl.Patterns)}");
            foreach (var u in p.UseBackends)
                Line(sb, $"use_backend {u.Backend}{(u.Condition.Length > 0 ? (u.Unless ? " unless " : " if ") + u.Condition : "")}");
            if (p.DefaultBackend is { } db) Line(sb, $"default_backend {db}");
            if (p.Kind != ProxyKind.Frontend)
            {
                Line(sb, $"balance {p.Balance.ToString().ToLowerInvariant()}");
                Line(sb, $"http-reuse {p.HttpReuse.ToString().ToLowerInvariant()}");
                Line(sb, $"retries {p.Retries}");
            }
            foreach (var s in p.Servers) Line(sb, ServerText(s));
        }
        return sb.ToString();
    }

    private static string ServerText(ServerLine s)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"server {s.Name} {HostPort(s.Address, s.Port)}");
        if (s.Template is { } t) sb.Append(CultureInfo.InvariantCulture, $" template {t}");
        if (s.Disabled) sb.Append(" disabled");
        sb.Append(CultureInfo.InvariantCulture, $" weight {s.Weight} maxconn {s.MaxConn}");
        sb.Append(CultureInfo.InvariantCulture, $" pool-max-conn {s.PoolMaxConn} pool-purge-delay {s.PoolPurgeDelay}ms pool-low-conn {s.PoolLowConn}");
        sb.Append(s.Check ? " check" : " no-check");
        sb.Append(CultureInfo.InvariantCulture, $" inter {s.Inter}ms fall {s.Fall} rise {s.Rise} port {s.CheckPort}");
        if (s.FastInter > 0) sb.Append(CultureInfo.InvariantCulture, $" fastinter {s.FastInter}ms");
        if (s.DownInter > 0) sb.Append(CultureInfo.InvariantCulture, $" downinter {s.DownInter}ms");
        if (s.CheckAddr is { } addr) sb.Append(CultureInfo.InvariantCulture, $" addr {HostPort(addr, s.CheckAddrPort)}");
        if (s.CheckSsl) sb.Append(" check-ssl");
        if (s.NoCheckSsl) sb.Append(" no-check-ssl");
        sb.Append(Opt("check-sni", s.CheckSni));
        sb.Append(s.Ssl ? " ssl" : " no-ssl");
        sb.Append(CultureInfo.InvariantCulture, $" verify {s.Verify.ToString().ToLowerInvariant()}");
        sb.Append(Opt("ca-file", s.CaFile)).Append(Opt("sni", s.Sni)).Append(Opt("verifyhost", s.VerifyHost));
        sb.Append(Opt("ciphers", s.Ciphers)).Append(Opt("ciphersuites", s.Ciphersuites));
        sb.Append(CultureInfo.InvariantCulture, $" ssl-options {SslText(s.SslOptions)}");
        sb.Append(Opt("resolvers", s.Resolvers));
        sb.Append(CultureInfo.InvariantCulture, $" init-addr {string.Join(',', s.InitAddr)} resolve-prefer {s.ResolvePrefer}");
        sb.Append(CultureInfo.InvariantCulture, $"  # {s.File}:{s.Line}");
        return sb.ToString();
    }

    private static string LogText(LogTarget l) =>
        $"log {l.Target}{(l.Len is int len ? $" len {len}" : "")}{Opt("format", l.Format)} {l.Facility}{(l.Level is null ? "" : " " + l.Level)}{(l.MinLevel is null ? "" : " " + l.MinLevel)}";

    private static string SslText(SslOptions o) =>
        $"[{o.MinVersion ?? "-"}..{o.MaxVersion ?? "-"}]{(o.NoTlsTickets ? " no-tls-tickets" : "")} ({string.Join(' ', o.Words)})";

    private static string HostPort(string address, int port) =>
        (address.Contains(':') ? $"[{address}]" : address) + (port > 0 ? ":" + port.ToString(CultureInfo.InvariantCulture) : "");

    private static string Opt(string name, string? value) => value is null ? "" : $" {name} {value}";
    private static string OnOff(bool v) => v ? "on" : "off";
    private static string Ms(int? v) => v is int ms ? ms.ToString(CultureInfo.InvariantCulture) + "ms" : "-";

    private static void Line(StringBuilder sb, string text) => sb.Append("    ").Append(text).Append('\n');
}
