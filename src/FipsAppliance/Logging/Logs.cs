using FipsAppliance.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.DependencyInjection;
using ZLogger;
using ZLogger.Providers;

namespace FipsAppliance.Logging;

/// <summary>
/// The two log streams of the daemon:
/// - lifecycle and errors (start, FIPS report, bind failures, server state, upstream failures):
///   Microsoft.Extensions.Logging.Console with <see cref="HaproxyConsoleFormatter"/>, to stderr,
///   where journald picks them up with their priority;
/// - the per-connection access log (`option httplog` / `option tcplog`): ZLogger, which formats
///   into pooled UTF-8 buffers without allocating per line, to stdout. It is the high-volume one.
/// </summary>
internal static class Logs
{
    public const string AccessCategory = "access";

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
            builder.AddFilter<ConsoleLoggerProvider>(AccessCategory, LogLevel.None);
            builder.AddConsole(o =>
            {
                o.FormatterName = HaproxyConsoleFormatter.FormatterName;
                o.LogToStandardErrorThreshold = LogLevel.Trace;
            });
            // AddConsoleFormatter<,> binds options by reflection (not AOT-safe); the provider only
            // needs the formatter among the registered ConsoleFormatters.
            builder.Services.AddSingleton<ConsoleFormatter, HaproxyConsoleFormatter>();

            // Access lines: ZLogger, only the access category, plain text, one line each.
            builder.AddFilter<ZLoggerConsoleLoggerProvider>((category, _) => category == AccessCategory);
            builder.AddZLoggerConsole(o =>
            {
                o.UsePlainTextFormatter();
                o.FullMode = BackgroundBufferFullMode.Grow;
            });
        });
    }
}
