namespace FipsAppliance.Configuration;

// The appliance settings HAProxy has no words for, from an INI file
// (/etc/datadog-fips-proxy/datadog-fips-proxy.ini by default, `--ini <file>` to name another)
// and from the environment variables the vendor's containers set. Precedence: environment > ini >
// built-in defaults. Bound by the configuration binding source generator (settable properties:
// see ProxyConfig.cs for why not init). INI keys are the property names in snake_case.
//
//   [fips]
//   openssl_conf = /opt/datadog-fips-proxy/embedded/ssl/openssl.cnf
//   module       = /opt/datadog-fips-proxy/embedded/lib/ossl-modules/fips.so
//   module_conf  = /opt/datadog-fips-proxy/embedded/ssl/fipsmodule.cnf
//   [ports]
//   local_address    = 127.0.0.1      ; DD_FIPS_LOCAL_ADDRESS, seen by the cfg as ${DD_FIPS_LOCAL_ADDRESS}
//   range_start      = 9803           ; DD_FIPS_PORT_RANGE_START: moves the whole 9803-9818 range
//   [log]
//   format = auto                      ; auto | journald | plain

public sealed class ApplianceSettings
{
    public FipsSettings Fips { get; set; } = new();
    public PortSettings Ports { get; set; } = new();
    public LogSettings Log { get; set; } = new();
}

public sealed class FipsSettings
{
    /// <summary>Null = derived from the binary's location: &lt;exe&gt;/../embedded/ssl/openssl.cnf.</summary>
    public string? OpenSslConf { get; set; }
    public string? Module { get; set; }
    public string? ModuleConf { get; set; }
}

public sealed class PortSettings
{
    public string? LocalAddress { get; set; }
    /// <summary>The first port of the 16-port range; the cfg's 9803-9818 binds move with it.</summary>
    public int RangeStart { get; set; } = DefaultRangeStart;

    public const int DefaultRangeStart = 9803;
    public const int RangeLength = 16;
}

public enum LogFormat { Auto, Journald, Plain }

public sealed class LogSettings
{
    public LogFormat Format { get; set; } = LogFormat.Auto;
}
