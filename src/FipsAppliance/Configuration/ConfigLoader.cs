using FipsAppliance.Configuration.Cfg;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Ini;

namespace FipsAppliance.Configuration;

/// <summary>The configuration as the daemon uses it: the bound cfg and the appliance settings.</summary>
public sealed record LoadedConfig(ProxyConfig Proxy, ApplianceSettings Appliance)
{
    /// <summary>How many `[WARNING]` lines the load produced (counted even when quiet).</summary>
    public int Warnings { get; init; }
}

/// <summary>
/// Reads the .cfg (HAProxy language) and the appliance INI, applies the environment, binds both
/// with the configuration binding source generator, then checks what refers to what.
/// </summary>
public static class ConfigLoader
{
    public const string LocalAddressVariable = "DD_FIPS_LOCAL_ADDRESS";
    public const string PortRangeStartVariable = "DD_FIPS_PORT_RANGE_START";

    /// <summary>
    /// Parses, validates and binds. Every `[ALERT]`/`[WARNING]` line goes to <paramref name="diagnostics"/>
    /// (warnings not when <paramref name="quiet"/>). Returns null when there was any alert.
    /// </summary>
    public static LoadedConfig? Load(string cfgPath, string? iniPath, TextWriter diagnostics, bool quiet) =>
        Load(cfgPath, iniPath, diagnostics, quiet, Environment.GetEnvironmentVariable);

    /// <summary>Only the appliance settings (INI + environment); null after an `[ALERT]`.</summary>
    public static ApplianceSettings? LoadAppliance(string? iniPath, TextWriter diagnostics) =>
        LoadAppliance(iniPath, new CfgDiagnostics(diagnostics, quiet: false), Environment.GetEnvironmentVariable);

    /// <summary>The same with the process environment replaced (tests).</summary>
    internal static LoadedConfig? Load(string cfgPath, string? iniPath, TextWriter diagnostics, bool quiet, Func<string, string?> environment)
    {
        var diag = new CfgDiagnostics(diagnostics, quiet);
        var appliance = LoadAppliance(iniPath, diag, environment);
        if (appliance is null) return null;

        // Local address precedence: environment > ini > the cfg's own `presetenv`. The ini value
        // is pre-set in the cfg's environment, so `presetenv` only fills in when neither said.
        var env = new CfgEnvironment(environment);
        if (environment(LocalAddressVariable) is null && appliance.Ports.LocalAddress is { } local)
            env.Set(LocalAddressVariable, local);

        var parser = new CfgParser(diag, env, cfgPath);
        parser.ParseFile();
        var data = CfgFlattener.ToData(parser, appliance.Ports.RangeStart, diag);
        var config = new ConfigurationBuilder().Add(new CfgConfigurationSource(data)).Build();
        ProxyConfig proxy;
        try
        {
            proxy = config.Get<ProxyConfig>() ?? new ProxyConfig();
        }
        catch (InvalidOperationException e)
        {
            // The parser writes only values it has checked; reaching this is a bug, said plainly.
            diag.AlertText($"internal error binding {cfgPath}: {e.Message}");
            return null;
        }
        CfgValidator.Validate(proxy, diag);
        if (diag.Alerts > 0)
        {
            diag.AlertText($"Error(s) found in configuration file : {cfgPath}");
            diag.AlertText("Fatal errors found in configuration.");
            return null;
        }
        return new LoadedConfig(proxy, appliance) { Warnings = diag.Warnings };
    }

    // INI keys are the property names in snake_case: `openssl_conf` binds OpenSslConf because the
    // underscores are dropped and configuration keys compare case-insensitively.
    private static readonly string[] KnownIniKeys =
        ["fips:opensslconf", "fips:module", "fips:moduleconf", "ports:localaddress", "ports:rangestart", "log:format"];

    internal static ApplianceSettings? LoadAppliance(string? iniPath, CfgDiagnostics diag, Func<string, string?> environment)
    {
        var builder = new ConfigurationBuilder();
        if (iniPath is not null)
        {
            IDictionary<string, string?> ini;
            try
            {
                using var stream = File.OpenRead(iniPath);
                ini = IniStreamConfigurationProvider.Read(stream);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                diag.AlertText($"Cannot open appliance settings file {iniPath} : {CfgParser.Reason(e)}");
                return null;
            }
            catch (FormatException e)
            {
                diag.AlertText($"parsing [{iniPath}] : {e.Message}");
                return null;
            }
            string iniDirectory = Path.GetDirectoryName(Path.GetFullPath(iniPath)) ?? "/";
            var mapped = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (var (key, value) in ini)
            {
                string k = key.Replace("_", "", StringComparison.Ordinal);
                if (Array.IndexOf(KnownIniKeys, k.ToLowerInvariant()) < 0)
                {
                    diag.WarningText($"parsing [{iniPath}] : unknown setting '{key}' ignored; known: [fips] openssl_conf, module, module_conf; [ports] local_address, range_start; [log] format.");
                    continue;
                }
                // Relative module paths are relative to the ini file, not to wherever the daemon was started.
                mapped[k] = k.StartsWith("fips:", StringComparison.OrdinalIgnoreCase) && value is { Length: > 0 } && !Path.IsPathRooted(value)
                    ? Path.GetFullPath(Path.Combine(iniDirectory, value))
                    : value;
            }
            builder.AddInMemoryCollection(mapped);
        }
        var fromEnv = new Dictionary<string, string?>();
        if (environment(LocalAddressVariable) is { Length: > 0 } local) fromEnv["Ports:LocalAddress"] = local;
        if (environment(PortRangeStartVariable) is { Length: > 0 } start) fromEnv["Ports:RangeStart"] = start;
        builder.AddInMemoryCollection(fromEnv);

        ApplianceSettings settings;
        try
        {
            settings = builder.Build().Get<ApplianceSettings>() ?? new ApplianceSettings();
        }
        catch (InvalidOperationException e)
        {
            diag.AlertText($"appliance settings ({iniPath ?? "environment"}): {e.InnerException?.Message ?? e.Message}");
            return null;
        }
        int rs = settings.Ports.RangeStart;
        if (rs < 1 || rs > 65536 - PortSettings.RangeLength)
        {
            diag.AlertText($"port range start {rs} (from {(environment(PortRangeStartVariable) is null ? $"[ports] range_start in {iniPath}" : PortRangeStartVariable)}) must be between 1 and {65536 - PortSettings.RangeLength}.");
            return null;
        }
        return settings;
    }
}
