namespace FipsAppliance.Configuration;

// What the user wrote, validated and bound: the whole .cfg file plus the appliance settings.
//
// These types are the binding targets of the configuration binding source generator, so they
// follow its rules: classes with public init-only properties, arrays (never IReadOnlyList: the
// generator silently skips init-only interface collections), enums bound from their names.
// Nothing here is alive: listeners, server state and connection pools live in the runtime model
// built from this, so a reload can bind a new ProxyConfig and swap the live model without
// touching connections in flight.
//
// The cfg parser (Configuration/Cfg) resolves everything HAProxy resolves at parse time before
// binding: `defaults` sections are copied into each proxy, `default-server` into each server,
// `server-template` is expanded into its servers, relative paths are made absolute per
// `default-path`, times are in milliseconds.

/// <summary>The root bound from the cfg provider.</summary>
public sealed class ProxyConfig
{
    public GlobalSection Global { get; init; } = new();

    /// <summary>frontend, backend and listen sections in file order.</summary>
    public ProxySection[] Proxies { get; init; } = [];

    public ResolversSection[] Resolvers { get; init; } = [];
}

/// <summary>Where a line came from, for `[file:line]` in messages after parsing.</summary>
public interface ISourceLine
{
    string File { get; }
    int Line { get; }
}

public sealed class GlobalSection
{
    /// <summary>`maxconn`: process-wide limit on concurrent client connections; 0 = not set.</summary>
    public int MaxConn { get; init; }

    /// <summary>`log` lines of the global section (proxies with `log global` use them).</summary>
    public LogTarget[] Logs { get; init; } = [];

    public StatsSocket[] StatsSockets { get; init; } = [];

    /// <summary>`ssl-default-server-ciphers`: OpenSSL cipher list for TLS 1.2 and below.</summary>
    public string? SslDefaultServerCiphers { get; init; }

    /// <summary>`ssl-default-server-ciphersuites`: TLS 1.3 suites.</summary>
    public string? SslDefaultServerCiphersuites { get; init; }

    public SslOptions SslDefaultServerOptions { get; init; } = new();

    public SslOptions SslDefaultBindOptions { get; init; } = new();
}

/// <summary>One `log` line: `log <target> [len <n>] [format <f>] <facility> [<level> [<minlevel>]]`, or `log global`.</summary>
public sealed class LogTarget : ISourceLine
{
    /// <summary>`stdout`, `stderr`, an `ip[:port]` (UDP syslog, port 514 by default) or a unix socket path.</summary>
    public string Target { get; init; } = "";
    public string Facility { get; init; } = "local0";
    /// <summary>Highest severity name sent (emerg..debug); null = all.</summary>
    public string? Level { get; init; }
    public string? MinLevel { get; init; }
    /// <summary>`format`: rfc3164 (default), rfc5424, short, raw, ...</summary>
    public string? Format { get; init; }
    public string File { get; init; } = "";
    public int Line { get; init; }
}

/// <summary>`stats socket <path> [mode <m>] [level <l>] ...`.</summary>
public sealed class StatsSocket : ISourceLine
{
    public string Path { get; init; } = "";
    public string? Mode { get; init; }
    public string? Level { get; init; }
    public string File { get; init; } = "";
    public int Line { get; init; }
}

/// <summary>
/// `ssl-default-server-options` / `ssl-default-bind-options` / per-server options, reduced to what
/// OpenSSL takes: the `no-sslv3 no-tlsv10 ...` and `ssl-min-ver`/`ssl-max-ver` words become a
/// contiguous version range. Versions are "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3".
/// </summary>
public sealed class SslOptions
{
    public string? MinVersion { get; init; }
    public string? MaxVersion { get; init; }
    public bool NoTlsTickets { get; init; }
    /// <summary>The words as written, for messages and `fips-status`.</summary>
    public string[] Words { get; init; } = [];
}

public enum ProxyKind { Frontend, Backend, Listen }

public enum ProxyMode { Tcp, Http }

public enum BalanceAlgorithm { RoundRobin, First, LeastConn }

/// <summary>A `frontend`, `backend` or `listen` section after `defaults` were applied.</summary>
public sealed class ProxySection : ISourceLine
{
    public string Name { get; init; } = "";
    public ProxyKind Kind { get; init; }
    public string File { get; init; } = "";
    /// <summary>Line of the section header.</summary>
    public int Line { get; init; }

    /// <summary>HAProxy's default when no `mode` is given anywhere is tcp.</summary>
    public ProxyMode Mode { get; init; } = ProxyMode.Tcp;

    public BindLine[] Binds { get; init; } = [];

    /// <summary>`maxconn` of a frontend/listen; 0 = not set.</summary>
    public int MaxConn { get; init; }

    /// <summary>`log global` was given (or inherited from defaults).</summary>
    public bool LogGlobal { get; init; }
    public LogTarget[] Logs { get; init; } = [];

    public ProxyOptions Options { get; init; } = new();
    public ProxyTimeouts Timeouts { get; init; } = new();

    // --- frontend side ---
    public string? DefaultBackend { get; init; }
    public string? DefaultBackendFile { get; init; }
    public int DefaultBackendLine { get; init; }
    /// <summary>Named and anonymous ACLs. Anonymous `{ ... }` ones get a generated name starting with '{'.</summary>
    public AclLine[] Acls { get; init; } = [];
    public UseBackendRule[] UseBackends { get; init; } = [];
    public StatsSettings Stats { get; init; } = new();

    // --- backend side ---
    public BalanceAlgorithm Balance { get; init; } = BalanceAlgorithm.RoundRobin;
    /// <summary>`retries`: connection attempts after the first. HAProxy's default is 3.</summary>
    public int Retries { get; init; } = 3;
    /// <summary>`server` lines and expanded `server-template` slots, in order.</summary>
    public ServerLine[] Servers { get; init; } = [];
}

public sealed class ProxyOptions
{
    public bool DontLogNull { get; init; }
    public bool Redispatch { get; init; }
    public bool TcpLog { get; init; }
    public bool HttpLog { get; init; }
}

/// <summary>Timeouts in milliseconds; null = not set (HAProxy then waits forever, and warns).</summary>
public sealed class ProxyTimeouts
{
    public int? Client { get; init; }
    public int? Server { get; init; }
    public int? Connect { get; init; }
    public int? HttpRequest { get; init; }
    public int? HttpKeepAlive { get; init; }
    public int? Check { get; init; }
    public int? Queue { get; init; }
}

/// <summary>One address of a `bind` line (a line with `a:1,b:2` gives several).</summary>
public sealed class BindLine : ISourceLine
{
    /// <summary>As written after ${VAR} expansion: an IPv4/IPv6 literal, a host name, or "*" / "" for any.</summary>
    public string Address { get; init; } = "";
    public int Port { get; init; }
    public string File { get; init; } = "";
    public int Line { get; init; }
}

public enum AclCriterion { Path, PathBeg, PathEnd }

/// <summary>`acl <name> <criterion> [-i] [--] <pattern> ...` (lines with the same name are ORed).</summary>
public sealed class AclLine : ISourceLine
{
    public string Name { get; init; } = "";
    public AclCriterion Criterion { get; init; }
    public bool IgnoreCase { get; init; }
    public string[] Patterns { get; init; } = [];
    public string File { get; init; } = "";
    public int Line { get; init; }
}

/// <summary>
/// `use_backend <backend> if|unless <condition>`. The condition is kept in HAProxy's own form,
/// normalised: ACL names (anonymous ones replaced by their generated names), `!` glued to the
/// name it negates, `||` between alternatives; e.g. "is_api !is_flare || {anon-12-1}".
/// </summary>
public sealed class UseBackendRule : ISourceLine
{
    public string Backend { get; init; } = "";
    public bool Unless { get; init; }
    public string Condition { get; init; } = "";
    public string File { get; init; } = "";
    public int Line { get; init; }
}

/// <summary>`stats enable`, `stats uri` (and friends) of a listen/frontend/backend.</summary>
public sealed class StatsSettings
{
    public bool Enable { get; init; }
    /// <summary>HAProxy's default is "/haproxy?stats".</summary>
    public string Uri { get; init; } = "/haproxy?stats";
    public int? RefreshSeconds { get; init; }
}

public enum VerifyMode { Required, None }

/// <summary>
/// A `server` line, or one slot of a `server-template`, with `default-server` applied.
/// </summary>
public sealed class ServerLine : ISourceLine
{
    public string Name { get; init; } = "";
    /// <summary>Host name or IP literal as written (without the port).</summary>
    public string Address { get; init; } = "";
    /// <summary>0 when the line gave no port (HAProxy then uses the client's destination port).</summary>
    public int Port { get; init; }
    /// <summary>Set for slots of a `server-template`: its prefix; all slots share Address.</summary>
    public string? Template { get; init; }
    public string File { get; init; } = "";
    public int Line { get; init; }

    public bool Disabled { get; init; }
    public int MaxConn { get; init; }
    public int Weight { get; init; } = 1;

    // --- health checks ---
    public bool Check { get; init; }
    /// <summary>ms between checks; HAProxy's default 2000.</summary>
    public int Inter { get; init; } = 2000;
    public int Fall { get; init; } = 3;
    public int Rise { get; init; } = 2;
    /// <summary>`port`: the port checks go to; 0 = the server's port.</summary>
    public int CheckPort { get; init; }
    public bool CheckSsl { get; init; }

    // --- TLS to the server ---
    public bool Ssl { get; init; }
    public VerifyMode Verify { get; init; } = VerifyMode.Required;
    /// <summary>Absolute path of the CA bundle (resolved with default-path).</summary>
    public string? CaFile { get; init; }
    /// <summary>`sni` as written: a sample expression, only `str(<name>)` is supported.</summary>
    public string? Sni { get; init; }
    /// <summary>`verifyhost`: the name the certificate must carry.</summary>
    public string? VerifyHost { get; init; }
    public string? Ciphers { get; init; }
    public string? Ciphersuites { get; init; }
    /// <summary>Server-line ssl options merged over ssl-default-server-options.</summary>
    public SslOptions SslOptions { get; init; } = new();

    // --- DNS ---
    public string? Resolvers { get; init; }
    /// <summary>`init-addr` methods in order: last, libc, none, or IP literals. Default "last,libc".</summary>
    public string[] InitAddr { get; init; } = ["last", "libc"];
    /// <summary>"ipv4" or "ipv6" (HAProxy's default).</summary>
    public string ResolvePrefer { get; init; } = "ipv6";
}

/// <summary>A `resolvers` section.</summary>
public sealed class ResolversSection : ISourceLine
{
    public string Name { get; init; } = "";
    public string File { get; init; } = "";
    public int Line { get; init; }
    public Nameserver[] Nameservers { get; init; } = [];
    public bool ParseResolvConf { get; init; }
    public int ResolveRetries { get; init; } = 3;
    /// <summary>ms; HAProxy's defaults: resolve 1s, retry 1s.</summary>
    public int TimeoutResolve { get; init; } = 1000;
    public int TimeoutRetry { get; init; } = 1000;
    /// <summary>`hold <status> <period>`: ms per status (nx, other, refused, timeout, valid, obsolete).</summary>
    public ResolverHold Hold { get; init; } = new();
    public int AcceptedPayloadSize { get; init; } = 512;
}

public sealed class Nameserver : ISourceLine
{
    public string Name { get; init; } = "";
    public string Address { get; init; } = "";
    public int Port { get; init; } = 53;
    public string File { get; init; } = "";
    public int Line { get; init; }
}

public sealed class ResolverHold
{
    public int Nx { get; init; } = 30000;
    public int Other { get; init; } = 30000;
    public int Refused { get; init; } = 30000;
    public int Timeout { get; init; } = 30000;
    public int Valid { get; init; } = 10000;
    public int Obsolete { get; init; } = 0;
}
