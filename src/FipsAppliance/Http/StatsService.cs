using System.Text;
using FipsAppliance.Configuration;
using FipsAppliance.Stats;

namespace FipsAppliance.Http;

/// <summary>A ready-to-send stats reply.</summary>
internal readonly struct StatsReply(byte[] body, string contentType)
{
    public byte[] Build(bool keepAlive)
    {
        var head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\ncontent-type: {contentType}\r\ncontent-length: {body.Length}\r\ncache-control: no-cache\r\n{(keepAlive ? "" : "connection: close\r\n")}\r\n");
        var all = new byte[head.Length + body.Length];
        head.CopyTo(all, 0);
        body.CopyTo(all, head.Length);
        return all;
    }
}

/// <summary>Serves the stats page of a `stats enable` proxy from the live model. STUB until the renderers land.</summary>
internal sealed class StatsService(IStatsSource source)
{
    public bool TryServe(ReadOnlySpan<byte> path, StatsSettings settings, out StatsReply reply)
    {
        reply = new StatsReply(Encoding.UTF8.GetBytes($"datadog-fips-proxy {source.Version}\n"), "text/plain");
        return true;
    }
}
