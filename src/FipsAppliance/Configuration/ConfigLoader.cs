namespace FipsAppliance.Configuration;

/// <summary>The configuration as the daemon uses it: the bound cfg and the appliance settings.</summary>
public sealed record LoadedConfig(ProxyConfig Proxy, ApplianceSettings Appliance);

/// <summary>
/// Reads the .cfg (HAProxy language) and the appliance INI, applies the environment, binds both
/// with the configuration binding source generator. STUB: the cfg parser issue fills this in.
/// </summary>
public static class ConfigLoader
{
    /// <summary>
    /// Parses, validates and binds. Every `[ALERT]`/`[WARNING]` line goes to <paramref name="diagnostics"/>
    /// (warnings not when <paramref name="quiet"/>). Returns null when there was any alert.
    /// </summary>
    public static LoadedConfig? Load(string cfgPath, string? iniPath, TextWriter diagnostics, bool quiet)
    {
        var appliance = LoadAppliance(iniPath, diagnostics);
        if (appliance is null) return null;
        return new LoadedConfig(new ProxyConfig(), appliance);
    }

    /// <summary>Only the appliance settings (INI + environment); null after an `[ALERT]`.</summary>
    public static ApplianceSettings? LoadAppliance(string? iniPath, TextWriter diagnostics) => new();
}
