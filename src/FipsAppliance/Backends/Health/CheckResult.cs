namespace FipsAppliance.Backends.Health;

/// <summary>
/// HAProxy's check statuses for the checks this relay runs (a TCP connect, then a TLS handshake
/// when the check speaks TLS): src/check.c's check_statuses table, whose short words are the
/// stats page's check_status and whose descriptions are the "reason:" of the DOWN/UP lines.
/// </summary>
internal enum CheckStatus
{
    /// <summary>No check has finished yet.</summary>
    None,
    /// <summary>SOCKERR: the check could not even get a socket (EMFILE, no buffer space, ...).</summary>
    SocketError,
    L4Ok,
    L4Timeout,
    L4Connection,
    L6Ok,
    L6Timeout,
    L6Response,
}

internal static class CheckStatusText
{
    /// <summary>check_status in the CSV and Prometheus (L4OK, L4CON, ...).</summary>
    public static string Word(CheckStatus s) => s switch
    {
        CheckStatus.SocketError => "SOCKERR",
        CheckStatus.L4Ok => "L4OK",
        CheckStatus.L4Timeout => "L4TOUT",
        CheckStatus.L4Connection => "L4CON",
        CheckStatus.L6Ok => "L6OK",
        CheckStatus.L6Timeout => "L6TOUT",
        CheckStatus.L6Response => "L6RSP",
        _ => "",
    };

    /// <summary>The "reason:" of the log lines and the CSV's check_desc.</summary>
    public static string Description(CheckStatus s) => s switch
    {
        CheckStatus.SocketError => "Socket error",
        CheckStatus.L4Ok => "Layer4 check passed",
        CheckStatus.L4Timeout => "Layer4 timeout",
        CheckStatus.L4Connection => "Layer4 connection problem",
        CheckStatus.L6Ok => "Layer6 check passed",
        CheckStatus.L6Timeout => "Layer6 timeout",
        CheckStatus.L6Response => "Layer6 invalid response",
        _ => "",
    };

    public static bool Passed(CheckStatus s) => s is CheckStatus.L4Ok or CheckStatus.L6Ok;

    /// <summary>Failures at the TCP layer, which also ask the resolvers for a fresh answer (HAProxy does the same).</summary>
    public static bool IsLayer4Failure(CheckStatus s) => s is CheckStatus.L4Connection or CheckStatus.L4Timeout;
}

/// <summary>What one check found: status, HAProxy's "info" text (may be empty), and how long it took.</summary>
internal readonly record struct CheckResult(CheckStatus Status, string Info, long DurationMs)
{
    public bool Passed => CheckStatusText.Passed(Status);

    /// <summary>
    /// HAProxy's check_append_info: ", reason: ..., info: "...", check duration: Nms" (no code:
    /// layer-7 checks, which carry one, are not run here).
    /// </summary>
    public string AppendInfo()
    {
        var text = ", reason: " + CheckStatusText.Description(Status);
        if (Info.Length > 0) text += ", info: \"" + AsciiEncode(Info) + "\"";
        if (DurationMs >= 0) text += ", check duration: " + DurationMs.ToString(System.Globalization.CultureInfo.InvariantCulture) + "ms";
        return text;
    }

    /// <summary>HAProxy's chunk_asciiencode: the quote and anything outside printable ASCII as "\xHH" (one log line, always).</summary>
    private static string AsciiEncode(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (c == '"' || c < 0x20 || c > 0x7e) sb.Append("\\x").Append(((int)c & 0xff).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
