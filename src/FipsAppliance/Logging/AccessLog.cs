using System.Globalization;
using Microsoft.Extensions.Logging;
using ZLogger;

namespace FipsAppliance.Logging;

/// <summary>
/// Access log lines in HAProxy's `option tcplog` and `option httplog` field order, which users
/// grep for. Written through ZLogger (the high-volume stream) with strings and numbers only.
/// </summary>
internal sealed class AccessLog(ILogger logger)
{
    public bool Enabled => logger.IsEnabled(LogLevel.Information);

    /// <summary>HAProxy's accept date: 26/Nov/2026:20:05:38.123</summary>
    public static string Date(DateTime utc) =>
        utc.ToString("dd/MMM/yyyy:HH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>
    /// tcplog: <c>%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq</c>
    /// </summary>
    public void Tcp(string client, int clientPort, DateTime accepted, string frontend, string backend, string server,
        long tw, long tc, long tt, long bytesToClient, string termination, long ac, long fc, long bc, long sc, int retries)
    {
        logger.ZLogInformation($"{client}:{clientPort} [{Date(accepted)}] {frontend} {backend}/{server} {tw}/{tc}/{tt} {bytesToClient} {termination} {ac}/{fc}/{bc}/{sc}/{retries} 0/0");
    }

    /// <summary>
    /// httplog: <c>%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r</c>
    /// (no captured headers here, so %hr %hs are absent like HAProxy prints them without captures).
    /// </summary>
    public void Http(string client, int clientPort, DateTime received, string frontend, string backend, string server,
        long tR, long tw, long tc, long tr, long ta, int status, long bytesToClient, string termination,
        long ac, long fc, long bc, long sc, int retries, string requestLine)
    {
        logger.ZLogInformation($"{client}:{clientPort} [{Date(received)}] {frontend} {backend}/{server} {tR}/{tw}/{tc}/{tr}/{ta} {status} {bytesToClient} - - {termination} {ac}/{fc}/{bc}/{sc}/{retries} 0/0 \"{requestLine}\"");
    }
}
