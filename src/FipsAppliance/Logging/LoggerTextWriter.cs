using System.Text;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Logging;

/// <summary>
/// Lines in HAProxy's shape (`[ALERT]    (pid) : config : ...`, as the cfg loader writes them)
/// passed on to the lifecycle logger with their level. A reload loads the cfg while the daemon
/// runs: through here its alerts keep their order with the daemon's own lines (the logger writes
/// from a queue) and get journald priorities.
/// </summary>
internal sealed class LoggerTextWriter(ILogger log) : TextWriter
{
    private readonly StringBuilder _line = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        if (value == '\n') Flush();
        else _line.Append(value);
    }

    public override void WriteLine(string? value)
    {
        _line.Append(value);
        Flush();
    }

    public override void Flush()
    {
        if (_line.Length == 0) return;
        string text = _line.ToString();
        _line.Clear();
        var level = text.StartsWith("[ALERT]", StringComparison.Ordinal) ? LogLevel.Error
            : text.StartsWith("[WARNING]", StringComparison.Ordinal) ? LogLevel.Warning
            : LogLevel.Information;
        // The label and pid are the logger's to write again.
        int start = text.StartsWith('[') && text.IndexOf(") : ", StringComparison.Ordinal) is int at and > 0 ? at + 4 : 0;
#pragma warning disable CA1848, CA2254 // lines already formatted by the cfg loader
        log.Log(level, "{Line}", text[start..]);
#pragma warning restore CA1848, CA2254
    }
}
