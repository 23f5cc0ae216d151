using System.Net;
using FipsAppliance.Configuration;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Backends.Dns;

/// <summary>
/// A `resolvers` section at work: resolves the name of each group of servers that names it
/// (a `server-template`'s slots share one name), hands the answers out to the slots, keeps
/// the last good answer for `hold valid` when a later resolution fails, and empties the slots
/// (servers without an address take no traffic) when failures last longer than the hold.
/// </summary>
internal sealed partial class ResolversRuntime : IDisposable
{
    private readonly ResolversSection _config;
    private readonly IPEndPoint[] _nameservers;
    private readonly List<Group> _groups = [];
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();

    public ResolversRuntime(ResolversSection config, ILogger log)
    {
        _config = config;
        _log = log;
        var ns = new List<IPEndPoint>();
        foreach (var n in config.Nameservers)
            if (IPAddress.TryParse(n.Address, out var ip)) ns.Add(new IPEndPoint(ip, n.Port));
        if (config.ParseResolvConf) ns.AddRange(ReadResolvConf());
        _nameservers = [.. ns];
    }

    public string Name => _config.Name;

    private sealed class Group(string fqdn, bool ipv6, Server[] servers)
    {
        public string Fqdn { get; } = fqdn;
        public bool Ipv6 { get; } = ipv6;
        public Server[] Servers { get; } = servers;
        public long LastSuccess = Environment.TickCount64;
    }

    public void Add(string fqdn, bool preferIpv6, Server[] servers) => _groups.Add(new Group(fqdn, preferIpv6, servers));

    /// <summary>Resolves every group now (before listeners open), then keeps refreshing in the background.</summary>
    public async Task StartAsync()
    {
        await ResolveAllAsync();
        _ = Task.Run(RefreshLoopAsync);
    }

    private async Task RefreshLoopAsync()
    {
        // HAProxy re-asks every `timeout resolve`; once per `hold valid` is enough for intake
        // names and keeps an idle appliance idle.
        int period = Math.Max(1000, _config.Hold.Valid);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(period, _stop.Token);
                await ResolveAllAsync();
            }
        }
        catch (OperationCanceledException) { }
    }

    private Task ResolveAllAsync() => Task.WhenAll(_groups.Select(ResolveAsync));

    private async Task ResolveAsync(Group g)
    {
        var (status, addresses) = await DnsClient.ResolveAsync(g.Fqdn, g.Ipv6, _nameservers,
            _config.ResolveRetries, _config.TimeoutRetry, _config.AcceptedPayloadSize);
        if (status == DnsStatus.Valid && addresses.Length == 0)
        {
            // resolve-prefer is a preference: fall back to the other family.
            (status, addresses) = await DnsClient.ResolveAsync(g.Fqdn, !g.Ipv6, _nameservers,
                _config.ResolveRetries, _config.TimeoutRetry, _config.AcceptedPayloadSize);
        }
        if (status == DnsStatus.Valid && addresses.Length > 0)
        {
            g.LastSuccess = Environment.TickCount64;
            Assign(g, addresses);
            return;
        }
        var hold = _config.Hold;
        int holdMs = status switch
        {
            DnsStatus.Nx => hold.Nx,
            DnsStatus.Refused => hold.Refused,
            DnsStatus.Timeout => hold.Timeout,
            _ => hold.Other,
        };
        if (Environment.TickCount64 - g.LastSuccess > Math.Max(holdMs, hold.Valid) && g.Servers.Any(s => s.EndPoint is not null))
        {
            LogNoAnswer(_log, _config.Name, g.Fqdn, status.ToString());
            foreach (var s in g.Servers) s.EndPoint = null;
        }
    }

    /// <summary>Slots keep an address that is still in the answer; new addresses fill empty slots.</summary>
    private void Assign(Group g, IPAddress[] addresses)
    {
        var remaining = new List<IPAddress>(addresses.OrderBy(a => a.ToString(), StringComparer.Ordinal));
        var keep = new bool[g.Servers.Length];
        for (int i = 0; i < g.Servers.Length; i++)
        {
            var ep = g.Servers[i].EndPoint;
            if (ep is not null && remaining.Remove(ep.Address)) keep[i] = true;
        }
        for (int i = 0; i < g.Servers.Length; i++)
        {
            if (keep[i]) continue;
            var s = g.Servers[i];
            if (remaining.Count > 0)
            {
                var ip = remaining[0];
                remaining.RemoveAt(0);
                var port = s.Config.Port == 0 ? 443 : s.Config.Port;
                if (s.EndPoint is null || !s.EndPoint.Address.Equals(ip))
                    LogAddressChanged(_log, s.FullName, s.Address == "" ? "none" : s.Address, ip.ToString(), _config.Name);
                s.EndPoint = new IPEndPoint(ip, port);
            }
            else if (s.EndPoint is not null)
            {
                s.EndPoint = null;
            }
        }
    }

    private static IEnumerable<IPEndPoint> ReadResolvConf()
    {
        string[] lines;
        try { lines = File.ReadAllLines("/etc/resolv.conf"); }
        catch (IOException) { yield break; }
        catch (UnauthorizedAccessException) { yield break; }
        foreach (var line in lines)
        {
            var words = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2 && words[0] == "nameserver" && IPAddress.TryParse(words[1], out var ip))
                yield return new IPEndPoint(ip, 53);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    // HAProxy's line when DNS moves a server: "<backend>/<server> changed its IP from <old> to <new> by <resolvers>/<ns>."
    [LoggerMessage(Level = LogLevel.Information, Message = "{Server} changed its IP from {Old} to {New} by DNS cache ({Resolvers}).")]
    private static partial void LogAddressChanged(ILogger log, string server, string old, string @new, string resolvers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "resolvers '{Resolvers}': no valid answer for '{Name}' ({Status}) past the hold period: its servers take no traffic.")]
    private static partial void LogNoAnswer(ILogger log, string resolvers, string name, string status);
}
