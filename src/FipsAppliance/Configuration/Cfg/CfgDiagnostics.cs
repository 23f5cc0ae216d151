namespace FipsAppliance.Configuration.Cfg;

/// <summary>
/// HAProxy's message shapes, measured on Debian's haproxy 2.6.12 (`haproxy -c` on broken files):
/// the label padded to 10 columns, the pid, the "config" context, then either
/// `parsing [file:line] : msg` (section keywords) or `[file:line] : msg` (server lines, post-parse).
/// </summary>
internal sealed class CfgDiagnostics(TextWriter writer, bool quiet)
{
    private readonly int _pid = Environment.ProcessId;

    public int Alerts { get; private set; }
    public int Warnings { get; private set; }

    /// <summary>`[ALERT] ... : config : parsing [file:line] : msg`</summary>
    public void Alert(string file, int line, string message) => AlertText($"parsing [{file}:{line}] : {message}");

    /// <summary>`[ALERT] ... : config : [file:line] : msg` (HAProxy's form for server lines).</summary>
    public void AlertAt(string file, int line, string message) => AlertText($"[{file}:{line}] : {message}");

    public void AlertText(string text)
    {
        Alerts++;
        Write("[ALERT]", text);
    }

    public void Warning(string file, int line, string message) => WarningText($"parsing [{file}:{line}] : {message}");

    public void WarningText(string text)
    {
        Warnings++;
        if (!quiet) Write("[WARNING]", text);
    }

    public void Notice(string text)
    {
        if (!quiet) Write("[NOTICE]", text);
    }

    private void Write(string label, string text) => writer.WriteLine($"{label,-10} ({_pid}) : config : {text}");
}
