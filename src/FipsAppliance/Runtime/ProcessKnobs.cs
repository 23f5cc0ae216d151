namespace FipsAppliance.Runtime;

/// <summary>
/// Runtime settings the process chooses for itself before anything else runs, so they hold
/// whether the daemon is started by systemd, by a container runtime or by hand. The GC settings are compiled into the
/// binary instead (FipsAppliance.csproj): the GC reads them before Main.
/// </summary>
internal static class ProcessKnobs
{
    /// <summary>Read once by .NET's socket engine, in the static initializer that creates its event threads.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Socket completions run on the epoll threads (one per CPU) instead of being handed to a
    /// thread-pool worker each time. Issue 9 measured 1.1–1.4 context switches per request (plus
    /// spinning workers' sched_yield) going to 0.2, 12–18 µs less CPU per request and +20–27 %
    /// requests/s on 2 cores. The price: whatever runs after an await on a socket runs on an event
    /// thread, so nothing on the data path may block (file reads, blocking DNS, locks held across
    /// I/O); see README "Inline socket completions". An operator may still turn it off by setting
    /// the variable to 0 in the environment; an explicit value is never overridden.
    /// Must run before the first Socket is created: .NET reads the variable once, in
    /// SocketAsyncEngine's static initializer, through Environment.GetEnvironmentVariable, which
    /// sees variables set in-process (unlike OpenSSL, which reads the C environment).
    /// </summary>
    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(HomeVariable)))
            Environment.SetEnvironmentVariable(HomeVariable, "/");
    }

    /// <summary>
    /// .NET's certificate chain building (every upstream handshake, and the warm-up's) opens the
    /// user's "disallowed" store under $HOME/.dotnet, read-only. With HOME unset it falls back to
    /// the uid's passwd entry, and with none (a container run under an arbitrary uid, as OpenShift's
    /// restricted policy does; a start through `env -i`) it throws InvalidOperationException: the
    /// daemon died in its TLS warm-up, and no upstream connection could have been verified. So an
    /// unset or empty HOME becomes "/", as container runtimes set it for a uid without a passwd
    /// entry: there is no /.dotnet, so that store is empty, as it is for dd-agent under systemd
    /// (its home, /opt/datadog-agent, does not exist). Only the managed environment changes:
    /// .NET reads HOME from it; OpenSSL and the processes we start (none) never look.
    /// </summary>
    public const string HomeVariable = "HOME";
}
