using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Backends.Dns;

/// <summary>The servers' start-up addresses could not all be found; the lines saying which were logged.</summary>
internal sealed class InitAddrException(string message) : Exception(message);

/// <summary>
/// The address each server starts with, as HAProxy's srv_iterate_initaddr finds it: an IP literal
/// as written; otherwise the `init-addr` methods in order (default `last,libc`), the first that
/// gives an address winning: `last` (the server-state file, which this relay does not keep, so it
/// never gives one), `libc` (getaddrinfo, here and only here: start-up or reload, on the thread
/// building the model, never on a socket thread), an IP literal, or `none` (start without an
/// address, in maintenance until the resolvers give one). Then the servers that name a
/// `resolvers` section are handed to it, and every server and backend takes its start-up state.
/// </summary>
internal static partial class InitAddr
{
    public static void Assign(IReadOnlyList<Backend> backends, IReadOnlyList<ResolversRuntime> resolvers, ILogger log)
    {
        bool failed = false;
        foreach (var backend in backends)
        {
            // The slots of a server-template share one line and one name: resolved once, together.
            foreach (var group in backend.Servers.GroupBy(s => (s.Config.File, s.Config.Line, s.Config.Address)))
            {
                var servers = group.ToArray();
                var first = servers[0].Config;
                if (IPAddress.TryParse(first.Address.Trim('[', ']'), out var literal))
                {
                    foreach (var s in servers) s.SetInitialAddress(literal);
                    continue;
                }
                if (!TryMethods(servers, out bool triedLibc))
                {
                    failed = true;
                    foreach (var s in servers)
                    {
                        if (triedLibc) LogCannotResolve(log, s.Config.File, s.Config.Line, s.FullName, s.Config.Address);
                        else LogNoMethod(log, s.Config.File, s.Config.Line, s.FullName, s.Config.Address);
                    }
                }
                if (first.Resolvers is { } name && resolvers.FirstOrDefault(r => r.Name == name) is { } section)
                    section.Add(first.Address, first.ResolvePrefer == "ipv6", servers);
            }
        }
        if (failed) throw new InitAddrException("config : Failed to initialize server(s) addr.");
        foreach (var backend in backends)
        {
            foreach (var s in backend.Servers) s.InitState();
            backend.InitState();
        }
    }

    /// <summary>Tries the line's methods in order; false when none gave an address and `none` was not among them.</summary>
    private static bool TryMethods(Server[] servers, out bool triedLibc)
    {
        triedLibc = false;
        var c = servers[0].Config;
        var methods = c.InitAddr.Length == 0 ? ["last", "libc"] : c.InitAddr;
        foreach (var method in methods)
        {
            switch (method)
            {
                case "last":
                    continue;   // no server-state file here
                case "none":
                    return true;
                case "libc":
                    triedLibc = true;
                    var found = Libc(c.Address, c.ResolvePrefer == "ipv6");
                    if (found.Length == 0) continue;
                    // A template's slots take the addresses in turn; a lone server takes the first.
                    for (int i = 0; i < servers.Length && i < found.Length; i++) servers[i].SetInitialAddress(found[i]);
                    return true;
                default:
                    if (!IPAddress.TryParse(method, out var ip)) continue;
                    foreach (var s in servers) s.SetInitialAddress(ip);
                    return true;
            }
        }
        return false;
    }

    /// <summary>getaddrinfo's addresses, the preferred family first, each once.</summary>
    private static IPAddress[] Libc(string host, bool preferIpv6)
    {
        try
        {
            var all = System.Net.Dns.GetHostAddresses(host);
            return [.. all.Where(a => (a.AddressFamily == AddressFamily.InterNetworkV6) == preferIpv6).Concat(all).Distinct()];
        }
        catch (SocketException) { return []; }
        catch (ArgumentException) { return []; }
    }

    // HAProxy 2.6's lines (haproxy -c on an unresolvable name), each an [ALERT]:
    //   config : [e.cfg:7] : 'server b1/s1' : could not resolve address 'nosuch.invalid'.
    //   config : [e.cfg:9] : 'server b1/s3' : no method found to resolve address 'nosuch3.invalid'.
    //   config : Failed to initialize server(s) addr.
    [LoggerMessage(Level = LogLevel.Error, Message = "config : [{File}:{Line}] : 'server {Server}' : could not resolve address '{Address}'.")]
    private static partial void LogCannotResolve(ILogger log, string file, int line, string server, string address);

    [LoggerMessage(Level = LogLevel.Error, Message = "config : [{File}:{Line}] : 'server {Server}' : no method found to resolve address '{Address}'.")]
    private static partial void LogNoMethod(ILogger log, string file, int line, string server, string address);
}
