namespace FipsAppliance.Runtime;

/// <summary>STUB: the relay issue fills this in.</summary>
internal static class Daemon
{
    public static int Run(string cfgPath, string? iniPath, bool quiet) => 1;
}
