namespace FipsAppliance.Configuration;

// What the user wrote, validated and bound: the whole .cfg file plus the appliance settings.
//
// These types are the binding targets of the configuration binding source generator, so they
// follow its rules: classes with public settable properties, arrays, enums bound from their names.
// Two traps measured on Microsoft.Extensions.Configuration.Binder 10.0.12 (read the generated
// BindingExtensions.g.cs): an init-only property is never assigned (the generator binds into a
// temporary and drops it, with no SYSLIB warning), so these are `set`, and treated as read-only
// by convention after binding; an array is bound by APPENDING to its initial value, so every array
// here starts empty and the cfg parser writes the full value (e.g. ServerLine.InitAddr).
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
    public GlobalSection Global { get; set; } = new();

    /// <summary>frontend, backend and listen sections in file order.</summary>
    public ProxySection[] Proxies { get; set; } = [];

    public ResolversSection[] Resolvers { get; set; } = [];
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
    public int MaxConn { get; set; }

    /// <summary>`log` lines of the global section (proxies with `log global` use them).</summary>
    public LogTarget[] Logs { get; set; } = [];

    /// <summary>`log-tag`: the tag of syslog lines; null = the program name.</summary>
    public string? LogTag { get; set; }

    /// <summary>`log-send-hostname`: the host name syslog headers carry (rfc3164, rfc5424 and the default format); null = not set.</summary>
    public string? LogSendHostname { get; set; }

    /// <summary>`hard-stop-after`: how long connections in flight may take to finish at stop or reload (ms); null = not set.</summary>
    public int? HardStopAfter { get; set; }

    public StatsSocket[] StatsSockets { get; set; } = [];

    /// <summary>`ssl-default-server-ciphers`: OpenSSL cipher list for TLS 1.2 and below.</summary>
    public string? SslDefaultServerCiphers { get; set; }

    /// <summary>`ssl-default-server-ciphersuites`: TLS 1.3 suites.</summary>
    public string? SslDefaultServerCiphersuites { get; set; }

    public SslOptions SslDefaultServerOptions { get; set; } = new();

    public SslOptions SslDefaultBindOptions { get; set; } = new();

    /// <summary>`spread-checks`: 0..50, the percentage of random jitter added to every check interval.</summary>
    public int SpreadChecks { get; set; }

    /// <summary>`tune.pool-low-fd-ratio`: 0..100, the percentage of usable descriptors in use from which a server keeps only its first idle connection.</summary>
    public int PoolLowFdRatio { get; set; } = Upstream.PoolFdThresholds.DefaultLowRatio;

    /// <summary>`tune.pool-high-fd-ratio`: 0..100, the percentage from which no idle connection is kept and new server connections close idle ones.</summary>
    public int PoolHighFdRatio { get; set; } = Upstream.PoolFdThresholds.DefaultHighRatio;
}

/// <summary>One `log` line: `log <target> [len <n>] [format <f>] <facility> [<level> [<minlevel>]]`, or `log global`.</summary>
public sealed class LogTarget : ISourceLine
{
    /// <summary>`stdout`, `stderr`, an `ip[:port]` (UDP syslog, port 514 by default) or a unix socket path.</summary>
    public string Target { get; set; } = "";
    public string Facility { get; set; } = "local0";
    /// <summary>Highest severity name sent (emerg..debug); null = all.</summary>
    public string? Level { get; set; }
    public string? MinLevel { get; set; }
    /// <summary>`format`: rfc3164 (default), rfc5424, short, raw, ...</summary>
    public string? Format { get; set; }
    /// <summary>`len`: longest line sent, header included (HAProxy's default is 1024); null = not set.</summary>
    public int? Len { get; set; }
    public string File { get; set; } = "";
    public int Line { get; set; }
}

/// <summary>`stats socket <path> [mode <m>] [level <l>] ...`.</summary>
public sealed class StatsSocket : ISourceLine
{
    public string Path { get; set; } = "";
    public string? Mode { get; set; }
    public string? Level { get; set; }
    public string File { get; set; } = "";
    public int Line { get; set; }
}

/// <summary>
/// `ssl-default-server-options` / `ssl-default-bind-options` / per-server options, reduced to what
/// OpenSSL takes: the `no-sslv3 no-tlsv10 ...` and `ssl-min-ver`/`ssl-max-ver` words become a
/// contiguous version range. Versions are "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3".
/// </summary>
public sealed class SslOptions
{
    public string? MinVersion { get; set; }
    public string? MaxVersion { get; set; }
    public bool NoTlsTickets { get; set; }
    /// <summary>The words as written, for messages and `fips-status`.</summary>
    public string[] Words { get; set; } = [];
}

public enum ProxyKind { Frontend, Backend, Listen }

public enum ProxyMode { Tcp, Http }

public enum BalanceAlgorithm { RoundRobin, First, LeastConn }

/// <summary>
/// `http-reuse` (HAProxy 2.6): never, idle connections stay with their session; safe, a session's
/// later requests may take another's; aggressive, its first request too, but only a connection
/// that has carried two requests or more (the server is known to keep connections open); always,
/// its first request may take any.
/// </summary>
public enum HttpReuse { Never, Safe, Aggressive, Always }

/// <summary>A `frontend`, `backend` or `listen` section after `defaults` were applied.</summary>
public sealed class ProxySection : ISourceLine
{
    public string Name { get; set; } = "";
    public ProxyKind Kind { get; set; }
    public string File { get; set; } = "";
    /// <summary>Line of the section header.</summary>
    public int Line { get; set; }

    /// <summary>HAProxy's default when no `mode` is given anywhere is tcp.</summary>
    public ProxyMode Mode { get; set; } = ProxyMode.Tcp;

    public BindLine[] Binds { get; set; } = [];

    /// <summary>`maxconn` of a frontend/listen; 0 = not set.</summary>
    public int MaxConn { get; set; }

    /// <summary>`log global` was given (or inherited from defaults).</summary>
    public bool LogGlobal { get; set; }
    public LogTarget[] Logs { get; set; } = [];

    public ProxyOptions Options { get; set; } = new();
    public ProxyTimeouts Timeouts { get; set; } = new();

    // --- frontend side ---
    public string? DefaultBackend { get; set; }
    public string? DefaultBackendFile { get; set; }
    public int DefaultBackendLine { get; set; }
    /// <summary>Named and anonymous ACLs. Anonymous `{ ... }` ones get a generated name starting with '{'.</summary>
    public AclLine[] Acls { get; set; } = [];
    public UseBackendRule[] UseBackends { get; set; } = [];
    public StatsSettings Stats { get; set; } = new();

    // --- backend side ---
    public BalanceAlgorithm Balance { get; set; } = BalanceAlgorithm.RoundRobin;
    /// <summary>`http-reuse`: which requests may take another session's idle server connection. HAProxy 2.6's default is safe.</summary>
    public HttpReuse HttpReuse { get; set; } = HttpReuse.Safe;
    /// <summary>`retries`: connection attempts after the first. HAProxy's default is 3.</summary>
    public int Retries { get; set; } = 3;
    /// <summary>`server` lines and expanded `server-template` slots, in order.</summary>
    public ServerLine[] Servers { get; set; } = [];
}

public sealed class ProxyOptions
{
    public bool DontLogNull { get; set; }
    public bool Redispatch { get; set; }
    public bool TcpLog { get; set; }
    public bool HttpLog { get; set; }
}

/// <summary>Timeouts in milliseconds; null = not set (HAProxy then waits forever, and warns).</summary>
public sealed class ProxyTimeouts
{
    public int? Client { get; set; }
    public int? Server { get; set; }
    public int? Connect { get; set; }
    public int? HttpRequest { get; set; }
    public int? HttpKeepAlive { get; set; }
    public int? Check { get; set; }
    public int? Queue { get; set; }
}

/// <summary>One address of a `bind` line (a line with `a:1,b:2` gives several).</summary>
public sealed class BindLine : ISourceLine
{
    /// <summary>As written after ${VAR} expansion: an IPv4/IPv6 literal, a host name, or "*" / "" for any.</summary>
    public string Address { get; set; } = "";
    public int Port { get; set; }
    public string File { get; set; } = "";
    public int Line { get; set; }
}

public enum AclCriterion { Path, PathBeg, PathEnd }

/// <summary>`acl <name> <criterion> [-i] [--] <pattern> ...` (lines with the same name are ORed).</summary>
public sealed class AclLine : ISourceLine
{
    public string Name { get; set; } = "";
    public AclCriterion Criterion { get; set; }
    public bool IgnoreCase { get; set; }
    public string[] Patterns { get; set; } = [];
    public string File { get; set; } = "";
    public int Line { get; set; }
}

/// <summary>
/// `use_backend <backend> if|unless <condition>`. The condition is kept in HAProxy's own form,
/// normalised: ACL names (anonymous ones replaced by their generated names), `!` glued to the
/// name it negates, `||` between alternatives; e.g. "is_api !is_flare || {anon-12-1}".
/// </summary>
public sealed class UseBackendRule : ISourceLine
{
    public string Backend { get; set; } = "";
    public bool Unless { get; set; }
    public string Condition { get; set; } = "";
    public string File { get; set; } = "";
    public int Line { get; set; }
}

/// <summary>`stats enable`, `stats uri` (and friends) of a listen/frontend/backend.</summary>
public sealed class StatsSettings
{
    public bool Enable { get; set; }
    /// <summary>HAProxy's default is "/haproxy?stats".</summary>
    public string Uri { get; set; } = "/haproxy?stats";
    public int? RefreshSeconds { get; set; }
}

public enum VerifyMode { Required, None }

/// <summary>
/// A `server` line, or one slot of a `server-template`, with `default-server` applied.
/// </summary>
public sealed class ServerLine : ISourceLine
{
    public string Name { get; set; } = "";
    /// <summary>Host name or IP literal as written (without the port).</summary>
    public string Address { get; set; } = "";
    /// <summary>0 when the line gave no port (HAProxy then uses the client's destination port).</summary>
    public int Port { get; set; }
    /// <summary>Set for slots of a `server-template`: its prefix; all slots share Address.</summary>
    public string? Template { get; set; }
    public string File { get; set; } = "";
    public int Line { get; set; }

    public bool Disabled { get; set; }
    public int MaxConn { get; set; }
    public int Weight { get; set; } = 1;

    // --- idle connections (HAProxy 2.6's defaults) ---
    /// <summary>`pool-max-conn`: most idle connections kept for other sessions; -1 = no fixed bound, 0 = none.</summary>
    public int PoolMaxConn { get; set; } = -1;
    /// <summary>`pool-purge-delay`, ms: how often the idle connections beyond recent need are halved; 0 = none kept.</summary>
    public int PoolPurgeDelay { get; set; } = 5000;
    /// <summary>`pool-low-conn`: idle connections kept beyond the recent need.</summary>
    public int PoolLowConn { get; set; }

    // --- health checks ---
    public bool Check { get; set; }
    /// <summary>ms between checks; HAProxy's default 2000.</summary>
    public int Inter { get; set; } = 2000;
    public int Fall { get; set; } = 3;
    public int Rise { get; set; } = 2;
    /// <summary>`port`: the port checks go to; 0 = the server's port.</summary>
    public int CheckPort { get; set; }
    /// <summary>`check-ssl` was given. See Backends/Health/HealthCheck.cs for when a check speaks TLS.</summary>
    public bool CheckSsl { get; set; }
    /// <summary>`no-check-ssl` was given (HAProxy keeps "unset", "on" and "off" apart).</summary>
    public bool NoCheckSsl { get; set; }
    /// <summary>`fastinter`: ms between checks while the server changes state; 0 = `inter`.</summary>
    public int FastInter { get; set; }
    /// <summary>`downinter`: ms between checks while the server is DOWN; 0 = `inter`.</summary>
    public int DownInter { get; set; }
    /// <summary>`addr`: the IP literal checks go to instead of the server's address; null = the server's.</summary>
    public string? CheckAddr { get; set; }
    /// <summary>The port given with `addr ip:port`; 0 = none (then `port`, then the server's port).</summary>
    public int CheckAddrPort { get; set; }
    /// <summary>`check-sni`: the SNI a TLS check sends; null = the one traffic sends.</summary>
    public string? CheckSni { get; set; }

    // --- TLS to the server ---
    public bool Ssl { get; set; }
    public VerifyMode Verify { get; set; } = VerifyMode.Required;
    /// <summary>Absolute path of the CA bundle (resolved with default-path).</summary>
    public string? CaFile { get; set; }
    /// <summary>`sni` as written: a sample expression, only `str(<name>)` is supported.</summary>
    public string? Sni { get; set; }
    /// <summary>`verifyhost`: the name the certificate must carry.</summary>
    public string? VerifyHost { get; set; }
    public string? Ciphers { get; set; }
    public string? Ciphersuites { get; set; }
    /// <summary>Server-line ssl options merged over ssl-default-server-options.</summary>
    public SslOptions SslOptions { get; set; } = new();

    // --- DNS ---
    public string? Resolvers { get; set; }
    /// <summary>`init-addr` methods in order: last, libc, none, or IP literals. The parser writes
    /// HAProxy's default "last,libc" when the line says nothing (empty here: arrays bind by appending).</summary>
    public string[] InitAddr { get; set; } = [];
    /// <summary>"ipv4" or "ipv6" (HAProxy's default).</summary>
    public string ResolvePrefer { get; set; } = "ipv6";
}

/// <summary>A `resolvers` section.</summary>
public sealed class ResolversSection : ISourceLine
{
    public string Name { get; set; } = "";
    public string File { get; set; } = "";
    public int Line { get; set; }
    public Nameserver[] Nameservers { get; set; } = [];
    public bool ParseResolvConf { get; set; }
    public int ResolveRetries { get; set; } = 3;
    /// <summary>ms; HAProxy's defaults: resolve 1s, retry 1s.</summary>
    public int TimeoutResolve { get; set; } = 1000;
    public int TimeoutRetry { get; set; } = 1000;
    /// <summary>`hold <status> <period>`: ms per status (nx, other, refused, timeout, valid, obsolete).</summary>
    public ResolverHold Hold { get; set; } = new();
    public int AcceptedPayloadSize { get; set; } = 512;
}

public sealed class Nameserver : ISourceLine
{
    public string Name { get; set; } = "";
    public string Address { get; set; } = "";
    public int Port { get; set; } = 53;
    public string File { get; set; } = "";
    public int Line { get; set; }
}

public sealed class ResolverHold
{
    public int Nx { get; set; } = 30000;
    public int Other { get; set; } = 30000;
    public int Refused { get; set; } = 30000;
    public int Timeout { get; set; } = 30000;
    public int Valid { get; set; } = 10000;
    public int Obsolete { get; set; } = 0;
}
