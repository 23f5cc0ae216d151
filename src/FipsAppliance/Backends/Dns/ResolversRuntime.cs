using System.Net;
using FipsAppliance.Configuration;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Backends.Dns;

/// <summary>
/// A `resolvers` section at work: its nameservers and the names (<see cref="Resolution"/>) its
/// servers ask for. Belongs to one live model: <see cref="Dispose"/> stops every resolution loop,
/// and nothing here is shared with another model.
/// </summary>
internal sealed class ResolversRuntime : IDisposable
{
    private readonly List<Resolution> _resolutions = [];
    private readonly CancellationTokenSource _stop = new();

    public ResolversRuntime(ResolversSection config, ILogger log)
    {
        Config = config;
        Log = log;
        var ns = new List<DnsServer>();
        foreach (var n in config.Nameservers)
            if (IPAddress.TryParse(n.Address.Trim('[', ']'), out var ip)) ns.Add(new DnsServer(n.Name, new IPEndPoint(ip, n.Port)));
        // Read here, while the model is built (start-up or reload, on the main thread), never later.
        if (config.ParseResolvConf) ns.AddRange(ReadResolvConf("/etc/resolv.conf"));
        Nameservers = [.. ns];
    }

    public ResolversSection Config { get; }
    public ILogger Log { get; }
    public string Name => Config.Name;
    public IReadOnlyList<DnsServer> Nameservers { get; }
    public IReadOnlyList<Resolution> Resolutions => _resolutions;

    /// <summary>Keeps <paramref name="fqdn"/> resolved for <paramref name="servers"/> (the slots that share it).</summary>
    public Resolution Add(string fqdn, bool preferIpv6, Server[] servers)
    {
        var resolution = new Resolution(this, fqdn, preferIpv6, servers);
        foreach (var s in servers) s.Resolution = resolution;
        _resolutions.Add(resolution);
        return resolution;
    }

    /// <summary>Resolves every name now (before the listeners accept), then keeps them resolved in the background.</summary>
    public async Task StartAsync()
    {
        var stop = _stop.Token;
        await Task.WhenAll(_resolutions.Select(r => r.ResolveOnceAsync(stop)));
        foreach (var r in _resolutions) _ = Task.Run(() => r.LoopAsync(stop), CancellationToken.None);
    }

    /// <summary>resolv.conf's `nameserver` lines, named as HAProxy names them ("resolv.conf:&lt;line&gt;").</summary>
    internal static IEnumerable<DnsServer> ReadResolvConf(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (IOException) { yield break; }
        catch (UnauthorizedAccessException) { yield break; }
        for (int i = 0; i < lines.Length; i++)
        {
            var words = lines[i].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2 && words[0] == "nameserver" && IPAddress.TryParse(words[1], out var ip))
                yield return new DnsServer($"resolv.conf:{i + 1}", new IPEndPoint(ip, 53));
        }
    }

    public void Dispose() => _stop.Cancel();
}

/// <summary>What the resolvers say beyond HAProxy's server lines: when a name stops resolving (once) and when it resolves again.</summary>
internal static partial class ResolversLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "resolvers '{Resolvers}': no valid answer for '{Name}' ({Reason}); its servers keep their last good addresses for the hold period. Said once until it resolves again.")]
    public static partial void Failing(ILogger log, string resolvers, string name, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "resolvers '{Resolvers}': '{Name}' resolves again.")]
    public static partial void Resolves(ILogger log, string resolvers, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "resolvers '{Resolvers}': resolving '{Name}' failed with an unexpected {Type}: {Message}. Said once; resolving goes on.")]
    public static partial void Crashed(ILogger log, string resolvers, string name, string type, string message);
}
