using FipsAppliance.Configuration;

namespace FipsAppliance.Fips;

/// <summary>STUB: `tls-probe`.</summary>
public static class TlsProbe
{
    public static int Run(string hostPort, string? caFile, string? sni, GlobalSection? global, TextWriter output) => 1;
}
