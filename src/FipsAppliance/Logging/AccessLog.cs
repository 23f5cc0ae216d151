using FipsAppliance.Configuration;
using Microsoft.Extensions.Logging;
using ZLogger;
using ZLogger.Providers;

namespace FipsAppliance.Logging;

/// <summary>
/// Access log lines in HAProxy's `option tcplog` and `option httplog` field order, which users
/// grep for, sent where the cfg's `log` lines say: a frontend's own `log` lines plus global's
/// when it has `log global`; nowhere when it has neither (HAProxy's rule). Written through
/// ZLogger (the high-volume stream) with strings and numbers only; one per live model, since
/// the targets come from its cfg.
/// </summary>
internal sealed partial class AccessLog : IAsyncDisposable
{
    /// <summary>The syslog tag when the cfg has no `log-tag`: the program's name, as HAProxy uses its own.</summary>
    public const string DefaultTag = "datadog-fips-proxy";

    private readonly Dictionary<string, ILogger> _byFrontend;
    private readonly AccessLogProcessor? _processor;
    private readonly List<LogSink> _ownedSinks;

    private AccessLog(Dictionary<string, ILogger> byFrontend, AccessLogProcessor? processor, List<LogSink> ownedSinks)
    {
        _byFrontend = byFrontend;
        _processor = processor;
        _ownedSinks = ownedSinks;
    }

    /// <summary>An access log that writes nowhere (a cfg without `log` lines; in-process session tests).</summary>
    public static AccessLog None { get; } = new([], null, []);

    /// <summary>
    /// An access log writing each named frontend's lines to a logger of <paramref name="factory"/>
    /// (category = frontend name): for in-process session tests that check what is logged.
    /// </summary>
    public static AccessLog To(ILoggerFactory factory, params string[] frontends) =>
        new(frontends.ToDictionary(f => f, factory.CreateLogger, StringComparer.Ordinal), null, []);

    /// <summary>At least one frontend has somewhere to log to.</summary>
    public bool Enabled => _byFrontend.Count > 0;

    /// <summary>
    /// The access log of a configuration. Datagram targets get sockets of their own (closed with
    /// the model); stdout and stderr are the process's (<paramref name="streams"/>).
    /// </summary>
    public static AccessLog Create(ProxyConfig config, Func<string, LogSink> streams, string tag, ILogger log, List<string> warnings)
    {
        var sinks = new Dictionary<string, LogSink>(StringComparer.Ordinal);
        var owned = new List<LogSink>();
        var destinations = new Dictionary<string, LogDestination[]>(StringComparer.Ordinal);
        foreach (var p in config.Proxies)
        {
            if (p.Kind == ProxyKind.Backend) continue;
            IEnumerable<LogTarget> targets = p.LogGlobal ? p.Logs.Concat(config.Global.Logs) : p.Logs;
            var list = new List<LogDestination>();
            foreach (var t in targets)
            {
                if (!sinks.TryGetValue(t.Target, out var sink))
                {
                    if (t.Target is "stdout" or "stderr") sink = streams(t.Target);
                    else if (LogTargets.EndPointOf(t.Target, out var error) is { } endPoint)
                    {
                        sink = new DatagramSink(t.Target, endPoint);
                        owned.Add(sink);
                    }
                    else
                    {
                        warnings.Add($"{error}: access lines for it are dropped [{t.File}:{t.Line}]");
                        continue;
                    }
                    sinks[t.Target] = sink;
                }
                list.Add(new LogDestination(sink, SyslogFrame.ParseFormat(t.Format), SyslogFrame.Facility(t.Facility),
                    SyslogFrame.Level(t.Level), t.MinLevel is null ? 0 : SyslogFrame.Level(t.MinLevel), t.Len ?? SyslogFrame.DefaultMaxLength));
            }
            if (list.Count > 0) destinations[p.Name] = [.. list];
        }
        if (destinations.Count == 0) return new AccessLog([], null, owned);

        // ZLogger's own logger per frontend, not through a LoggerFactory: Microsoft.Extensions.Logging's
        // Logger wrapper (filters, a loop over providers) cost 0.2 % of the relay's CPU for the one
        // provider and level this log has (perf, 1 KiB POSTs with the default line per request).
        var options = new ZLoggerOptions().UsePlainTextFormatter();
        var processor = new AccessLogProcessor(destinations, options.CreateFormatter(), tag, config.Global.LogSendHostname, log);
        var provider = new ZLoggerLogProcessorLoggerProvider(processor, options);
        var byFrontend = destinations.Keys.ToDictionary(name => name, provider.CreateLogger, StringComparer.Ordinal);
        return new AccessLog(byFrontend, processor, owned);
    }

    /// <summary>Whether <paramref name="frontend"/> writes the <see cref="Connect"/> line: it has somewhere to log and no log format option.</summary>
    public bool WritesConnectLine(string frontend, bool httpLog, bool tcpLog) => !httpLog && !tcpLog && _byFrontend.ContainsKey(frontend);

    /// <summary>
    /// HAProxy's default format, for a frontend that has somewhere to log but neither `option
    /// httplog` nor `option tcplog` (the shipped cfg's HTTP frontends): one line when a stream
    /// starts, which is per request in HTTP mode and per connection in TCP mode (frontend_accept
    /// in 2.6; `option dontlognull` does not apply, the line is written before any data).
    /// <c>Connect from 127.0.0.1:40412 to 127.0.0.1:9804 (metrics-forwarder/HTTP)</c>
    /// </summary>
    public void Connect(string client, int clientPort, string local, int localPort, string frontend, bool http)
    {
        if (!_byFrontend.TryGetValue(frontend, out var logger)) return;
        ConnectLine(logger, client, clientPort, local, localPort, frontend, http ? "HTTP" : "TCP");
    }

    /// <summary>
    /// tcplog: <c>%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq</c>
    /// </summary>
    public void Tcp(string client, int clientPort, DateTime accepted, string frontend, string backend, string server,
        long tw, long tc, long tt, long bytesToClient, string termination, long ac, long fc, long bc, long sc, int retries)
    {
        if (!_byFrontend.TryGetValue(frontend, out var logger)) return;
        TcpLine(logger, client, clientPort, accepted, frontend, backend, server, tw, tc, tt, bytesToClient, termination, ac, fc, bc, sc, retries);
    }

    /// <summary>
    /// httplog: <c>%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r</c>
    /// (no captured headers here, so %hr %hs are absent like HAProxy prints them without captures).
    /// </summary>
    public void Http(string client, int clientPort, DateTime received, string frontend, string backend, string server,
        long tR, long tw, long tc, long tr, long ta, int status, long bytesToClient, string termination,
        long ac, long fc, long bc, long sc, int retries, string requestLine)
    {
        if (!_byFrontend.TryGetValue(frontend, out var logger)) return;
        HttpLine(logger, client, clientPort, received, frontend, backend, server, tR, tw, tc, tr, ta, status, bytesToClient, termination, ac, fc, bc, sc, retries, "\"", requestLine, "\"");
    }

    // The lines as ZLogger source-generated methods: a session only copies its arguments into a
    // generated struct (pooled entry, no boxing, no formatting); the writer formats them straight to
    // UTF-8. The default line took 3.0 % of the relay's CPU on the session's side with
    // ZLogInformation($"...") through a LoggerFactory (interpolated string handler, its state and
    // literal cache, the MEL wrapper), 1.1 % like this (perf, 1 KiB POSTs, a line per request).
    // The accept date is formatted on the writer too (HAProxy's 26/Nov/2026:20:05:38.123; the
    // process runs with the invariant culture). ZLogger 2.6.1's generator copies a template's text
    // into C# literals unescaped, so the quotes of %{+Q}r come in as arguments; parameter names
    // differ by more than case (it matches them to the template ignoring case).
    [ZLoggerMessage(LogLevel.Information, "Connect from {client}:{clientPort} to {local}:{localPort} ({frontend}/{mode})")]
    private static partial void ConnectLine(ILogger logger, string client, int clientPort, string local, int localPort, string frontend, string mode);

    [ZLoggerMessage(LogLevel.Information, "{client}:{clientPort} [{date:dd/MMM/yyyy:HH:mm:ss.fff}] {frontend} {backend}/{server} {tw}/{tc}/{tt} {bytesToClient} {termination} {ac}/{fc}/{bc}/{sc}/{retries} 0/0")]
    private static partial void TcpLine(ILogger logger, string client, int clientPort, DateTime date, string frontend, string backend, string server,
        long tw, long tc, long tt, long bytesToClient, string termination, long ac, long fc, long bc, long sc, int retries);

    [ZLoggerMessage(LogLevel.Information, "{client}:{clientPort} [{date:dd/MMM/yyyy:HH:mm:ss.fff}] {frontend} {backend}/{server} {tRequest}/{tw}/{tc}/{tr}/{ta} {status} {bytesToClient} - - {termination} {ac}/{fc}/{bc}/{sc}/{retries} 0/0 {openQuote}{requestLine}{closeQuote}")]
    private static partial void HttpLine(ILogger logger, string client, int clientPort, DateTime date, string frontend, string backend, string server,
        long tRequest, long tw, long tc, long tr, long ta, int status, long bytesToClient, string termination, long ac, long fc, long bc, long sc, int retries, string openQuote, string requestLine, string closeQuote);

    /// <summary>Writes what is queued (bounded), then closes this model's own sockets.</summary>
    public async ValueTask DisposeAsync()
    {
        // The processor drains its queue (bounded wait).
        if (_processor is not null) await _processor.DisposeAsync();
        foreach (var s in _ownedSinks) s.Dispose();
    }
}
