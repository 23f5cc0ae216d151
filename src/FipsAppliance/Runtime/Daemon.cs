using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Frontends;
using FipsAppliance.Lifecycle;
using FipsAppliance.Logging;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Runtime;

/// <summary>
/// The daemon's life. Start: configuration (refuse bad files), FIPS (refuse without it, once per
/// process), the file descriptor budget (maxconn), the live model, listeners (refuse if any port
/// is taken, with nothing left half-started), first DNS answers, a TLS warm-up, then READY=1.
/// SIGHUP: reload — a new model, listeners handed over by address, the old model drained.
/// SIGTERM/SIGINT: stop — STOPPING=1, listeners closed, connections in flight finish until
/// hard-stop-after, exit 0.
///
/// What the process owns and keeps across reloads: the logger, the FIPS bootstrap, the listening
/// sockets (<see cref="Listeners"/>), the global connection slots and %ac (<see cref="ProcessContext"/>),
/// sd_notify and the watchdog. What a model owns (<see cref="ProxyRuntime"/>): everything built
/// from one cfg, down to its access log sockets and the trust anchors read from its ca-files.
/// </summary>
internal sealed partial class Daemon
{
    /// <summary>
    /// hard-stop-after when the cfg has none. HAProxy then waits forever; an appliance under
    /// systemd should not outlast TimeoutStopSec= (90 s by default), and 10 s is what this daemon
    /// gave connections at stop before the keyword existed here.
    /// </summary>
    public const int DefaultHardStopAfterMs = 10_000;
    private const int DrainCheckMilliseconds = 100;
    /// <summary>How long sessions cut at hard-stop-after get to unwind before their model is disposed.</summary>
    private static readonly TimeSpan KillUnwindTime = TimeSpan.FromSeconds(1);

    private enum Command { Reload, Stop }

    private readonly string _cfgPath;
    private readonly string? _iniPath;
    private readonly bool _quiet;
    private readonly BlockingCollection<Command> _commands = new();
    private readonly List<(ProxyRuntime Model, long Deadline)> _retiring = [];
    private ILogger _log = null!;
    private ProcessContext _process = null!;
    private Listeners _listeners = null!;
    private FipsReport _fips = null!;
    private ApplianceSettings _appliance = null!;
    private ProxyRuntime _current = null!;
    private SystemdNotifier? _notifier;
    private Watchdog? _watchdog;
    private IdleMemoryTrim? _idleTrim;
    private ITimer? _retiringMonitor;
    /// <summary>Every periodic callback of the process and its models runs here, not on the thread pool.</summary>
    private readonly TimerThread _timers = new();
    private ulong _fdLimit;
    private int _generation;
    private volatile string _phase = "Starting";

    private Daemon(string cfgPath, string? iniPath, bool quiet)
    {
        _cfgPath = cfgPath;
        _iniPath = iniPath;
        _quiet = quiet;
    }

    public static int Run(string cfgPath, string? iniPath, bool quiet) => new Daemon(cfgPath, iniPath, quiet).Run();

    private int Run()
    {
        var loaded = ConfigLoader.Load(_cfgPath, _iniPath, Console.Error, _quiet);
        if (loaded is null) return 1;
        _appliance = loaded.Appliance;

        using var loggerFactory = Logs.Create(loaded.Appliance.Log, _quiet);
        _log = loggerFactory.CreateLogger("datadog-fips-proxy");

        try
        {
            _fips = FipsBootstrap.Enable(loaded.Appliance.Fips);
        }
        catch (FipsRefusal e)
        {
            LogFipsRefused(_log, e.Message);
            return 1;
        }
        LogFips(_log, _fips.WithGlobal(loaded.Proxy.Global).ToLogLine());

        _fdLimit = FileDescriptorBudget.RaiseLimit();
        var budget = Budget(loaded.Proxy);
        if (budget.MaxConn < 1)
        {
            LogFdLimitTooLow(_log, budget.Limit, budget.Reserved + 2);
            return 1;
        }
        SayLimits(loaded.Proxy, budget);
        // From here a signal is queued, not fatal: a SIGHUP during start-up reloads once READY
        // is sent; a SIGTERM stops right after (SIGHUP's default action would kill the process).
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; _commands.TryAdd(Command.Stop); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; _commands.TryAdd(Command.Stop); });
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; _commands.TryAdd(Command.Reload); });

        using var process = _process = new ProcessContext(_log, budget.MaxConn);
        _notifier = SystemdNotifier.FromEnvironment();

        ProxyRuntime? model = Build(loaded.Proxy, budget);
        if (model is null) return 1;
        using var listeners = _listeners = new Listeners(process);
        var plan = listeners.Prepare(model, out var bindError);
        if (plan is null)
        {
            LogBindFailed(_log, bindError!);
            LogExiting(_log);
            model.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(3));
            return 1;
        }
        model.StartAsync().GetAwaiter().GetResult();
        if (!WarmUpTls(model))
        {
            Listeners.Abandon(plan);
            model.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(3));
            return 1;
        }
        _idleTrim = new IdleMemoryTrim(_timers, RelayedBytes);
        _idleTrim.AfterStartup();            // before the listeners accept: no request waits on it
        listeners.Commit(plan);
        _current = model;
        ApplyPoolFdThresholds(model);
        _retiringMonitor = _timers.CreateTimer(_ => CheckRetiring(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));

        LogStarted(_log, Cli.CommandLine.Version, model.FrontendCount, model.BackendCount, model.ServerCount);
        _phase = "Ready";
        if (_notifier is not null)
        {
            _watchdog = new Watchdog(_notifier, Watchdog.IntervalFromEnvironment(), Status, _log);
            NotifyReady();
            _watchdog.Start();
        }

        while (true)
        {
            var command = _commands.Take();
            if (command == Command.Reload) Reload();
            else break;
        }
        return Stop();
    }

    /// <summary>Bytes the serving model's frontends relayed so far, in and out: the idle trim's measure of traffic.</summary>
    private long RelayedBytes()
    {
        if (Volatile.Read(ref _current) is not { } model) return 0;
        long bytes = 0;
        foreach (var f in model.Frontends) bytes += Volatile.Read(ref f.Counters.BytesIn) + Volatile.Read(ref f.Counters.BytesOut);
        return bytes;
    }

    // --- building a model ---

    private FileDescriptorBudget Budget(ProxyConfig config) =>
        FileDescriptorBudget.For(config.Global.MaxConn, _fdLimit, FileDescriptorBudget.ReserveFor(config));

    /// <summary>
    /// The idle pools' descriptor thresholds from the serving model's `tune.pool-*-fd-ratio`, as
    /// percentages of the descriptors the process may use: what its maxconn needs, but never more
    /// than the limit it runs under (HAProxy's maxsock; with a maxconn the limit cannot honour, the
    /// limit is what runs out).
    /// </summary>
    private void ApplyPoolFdThresholds(ProxyRuntime model)
    {
        var budget = Budget(model.Config);
        long maxSock = (long)Math.Min((ulong)budget.Needed, budget.Limit);
        _process.PoolFds.Configure(maxSock, model.Config.Global.PoolLowFdRatio, model.Config.Global.PoolHighFdRatio, _listeners.Count);
    }

    /// <summary>A new live model from a bound cfg, its warnings said; null (after an alert) when its TLS settings cannot work.</summary>
    private ProxyRuntime? Build(ProxyConfig config, FileDescriptorBudget budget)
    {
        var warnings = new List<string>();
        ProxyRuntime model;
        try
        {
            model = new ProxyRuntime(config, _process, _fips.WithGlobal(config.Global), budget.MaxConn, ++_generation, _timers, warnings);
        }
        catch (TlsPolicyException e)
        {
            LogBindFailed(_log, e.Message);
            return null;
        }
        catch (Backends.Dns.InitAddrException e)
        {
            LogBindFailed(_log, e.Message);   // after init-addr's lines saying which servers
            return null;
        }
        foreach (var warning in model.TlsWarnings) LogTlsWarning(_log, warning);
        foreach (var warning in warnings) LogTlsWarning(_log, warning);
        return model;
    }

    /// <summary>
    /// The start-up handshake (<see cref="TlsWarmUp"/>). False when TLS itself does not work in this
    /// process: the caller refuses to start.
    /// </summary>
    private bool WarmUpTls(ProxyRuntime model)
    {
        try
        {
            var (took, buffersReleased) = TlsWarmUp.RunAsync(model.FirstTlsPolicy, TimeSpan.FromSeconds(3)).GetAwaiter().GetResult();
            LogWarmedUp(_log, (long)took.TotalMilliseconds);
            if (!buffersReleased) LogBuffersKept(_log);
            return true;
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException
                                   or System.Net.Sockets.SocketException or OperationCanceledException
                                   or System.Security.Cryptography.CryptographicException)
        {
            // A handshake that failed or took too long (a loaded machine): only the warm-up is lost.
            LogWarmUpFailed(_log, e.Message);
            return true;
        }
        catch (Exception e)
        {
            // Not a failed handshake: .NET's TLS stack broke in this process, as it did for a
            // certificate store it could not read (UnauthorizedAccessException from chain building)
            // and for no home directory at all, both before HOME was set to / (ProcessKnobs).
            // Every handshake with a server would break the same way, each request with a 500.
            // So refuse to start, as a FIPS failure does, with one line that names the cause,
            // not the runtime's stack trace and exit 134 or 139.
            LogTlsBroken(_log, $"{e.GetType().Name}: {e.Message}");
            return false;
        }
    }

    private void SayLimits(ProxyConfig config, FileDescriptorBudget budget)
    {
        if (budget.Derived) LogMaxConnDerived(_log, budget.MaxConn, budget.Limit, budget.Reserved);
        else if ((ulong)budget.Needed > budget.Limit) LogMaxConnOverLimit(_log, budget.MaxConn, budget.Needed, budget.Limit);
        if (config.Global.HardStopAfter is null) LogHardStopDefault(_log, DefaultHardStopAfterMs / 1000);
    }

    private static long HardStopAfter(ProxyRuntime model) => model.Config.Global.HardStopAfter ?? DefaultHardStopAfterMs;

    // --- reload ---

    private void Reload()
    {
        _phase = "Reloading";
        _notifier?.Reloading($"Reloading {_cfgPath}");
        LogReloading(_log, _cfgPath);
        ProxyRuntime? model = null;
        Listeners.Plan? plan = null;
        try
        {
            var loaded = ConfigLoader.Load(_cfgPath, _iniPath, new LoggerTextWriter(_log), _quiet);
            model = loaded is null ? null : TryBuildForReload(loaded);
            if (model is null)
            {
                Refuse(null, null);
                return;
            }
            plan = _listeners.Prepare(model, out var bindError);
            if (plan is null)
            {
                LogBindFailed(_log, bindError!);
                Refuse(model, null);
                return;
            }
            // The new servers get their first DNS answers while the old model still serves, so the
            // first request after the switch does not meet a server without an address (a 503).
            model.StartAsync().GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            // Anything unforeseen (a descriptor limit, a bug) costs this reload, never the daemon.
            LogReloadFailed(_log, e.GetType().Name, e.Message);
            Refuse(model, plan);
            return;
        }

        var previous = _current;
        var change = _listeners.Commit(plan);
        _process.Slots.Max = model.MaxConn;
        _current = model;
        ApplyPoolFdThresholds(model);
        lock (_retiring) _retiring.Add((previous, Environment.TickCount64 + HardStopAfter(previous)));
        previous.Drain();
        if (model.Config.Global.MaxConn == 0 && model.MaxConn != previous.MaxConn)
            LogMaxConnDerived(_log, model.MaxConn, _fdLimit, FileDescriptorBudget.ReserveFor(model.Config));
        LogReloaded(_log, model.Generation, model.FrontendCount, model.BackendCount, model.ServerCount,
            change.Kept, change.Opened, change.Closed, previous.SessionCount, HardStopAfter(previous) / 1000);
        _phase = "Ready";
        NotifyReady();
    }

    /// <summary>The reload is refused: what it built and bound is let go, the current model goes on serving.</summary>
    private void Refuse(ProxyRuntime? model, Listeners.Plan? plan)
    {
        LogReloadRefused(_log, _cfgPath, _current.Generation, _current.LoadedAt.ToString("HH:mm:ss", CultureInfo.InvariantCulture));
        try
        {
            if (plan is not null) Listeners.Abandon(plan);
            if (model is not null) _ = model.DisposeAsync().AsTask();
        }
        catch (Exception e)
        {
            LogReloadFailed(_log, e.GetType().Name, e.Message);
        }
        _phase = "Ready";
        NotifyReady();
    }

    private void NotifyReady()
    {
        if (_notifier is null) return;
        string status = Status();
        _notifier.Ready(status);
        _watchdog?.Sent(status);
    }

    private ProxyRuntime? TryBuildForReload(LoadedConfig loaded)
    {
        // The FIPS module and the console log format belong to the process: they change at restart.
        if (!Equals(FipsBootstrap.ResolvePaths(loaded.Appliance.Fips), FipsBootstrap.ResolvePaths(_appliance.Fips)))
            LogRestartNeeded(_log, "the [fips] settings");
        if (loaded.Appliance.Log.Format != _appliance.Log.Format)
            LogRestartNeeded(_log, "[log] format");
        var budget = Budget(loaded.Proxy);
        if (budget.MaxConn < 1)
        {
            LogFdLimitTooLow(_log, budget.Limit, budget.Reserved + 2);
            return null;
        }
        if (!budget.Derived && (ulong)budget.Needed > budget.Limit) LogMaxConnOverLimit(_log, budget.MaxConn, budget.Needed, budget.Limit);
        return Build(loaded.Proxy, budget);
    }

    /// <summary>
    /// Every 250 ms: retired models drain; released at their last session, cut at hard-stop-after.
    /// Also where the process says what its stdout/stderr log writers dropped.
    /// </summary>
    private void CheckRetiring()
    {
        _process.ReportStreamDrops();
        List<(ProxyRuntime Model, bool Killed)>? released = null;
        lock (_retiring)
        {
            for (int i = _retiring.Count - 1; i >= 0; i--)
            {
                var (model, deadline) = _retiring[i];
                model.Drain();
                bool killed = false;
                if (model.SessionCount == 0)
                {
                    LogReleased(_log, model.Generation);
                }
                else if (Environment.TickCount64 >= deadline)
                {
                    int cut = model.Kill();
                    killed = true;
                    LogHardStopCut(_log, model.Generation, HardStopAfter(model) / 1000, cut);
                }
                else continue;
                (released ??= []).Add((model, killed));
                _retiring.RemoveAt(i);
            }
        }
        if (released is null) return;
        foreach (var (model, killed) in released) _ = ReleaseAsync(model, killed);
    }

    private async Task ReleaseAsync(ProxyRuntime model, bool killed)
    {
        // Cut sessions unwind first (bounded), so their server connections are closed with the pools.
        if (killed) await model.UntilSessionsEndAsync(KillUnwindTime).ConfigureAwait(false);
        await model.DisposeAsync().ConfigureAwait(false);
        // The retired model's buffers and connections are garbage now: trimmed once the relay is quiet.
        _idleTrim?.BusySpellEnded();
    }

    // --- stop ---

    private int Stop()
    {
        var model = _current;
        long hardStop = HardStopAfter(model);
        _phase = "Stopping";
        _notifier?.Stopping($"Stopping: {_process.ActiveConnections} connections finishing (hard-stop-after {hardStop / 1000}s)");
        _listeners.Dispose();
        LogStopping(_log, _process.ActiveConnections, hardStop / 1000);

        long deadline = Environment.TickCount64 + hardStop;
        var all = new List<ProxyRuntime> { model };
        lock (_retiring) all.AddRange(_retiring.Select(r => r.Model));
        int cut = 0;
        while (true)
        {
            foreach (var m in all) m.Drain();
            if (all.Sum(m => m.SessionCount) == 0) break;
            if (Environment.TickCount64 >= deadline)
            {
                cut = all.Sum(m => m.Kill());
                Task.WhenAll(all.Select(m => m.UntilSessionsEndAsync(KillUnwindTime))).Wait();
                break;
            }
            Thread.Sleep(DrainCheckMilliseconds);
        }
        _retiringMonitor?.Dispose();
        _idleTrim?.Dispose();
        _watchdog?.Dispose();
        Task.WhenAll(all.Select(m => m.DisposeAsync().AsTask())).Wait(TimeSpan.FromSeconds(3));
        _timers.Dispose();
        _process.FlushStreams(TimeSpan.FromSeconds(2));
        _process.ReportStreamDrops(force: true);
        if (cut > 0) LogStoppedCut(_log, cut, hardStop / 1000);
        else LogStopped(_log);
        return 0;
    }

    // --- what systemctl status shows ---

    private string Status()
    {
        var m = _current;
        if (m is null) return _phase;
        int draining;
        lock (_retiring) draining = _retiring.Sum(r => r.Model.SessionCount);
        string text = $"{_phase}: {m.FrontendCount} frontends, {m.ServersUp}/{m.ServerCount} servers up, " +
                      $"{m.Requests} requests and {m.TotalSessions} connections since {m.LoadedAt.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}, " +
                      $"{_process.ActiveConnections} open";
        return draining > 0 ? text + $" ({draining} finishing on the previous configuration)" : text;
    }

    // --- lines ---

    [LoggerMessage(Level = LogLevel.Critical, Message = "FIPS mode could not be verified, refusing to start: {Reason}")]
    private static partial void LogFipsRefused(ILogger log, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Report}")]
    private static partial void LogFips(ILogger log, string report);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Message}")]
    private static partial void LogBindFailed(ILogger log, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogTlsWarning(ILogger log, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "[datadog-fips-proxy.main()] Some protocols failed to start their listeners! Exiting.")]
    private static partial void LogExiting(ILogger log);

    [LoggerMessage(Level = LogLevel.Critical, Message = "[datadog-fips-proxy.main()] The file descriptor limit ({Limit}) is too low for this configuration: it needs at least {Needed}. Raise LimitNOFILE= (ulimit -n).")]
    private static partial void LogFdLimitTooLow(ILogger log, ulong limit, int needed);

    [LoggerMessage(Level = LogLevel.Information, Message = "datadog-fips-proxy {Version} started: {Frontends} frontends, {Backends} backends, {Servers} servers.")]
    private static partial void LogStarted(ILogger log, string version, int frontends, int backends, int servers);

    [LoggerMessage(Level = LogLevel.Information, Message = "maxconn {MaxConn} (derived from the file descriptor limit {Limit}: 2 per connection, {Reserved} kept for the process); set 'maxconn' in the global section to choose another.")]
    private static partial void LogMaxConnDerived(ILogger log, int maxConn, ulong limit, int reserved);

    [LoggerMessage(Level = LogLevel.Warning, Message = "maxconn {MaxConn} needs up to {Needed} file descriptors but the limit is {Limit}: accept() will fail before maxconn is reached. Raise LimitNOFILE= (ulimit -n) or lower maxconn.")]
    private static partial void LogMaxConnOverLimit(ILogger log, int maxConn, long needed, ulong limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "hard-stop-after not set: at stop or reload, connections in flight get {Seconds}s to finish.")]
    private static partial void LogHardStopDefault(ILogger log, int seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "TLS warm-up handshake done in {Milliseconds}ms.")]
    private static partial void LogWarmedUp(ILogger log, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OpenSSL's record buffers cannot be released on this .NET runtime (SslStream's SSL object was not found): each server connection keeps about 34 KiB while idle.")]
    private static partial void LogBuffersKept(ILogger log);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS warm-up handshake failed ({Reason}); the first connection to a server pays for it.")]
    private static partial void LogWarmUpFailed(ILogger log, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "TLS does not work in this process, refusing to start: {Reason}. Every connection to a server would fail the same way.")]
    private static partial void LogTlsBroken(ILogger log, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloading: reading {Cfg}.")]
    private static partial void LogReloading(ILogger log, string cfg);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reload refused: {Cfg} cannot be used (see above); still serving with configuration #{Generation} loaded at {LoadedAt}.")]
    private static partial void LogReloadRefused(ILogger log, string cfg, int generation, string loadedAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reload failed: unexpected {Type}: {Message}")]
    private static partial void LogReloadFailed(ILogger log, string type, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reload: {What} changed; it takes effect at the next restart.")]
    private static partial void LogRestartNeeded(ILogger log, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloaded: configuration #{Generation} serves {Frontends} frontends, {Backends} backends, {Servers} servers (listeners: {Kept} kept, {Opened} opened, {Closed} closed); {Sessions} connections finish on the previous configuration (hard-stop-after {Seconds}s).")]
    private static partial void LogReloaded(ILogger log, int generation, int frontends, int backends, int servers, int kept, int opened, int closed, int sessions, long seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration #{Generation} released: its last connection ended.")]
    private static partial void LogReleased(ILogger log, int generation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Configuration #{Generation}: hard-stop-after {Seconds}s reached, {Count} connections cut.")]
    private static partial void LogHardStopCut(ILogger log, int generation, long seconds, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: listeners closed, {Sessions} connections in flight get up to {Seconds}s to finish (hard-stop-after).")]
    private static partial void LogStopping(ILogger log, long sessions, long seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped.")]
    private static partial void LogStopped(ILogger log);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped: hard-stop-after {Seconds}s reached, {Sessions} connections cut.")]
    private static partial void LogStoppedCut(ILogger log, int sessions, long seconds);
}
