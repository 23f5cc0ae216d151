using Microsoft.Extensions.Logging;

namespace FipsAppliance.Backends.Health;

/// <summary>
/// The log lines of server and backend state, in HAProxy 2.6's words and levels on stderr, as
/// Debian's haproxy 2.6.12 prints them (measured, and read in src/server.c srv_update_status,
/// src/check.c check_append_info, src/backend.c set_backend_down):
/// every server line is an ha_warning ([WARNING]), UP included; "has no server available!" is an
/// ha_alert ([ALERT]). The vendor's troubleshooting page quotes these lines; its users grep for them.
/// </summary>
internal static partial class HealthLog
{
    /// <summary>"Server b/s is DOWN, reason: ...", "... is UP, ...", maintenance enter/leave, "changed its IP".</summary>
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Line}")]
    public static partial void StateChanged(ILogger log, string line);

    [LoggerMessage(Level = LogLevel.Error, Message = "backend '{Backend}' has no server available!")]
    public static partial void NoServerAvailable(ILogger log, string backend);

    [LoggerMessage(Level = LogLevel.Error, Message = "Health check for server {Server} could not run: {Type}: {Message}")]
    public static partial void CheckCrashed(ILogger log, string server, string type, string message);
}
