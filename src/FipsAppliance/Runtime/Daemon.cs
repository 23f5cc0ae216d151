using System.Runtime.InteropServices;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Logging;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Runtime;

/// <summary>
/// The daemon's life: configuration (refuse bad files), FIPS (refuse without it), listeners
/// (refuse if any port is taken, with nothing left half-started), then serve until SIGTERM/SIGINT,
/// when listeners close and sessions in flight get a bounded time to finish.
/// </summary>
internal static partial class Daemon
{
    /// <summary>How long sessions in flight may take to finish after SIGTERM (HAProxy's hard-stop-after).</summary>
    private const int DrainMilliseconds = 10_000;

    public static int Run(string cfgPath, string? iniPath, bool quiet)
    {
        var loaded = ConfigLoader.Load(cfgPath, iniPath, Console.Error, quiet);
        if (loaded is null) return 1;

        using var loggerFactory = Logs.Create(loaded.Appliance.Log, quiet);
        var log = loggerFactory.CreateLogger("datadog-fips-proxy");

        FipsReport report;
        try
        {
            report = FipsBootstrap.Enable(loaded.Appliance.Fips).WithGlobal(loaded.Proxy.Global);
        }
        catch (FipsRefusal e)
        {
            LogFipsRefused(log, e.Message);
            return 1;
        }
        LogFips(log, report.ToLogLine());

        var context = new ProxyContext(log, new AccessLog(loggerFactory.CreateLogger(Logs.AccessCategory)));
        ProxyRuntime built;
        try
        {
            built = new ProxyRuntime(loaded.Proxy, context, report);
        }
        catch (TlsPolicyException e)
        {
            LogBindFailed(log, e.Message);
            return 1;
        }
        catch (Backends.Dns.InitAddrException e)
        {
            LogBindFailed(log, e.Message);   // after init-addr's lines saying which servers
            return 1;
        }
        using var runtime = built;
        foreach (var warning in runtime.TlsWarnings) LogTlsWarning(log, warning);
        context.Stats = new Http.StatsService(runtime);
        if (runtime.Bind() is { } bindError)
        {
            LogBindFailed(log, bindError);
            LogExiting(log);
            return 1;
        }
        runtime.StartResolversAsync().GetAwaiter().GetResult();

        using var stop = new ManualResetEventSlim();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });

        runtime.StartAccepting();
        LogStarted(log, Cli.CommandLine.Version, runtime.FrontendCount, runtime.BackendCount, runtime.ServerCount);

        stop.Wait();
        LogStopping(log, runtime.CurrentConnections);
        runtime.StopAccepting();
        var deadline = Environment.TickCount64 + DrainMilliseconds;
        while (runtime.CurrentConnections > 0 && Environment.TickCount64 < deadline) Thread.Sleep(50);
        LogStopped(log, runtime.CurrentConnections);
        return 0;
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "datadog-fips-proxy {Version} started: {Frontends} frontends, {Backends} backends, {Servers} servers.")]
    private static partial void LogStarted(ILogger log, string version, int frontends, int backends, int servers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: listeners closed, {Sessions} connections in flight get up to 10s to finish.")]
    private static partial void LogStopping(ILogger log, long sessions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped ({Sessions} connections cut at the drain limit).")]
    private static partial void LogStopped(ILogger log, long sessions);
}
