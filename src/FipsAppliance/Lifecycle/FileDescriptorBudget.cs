using FipsAppliance.Configuration;

namespace FipsAppliance.Lifecycle;

/// <summary>
/// Global `maxconn` against the file descriptor limit, as HAProxy 2.6 does it: at start the soft
/// RLIMIT_NOFILE is raised to the hard one (systemd's default for services is 1024:524288, so
/// `LimitNOFILE=` in the unit is what counts), and without a `maxconn` in the cfg the limit is
/// derived from it: each connection needs two descriptors (client, server) and the process keeps
/// some for itself. Measured with Debian's haproxy 2.6.12: ulimit-n 1023 → maxconn 497,
/// 255 → 113, 19999 → 9985, i.e. (limit − 29) / 2.
/// </summary>
internal readonly record struct FileDescriptorBudget(int MaxConn, ulong Limit, int Reserved, bool Derived)
{
    /// <summary>
    /// Descriptors the process holds besides its connections and listeners: stdio, the runtime's
    /// epoll and wake-up pipes, /dev/urandom, signal handling, sd_notify and the watchdog probe —
    /// 13 measured at idle under systemd with a one-frontend cfg (/proc/&lt;pid&gt;/fd, listener
    /// excluded) — plus headroom for what a reload opens for a moment (cfg, CA files, new sockets).
    /// </summary>
    public const int BaseReserve = 32;

    /// <summary>
    /// What one configuration holds besides its connections: a socket per listener, one per server
    /// (a health check or a connect attempt in flight), one per nameserver and log target.
    /// </summary>
    public static int ReserveFor(ProxyConfig config) =>
        BaseReserve
        + config.Proxies.Sum(p => p.Binds.Length)
        + config.Proxies.Sum(p => p.Servers.Length)
        + config.Resolvers.Sum(r => r.Nameservers.Length + (r.ParseResolvConf ? 3 : 0))
        + config.Global.Logs.Length + config.Proxies.Sum(p => p.Logs.Length);

    /// <summary>Raises the soft fd limit to the hard one; returns the limit now in force.</summary>
    public static ulong RaiseLimit()
    {
        var (soft, hard) = Posix.FileLimit();
        // RLIM_INFINITY is not a number of files; the kernel's nr_open (1048576 by default) is.
        const ulong Ceiling = 1 << 20;
        ulong target = Math.Min(hard, Ceiling);
        if (target > soft && Posix.SetFileLimit(target)) soft = Posix.FileLimit().Soft;
        return Math.Min(soft, Ceiling);
    }

    /// <summary>The maxconn to run with: the cfg's, or derived from <paramref name="limit"/>; 0 when the limit is too low to run at all.</summary>
    public static FileDescriptorBudget For(int configured, ulong limit, int reserved)
    {
        if (configured > 0) return new(configured, limit, reserved, Derived: false);
        long derived = ((long)limit - reserved) / 2;
        return new((int)Math.Clamp(derived, 0, int.MaxValue), limit, reserved, Derived: true);
    }

    /// <summary>Descriptors a configured maxconn needs at most.</summary>
    public long Needed => (long)MaxConn * 2 + Reserved;
}
