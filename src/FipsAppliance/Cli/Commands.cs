using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Runtime;

namespace FipsAppliance.Cli;

internal static class Commands
{
    private static string? IniPath(CommandLine.Arguments a) =>
        a.IniPath ?? (File.Exists(CommandLine.DefaultIniPath) ? CommandLine.DefaultIniPath : null);

    /// <summary>`-c`: parse, validate and bind; exit 0 when valid. No crypto, no sockets.</summary>
    public static int Check(CommandLine.Arguments a)
    {
        var loaded = ConfigLoader.Load(a.CfgPath, IniPath(a), Console.Error, a.Quiet);
        if (loaded is null) return 1;
        if (a.DumpConfig) Console.Out.Write(Configuration.Cfg.CfgDump.ToText(loaded));
        // HAProxy's -c wording, both on stdout; -q keeps only the exit status.
        if (!a.Quiet)
        {
            if (loaded.Warnings > 0) Console.Out.WriteLine("Warnings were found.");
            Console.Out.WriteLine("Configuration file is valid");
        }
        return 0;
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
