using FipsAppliance.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.DependencyInjection;

namespace FipsAppliance.Logging;

/// <summary>
/// The two log streams of the daemon:
/// - lifecycle and errors (start, FIPS report, bind failures, server state, upstream failures,
///   reloads): Microsoft.Extensions.Logging.Console with <see cref="HaproxyConsoleFormatter"/>, to
///   stderr, where journald picks them up with their priority. HAProxy also sends these to its
///   `log` targets; here they stay on stderr only, on purpose: under systemd they reach journald
///   (and through it any syslog daemon) once, where a second copy by syslog would be a duplicate;
/// - the per-connection access log (`option httplog` / `option tcplog`): ZLogger, which formats
///   into pooled UTF-8 buffers without allocating per line, to the cfg's `log` targets
///   (<see cref="AccessLog"/>, one per live model). It is the high-volume one.
/// </summary>
internal static class Logs
{
    public static ILoggerFactory Create(LogSettings settings, bool quiet)
    {
        HaproxyConsoleFormatter.JournaldPrefix = settings.Format switch
        {
            LogFormat.Journald => true,
            LogFormat.Plain => false,
            // systemd sets JOURNAL_STREAM when stdout/stderr are connected to the journal.
            _ => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")),
        };
        return LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(quiet ? LogLevel.Error : LogLevel.Information);
            builder.AddConsole(o =>
            {
                o.FormatterName = HaproxyConsoleFormatter.FormatterName;
                o.LogToStandardErrorThreshold = LogLevel.Trace;
                // A stderr nobody reads (a stuck journald) must not block a session that logs a
                // warning: past the queue, lines are dropped (the default waits).
                o.QueueFullMode = ConsoleLoggerQueueFullMode.DropWrite;
                o.MaxQueueLength = 10_000;
            });
            // AddConsoleFormatter<,> binds options by reflection (not AOT-safe); the provider only
            // needs the formatter among the registered ConsoleFormatters.
            builder.Services.AddSingleton<ConsoleFormatter, HaproxyConsoleFormatter>();
        });
    }
}
