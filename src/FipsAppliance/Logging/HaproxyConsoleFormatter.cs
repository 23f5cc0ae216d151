using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace FipsAppliance.Logging;

/// <summary>
/// Lifecycle and error lines in HAProxy's shape, which users already grep for:
/// <c>[WARNING]  (4518) : Server datadog-metrics/mothership2 is DOWN, ...</c>.
/// Under systemd (JOURNAL_STREAM set, or `format = journald`) each line starts with the syslog
/// priority in angle brackets (<c>&lt;4&gt;</c>), which journald turns into the entry's priority, so
/// `journalctl -p warning -u datadog-fips-proxy` works.
/// </summary>
internal sealed class HaproxyConsoleFormatter : ConsoleFormatter
{
    public const string FormatterName = "haproxy";

    /// <summary>Decided once at start-up (see <see cref="Logs"/>).</summary>
    public static bool JournaldPrefix { get; set; }

    private static readonly string Pid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public HaproxyConsoleFormatter() : base(FormatterName) { }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        string message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message)) return;
        var (tag, priority) = logEntry.LogLevel switch
        {
            LogLevel.Critical => ("[ALERT]    ", "<2>"),
            LogLevel.Error => ("[ALERT]    ", "<3>"),
            LogLevel.Warning => ("[WARNING]  ", "<4>"),
            LogLevel.Information => ("[NOTICE]   ", "<5>"),
            _ => ("[DEBUG]    ", "<7>"),
        };
        if (JournaldPrefix) textWriter.Write(priority);
        textWriter.Write(tag);
        textWriter.Write('(');
        textWriter.Write(Pid);
        textWriter.Write(") : ");
        textWriter.Write(message);
        if (logEntry.Exception is { } e && logEntry.LogLevel >= LogLevel.Error)
        {
            textWriter.Write(" (");
            textWriter.Write(e.GetType().Name);
            textWriter.Write(": ");
            textWriter.Write(e.Message);
            textWriter.Write(')');
        }
        textWriter.Write('\n');
    }
}
