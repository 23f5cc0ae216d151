using System.Net;
using System.Net.Sockets;
using FipsAppliance.Backends;
using FipsAppliance.Backends.Dns;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Frontends;
using FipsAppliance.Http;
using FipsAppliance.Stats;
using FipsAppliance.Tcp;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Runtime;

/// <summary>
/// The live model built from one <see cref="ProxyConfig"/>: frontends with their listening sockets,
/// backends with their servers (addresses, pools, counters), the resolvers at work. A reload will
/// build a second one and let this one drain; nothing here writes back into the configuration.
/// </summary>
internal sealed partial class ProxyRuntime : IStatsSource, IDisposable
{
    private readonly List<Frontend> _frontends = [];
    private readonly List<Backend> _backends = [];
    private readonly List<ResolversRuntime> _resolvers = [];
    private readonly ProxyContext _context;
    private readonly ConnectionLimit? _globalLimit;
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly List<Task> _acceptLoops = [];

    public ProxyRuntime(ProxyConfig config, ProxyContext context, FipsReport fips)
    {
        _context = context;
        FipsSummary = fips.ToLogLine();
        FipsProvider = fips.ProviderName;
        FipsProviderVersion = fips.ProviderVersion;
        MaxConn = config.Global.MaxConn;
        _globalLimit = config.Global.MaxConn > 0 ? new ConnectionLimit(config.Global.MaxConn) : null;

        // This model's TLS policies and CA trust: a reload's model re-reads replaced CA files.
        var tls = new TlsPolicies(config.Global);
        foreach (var p in config.Proxies)
        {
            if (p.Kind == ProxyKind.Frontend) continue;
            var backend = new Backend(p);
            backend.Servers = [.. p.Servers.Select(s => new Server(backend, s, s.Ssl ? tls.For(s) : null))];
            _backends.Add(backend);
        }
        foreach (var p in config.Proxies)
        {
            if (p.Kind == ProxyKind.Backend) continue;
            var routing = new Routing(p, name => _backends.FirstOrDefault(b => b.Name == name));
            _frontends.Add(new Frontend(p, routing, _globalLimit));
        }
        foreach (var r in config.Resolvers) _resolvers.Add(new ResolversRuntime(r, context.Log));
        AssignAddresses();
    }


    /// <summary>
    /// Fixed addresses now; names through `init-addr` (libc at start, or `none` to wait for the
    /// resolvers) and the resolvers named by the server lines.
    /// </summary>
    private void AssignAddresses()
    {
        foreach (var backend in _backends)
        {
            foreach (var group in backend.Servers.GroupBy(s => (s.Config.Address, s.Config.Resolvers, s.Config.Template)))
            {
                var servers = group.ToArray();
                var first = servers[0].Config;
                if (IPAddress.TryParse(first.Address.Trim('[', ']'), out var ip))
                {
                    foreach (var s in servers) s.EndPoint = new IPEndPoint(ip, s.Config.Port == 0 ? 443 : s.Config.Port);
                    continue;
                }
                foreach (var method in first.InitAddr)
                {
                    if (method == "libc")
                    {
                        try
                        {
                            var addresses = Dns.GetHostAddresses(first.Address);
                            var preferred = addresses.Where(a => (a.AddressFamily == AddressFamily.InterNetworkV6) == (first.ResolvePrefer == "ipv6"))
                                .Concat(addresses).ToArray();
                            if (preferred.Length > 0)
                            {
                                for (int i = 0; i < servers.Length && i < (first.Template is null ? 1 : preferred.Length); i++)
                                    servers[i].EndPoint = new IPEndPoint(preferred[i], servers[i].Config.Port == 0 ? 443 : servers[i].Config.Port);
                                break;
                            }
                        }
                        catch (SocketException) { }
                    }
                    else if (method == "none") break;
                    else if (IPAddress.TryParse(method, out var fixedIp))
                    {
                        foreach (var s in servers) s.EndPoint = new IPEndPoint(fixedIp, s.Config.Port == 0 ? 443 : s.Config.Port);
                        break;
                    }
                }
                if (first.Resolvers is { } name && _resolvers.FirstOrDefault(r => r.Name == name) is { } resolvers)
                    resolvers.Add(first.Address, first.ResolvePrefer == "ipv6", servers);
            }
        }
    }

    /// <summary>Opens every listener; on the first failure closes what was opened and returns HAProxy's message.</summary>
    public string? Bind()
    {
        foreach (var f in _frontends)
        {
            if (f.Bind() is { } error)
            {
                foreach (var g in _frontends) g.CloseListeners();
                return error;
            }
        }
        return null;
    }

    /// <summary>First resolution of every resolvers-fed server, then background refresh.</summary>
    public Task StartResolversAsync() => Task.WhenAll(_resolvers.Select(r => r.StartAsync()));

    public void StartAccepting()
    {
        SessionTimer.Housekeeping = () =>
        {
            foreach (var b in _backends)
                foreach (var s in b.Servers) s.Pool.Purge();
        };
        foreach (var f in _frontends)
            foreach (var l in f.Listeners)
                _acceptLoops.Add(Task.Run(() => AcceptLoopAsync(f, l)));
    }

    private async Task AcceptLoopAsync(Frontend frontend, Socket listener)
    {
        var stop = _stopAccepting.Token;
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                // Wait for a slot before accept(): past maxconn, connections queue in the kernel.
                if (frontend.GlobalLimit is { } g) await g.WaitAsync(stop);
                if (frontend.Limit is { } l)
                {
                    try { await l.WaitAsync(stop); }
                    catch (OperationCanceledException) { frontend.GlobalLimit?.Release(); throw; }
                }
                try
                {
                    client = await listener.AcceptAsync(stop);
                }
                catch
                {
                    frontend.Limit?.Release();
                    frontend.GlobalLimit?.Release();
                    throw;
                }
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                LogAcceptFailed(_context.Log, frontend.Name, e.Message);
                await Task.Delay(100);
                continue;
            }
            client.NoDelay = true;
            _ = RunSessionAsync(frontend, client);
        }
    }

    private async Task RunSessionAsync(Frontend frontend, Socket client)
    {
        _context.ConnectionOpened();
        frontend.Counters.SessionOpened();
        try
        {
            if (frontend.Mode == ProxyMode.Http)
                await new HttpSession(client, frontend, _context).RunAsync();
            else
                await new TcpSession(client, frontend, _context).RunAsync();
        }
        catch (Exception e)
        {
            // A session must never take the process down; this is a bug worth a loud line.
            LogSessionCrashed(_context.Log, frontend.Name, e.GetType().Name, e.Message);
            client.Dispose();
        }
        finally
        {
            frontend.Counters.SessionClosed();
            _context.ConnectionClosed();
            frontend.Limit?.Release();
            frontend.GlobalLimit?.Release();
        }
    }

    /// <summary>Stops accepting and closes the listeners; sessions in flight go on.</summary>
    public void StopAccepting()
    {
        _stopAccepting.Cancel();
        foreach (var f in _frontends) f.CloseListeners();
    }

    public void Dispose()
    {
        StopAccepting();
        foreach (var r in _resolvers) r.Dispose();
        foreach (var b in _backends)
            foreach (var s in b.Servers) s.Pool.Clear();
    }

    /// <summary>Cipher names the TLS policies dropped (unknown or not FIPS-approved), one line per server line.</summary>
    public IEnumerable<string> TlsWarnings =>
        _backends.SelectMany(b => b.Servers)
            .Where(s => s.Tls is { Warnings.Count: > 0 })
            .DistinctBy(s => (s.Config.File, s.Config.Line))   // one line per server-template, not per slot
            .Select(s => $"Server {s.FullName}: {string.Join("; ", s.Tls!.Warnings)} [{s.Config.File}:{s.Config.Line}]");

    public int FrontendCount => _frontends.Count;
    public int BackendCount => _backends.Count;
    public int ServerCount => _backends.Sum(b => b.Servers.Length);

    // --- IStatsSource ---
    public string Version => Cli.CommandLine.Version;
    public int ProcessId => Environment.ProcessId;
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
    public string FipsSummary { get; }
    public string FipsProvider { get; }
    public string FipsProviderVersion { get; }
    public long CurrentConnections => _context.ActiveConnections;
    public int MaxConn { get; }
    public IReadOnlyList<IFrontendStats> Frontends => _frontends;
    public IReadOnlyList<IBackendStats> Backends => _backends;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy {Frontend}: accept() failed: {Reason}.")]
    private static partial void LogAcceptFailed(ILogger log, string frontend, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Proxy {Frontend}: session ended by an unexpected {Type}: {Message}")]
    private static partial void LogSessionCrashed(ILogger log, string frontend, string type, string message);
}
