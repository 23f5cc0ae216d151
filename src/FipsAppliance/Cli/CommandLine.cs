namespace FipsAppliance.Cli;

/// <summary>
/// HAProxy's command-line habits: `-f &lt;file&gt;` (default /etc/datadog-fips-proxy/datadog-fips-proxy.cfg),
/// `-c` check only, `-q` quiet, `-v` version, `--help`; plus the appliance's own diagnostics as
/// sub-commands: `fips-status` and `tls-probe host:port`.
/// </summary>
internal static class CommandLine
{
    public const string DefaultCfgPath = "/etc/datadog-fips-proxy/datadog-fips-proxy.cfg";
    public const string DefaultIniPath = "/etc/datadog-fips-proxy/datadog-fips-proxy.ini";

    public static string Version =>
        typeof(CommandLine).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    internal sealed class Arguments
    {
        public string CfgPath { get; set; } = DefaultCfgPath;
        /// <summary>Null: use DefaultIniPath when it exists.</summary>
        public string? IniPath { get; set; }
        public bool CheckOnly { get; set; }
        /// <summary>`--dump-config` (with -c): print the bound model as a normalised cfg.</summary>
        public bool DumpConfig { get; set; }
        public bool Quiet { get; set; }
        public string? Command { get; set; }
        public List<string> Operands { get; } = [];
        public string? CaFile { get; set; }
        public string? Sni { get; set; }
    }

    public static int Run(string[] args)
    {
        var a = new Arguments();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "-f": a.CfgPath = Next(args, ref i, arg); break;
                case "--ini": a.IniPath = Next(args, ref i, arg); break;
                case "-c": a.CheckOnly = true; break;
                case "-q": a.Quiet = true; break;
                case "--dump-config": a.DumpConfig = true; break;
                case "--ca-file": a.CaFile = Next(args, ref i, arg); break;
                case "--sni": a.Sni = Next(args, ref i, arg); break;
                case "-v" or "-vv" or "--version":
                    Console.Out.WriteLine($"datadog-fips-proxy version {Version} (FIPS relay, HAProxy 2.6 configuration language)");
                    return 0;
                case "-h" or "--help" or "help":
                    Console.Out.Write(Usage);
                    return 0;
                default:
                    if (arg.StartsWith('-'))
                    {
                        Console.Error.WriteLine($"[ALERT] ({Environment.ProcessId}) : unknown option '{arg}'. Try --help.");
                        return 1;
                    }
                    if (a.Command is null && a.Operands.Count == 0 && arg is "fips-status" or "tls-probe" or "run" or "check")
                        a.Command = arg;
                    else
                        a.Operands.Add(arg);
                    break;
            }
        }

        if (a.CheckOnly) a.Command = "check";
        try
        {
            return (a.Command ?? "run") switch
            {
                "check" => Commands.Check(a),
                "fips-status" => Commands.FipsStatus(a),
                "tls-probe" => Commands.TlsProbe(a),
                _ => Commands.RunDaemon(a),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"[ALERT] ({Environment.ProcessId}) : {e.Message}");
            return 1;
        }
    }

    private static string Next(string[] args, ref int i, string option)
    {
        if (i + 1 >= args.Length) throw new UsageException($"option '{option}' needs an argument.");
        return args[++i];
    }

    public const string Usage = """
        Usage: datadog-fips-proxy [-f <cfgfile>] [--ini <inifile>] [-c [--dump-config]] [-q]
               datadog-fips-proxy fips-status [--ini <inifile>]
               datadog-fips-proxy tls-probe <host>:<port> [--ca-file <bundle>] [--sni <name>] [-f <cfgfile>]
               datadog-fips-proxy -v | --help

        A FIPS relay for the Datadog Agent: plain HTTP from the Agent on 127.0.0.1:9803-9818,
        TLS to the US1-FED intake through the OpenSSL FIPS provider only.

          -f <cfgfile>   HAProxy-style configuration (default /etc/datadog-fips-proxy/datadog-fips-proxy.cfg)
          --ini <file>   appliance settings: FIPS module paths, ports, log format
                         (default /etc/datadog-fips-proxy/datadog-fips-proxy.ini when present)
          -c             check the configuration and exit: 0 valid, 1 invalid
          --dump-config  with -c: print the configuration as bound, every inherited value spelled out
          -q             quiet: no warnings or notices on the terminal
          -v             print the version and exit

          fips-status    put the process in FIPS mode, verify it and print which module runs
          tls-probe      open one TLS connection under the policy in force and print the protocol,
                         cipher suite, key-exchange group and verified chain, or why it failed

        Environment: DD_FIPS_LOCAL_ADDRESS (the ${DD_FIPS_LOCAL_ADDRESS} of the binds),
                     DD_FIPS_PORT_RANGE_START (moves the whole 9803-9818 range).

        """;
}

internal sealed class UsageException(string message) : Exception(message);
