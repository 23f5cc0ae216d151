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

/// <summary>
/// Answers requests for a `stats enable` proxy's `stats uri` (HTML, `;csv`) and `/metrics`
/// (Prometheus) from the live model, on the session that received them.
/// </summary>
internal sealed class StatsService(IStatsSource source)
{
    public bool TryServe(ReadOnlySpan<byte> target, StatsSettings settings, out StatsReply reply)
    {
        if (!StatsPage.TryMatch(target, settings.Uri, out StatsRequest request))
        {
            reply = default;
            return false;
        }
        var options = new StatsPageOptions(DateTimeOffset.UtcNow, settings.RefreshSeconds, request.NoRefresh, settings.Uri);
        reply = new StatsReply(StatsPage.Render(source, request.Format, options), StatsPage.ContentType(request.Format));
        return true;
    }
}
