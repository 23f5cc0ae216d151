using Microsoft.Extensions.Logging;

namespace FipsAppliance.Http;

internal sealed partial class HttpSession
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy {Frontend}: rejected a malformed request from {Client}: {Reason}.")]
    private static partial void LogRejected(ILogger log, string frontend, string reason, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy {Frontend}: no backend for the request (no use_backend matched and no default_backend).")]
    private static partial void LogNoBackend(ILogger log, string frontend);

    [LoggerMessage(Level = LogLevel.Warning, Message = "backend '{Backend}': TLS to intake refused: {Reason}.")]
    private static partial void LogTlsRefused(ILogger log, string backend, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "backend '{Backend}': no socket for a server connection: {Reason}.")]
    private static partial void LogNoSocket(ILogger log, string backend, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Server {Server}: {Reason}.")]
    private static partial void LogServerBroke(ILogger log, string server, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Server {Server}: no response within timeout server ({TimeoutMs}ms).")]
    private static partial void LogServerTimeout(ILogger log, string server, int timeoutMs);
}
