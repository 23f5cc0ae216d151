using FipsAppliance.Backends;
using FipsAppliance.Backends.Dns;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Logging;
using FipsAppliance.Runtime;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Cli;

internal static class Commands
{
    private static string? IniPath(CommandLine.Arguments a) =>
        a.IniPath ?? (File.Exists(CommandLine.DefaultIniPath) ? CommandLine.DefaultIniPath : null);

    /// <summary>
    /// `-c`: parse, validate and bind, then find each server's start-up address as the daemon would
    /// (`init-addr`); exit 0 when valid. No crypto, no listening sockets.
    /// </summary>
    public static int Check(CommandLine.Arguments a)
    {
        var loaded = ConfigLoader.Load(a.CfgPath, IniPath(a), Console.Error, a.Quiet);
        if (loaded is null) return 1;
        if (!ServerAddressesFound(loaded)) return 1;
        if (a.DumpConfig) Console.Out.Write(Configuration.Cfg.CfgDump.ToText(loaded));
        // HAProxy's -c wording, both on stdout; -q keeps only the exit status.
        if (!a.Quiet)
        {
            if (loaded.Warnings > 0) Console.Out.WriteLine("Warnings were found.");
            Console.Out.WriteLine("Configuration file is valid");
        }
        return 0;
    }

    /// <summary>
    /// The servers' start-up addresses, found as the daemon finds them at start and reload
    /// (<see cref="InitAddr"/>: IP literals, then the line's `init-addr` methods, `libc` being
    /// getaddrinfo), so that a name that cannot resolve fails the check with HAProxy's lines, as
    /// `haproxy -c` does, instead of failing the start or the reload after the check said valid.
    /// The live objects built here hold no socket and are dropped.
    /// </summary>
    private static bool ServerAddressesFound(LoadedConfig loaded)
    {
        using var factory = Logs.Create(loaded.Appliance.Log, quiet: true);
        var log = factory.CreateLogger("datadog-fips-proxy");
        var backends = new List<Backend>();
        foreach (var p in loaded.Proxy.Proxies.Where(p => p.Kind != ProxyKind.Frontend))
        {
            var backend = new Backend(p, log);
            backend.Servers = [.. p.Servers.Select(s => new Server(backend, s, tls: null))];
            backends.Add(backend);
        }
        try
        {
            InitAddr.Assign(backends, [], log);
            return true;
        }
        catch (InitAddrException e)
        {
            log.LogError("{Message}", e.Message);   // after InitAddr's lines saying which servers
            return false;
        }
    }

    /// <summary>`fips-status`: FIPS mode on, verified, and reported; exit 1 when any check fails.</summary>
    public static int FipsStatus(CommandLine.Arguments a)
    {
        var appliance = ConfigLoader.LoadAppliance(IniPath(a), Console.Error);
        if (appliance is null) return 1;
        try
        {
            var report = FipsBootstrap.Enable(appliance.Fips);
            Console.Out.Write(report.ToText());
            return 0;
        }
        catch (FipsRefusal e)
        {
            Console.Error.WriteLine($"[ALERT] ({Environment.ProcessId}) : {e.Message}");
            return 1;
        }
    }

    /// <summary>`tls-probe host:port`: one TLS connection under the policy in force, explained.</summary>
    public static int TlsProbe(CommandLine.Arguments a)
    {
        if (a.Operands.Count != 1) throw new UsageException("tls-probe needs one <host>:<port>.");
        // The policy in force comes from the cfg when there is one (ssl-default-server-*).
        GlobalSection? global = null;
        if (a.CfgPath != CommandLine.DefaultCfgPath || File.Exists(a.CfgPath))
        {
            var loaded = ConfigLoader.Load(a.CfgPath, IniPath(a), Console.Error, quiet: true);
            if (loaded is null) return 1;
            global = loaded.Proxy.Global;
        }
        var appliance = ConfigLoader.LoadAppliance(IniPath(a), Console.Error);
        if (appliance is null) return 1;
        try
        {
            FipsBootstrap.Enable(appliance.Fips);
        }
        catch (FipsRefusal e)
        {
            Console.Error.WriteLine($"[ALERT] ({Environment.ProcessId}) : {e.Message}");
            return 1;
        }
        return Fips.TlsProbe.Run(a.Operands[0], a.CaFile, a.Sni, global, Console.Out);
    }

    /// <summary>The daemon: configuration, then FIPS (fail closed), then listeners.</summary>
    public static int RunDaemon(CommandLine.Arguments a) => Daemon.Run(a.CfgPath, IniPath(a), a.Quiet);
}
