namespace FipsAppliance.Runtime;

/// <summary>
/// Runtime settings the process chooses for itself before anything else runs, so they hold
/// whether the daemon is started by systemd, by a container runtime or by hand. The GC settings
/// are compiled into the binary instead (FipsAppliance.csproj): the GC reads them before Main.
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
    public static void UseInlineCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
    }

    /// <summary>Everything the daemon sets for itself at the top of Main.</summary>
    public static void Apply()
    {
        UseInlineCompletions();
        Environment.SetEnvironmentVariable(HomeVariable, "/");
    }

    /// <summary>
    /// Whom the relay trusts is the cfg's business alone (ca-file, verify, crl-file), never the
    /// home directory of whoever started it. .NET's certificate chain building (every upstream
    /// handshake, and the warm-up's) opens the user's "disallowed" store under $HOME/.dotnet, and
    /// it throws where that cannot be read:
    ///  - no HOME and no passwd entry for the uid (a container under an arbitrary uid, as
    ///    OpenShift's restricted policy runs images; `env -i`): InvalidOperationException;
    ///  - a store directory the daemon's user may not list, such as another user's: started with
    ///    that user's HOME (`sudo -u dd-agent` keeping the caller's HOME, with a
    ///    ~/.dotnet/corefx/cryptography/x509stores/disallowed of mode 0700 there):
    ///    UnauthorizedAccessException. (A home it cannot even enter is harmless: no store is seen.)
    /// Either way the daemon died in its TLS warm-up, and no upstream could have been verified.
    /// So HOME is "/" for the process, whatever it was: there is no /.dotnet (only root could make
    /// one), so that store is empty, as it always was for dd-agent under systemd (its home,
    /// /opt/datadog-agent, has none). Only the managed environment changes: .NET reads HOME
    /// from it, and nothing else of ours does; OpenSSL never looks, and the daemon starts no process.
    /// </summary>
    public const string HomeVariable = "HOME";
}
