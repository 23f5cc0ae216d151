namespace FipsAppliance.Tests.Infrastructure;

/// <summary>Where the things under test are: the published binary and the FIPS module layout.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>`./build.sh test` exports FIPS_APPLIANCE_ARTIFACTS; a bare `dotnet test` uses &lt;repo&gt;/artifacts.</summary>
    public static string Artifacts { get; } =
        Environment.GetEnvironmentVariable("FIPS_APPLIANCE_ARTIFACTS") is { Length: > 0 } a ? a : Path.Combine(Root, "artifacts");

    /// <summary>The published Native AOT binary (run `./build.sh build` first).</summary>
    public static string Binary => Path.Combine(Artifacts, "bin", "datadog-fips-proxy");

    /// <summary>The embedded/ tree (fips.so, fipsmodule.cnf, openssl.cnf) made by build.sh for this host.</summary>
    public static string Embedded => Path.Combine(Artifacts, "embedded");

    public static string ExampleCfg => Path.Combine(Root, "src", "dist", "datadog-fips-proxy.cfg.example");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FipsAppliance.sln"))) return dir.FullName;
        throw new InvalidOperationException("FipsAppliance.sln not found above " + AppContext.BaseDirectory);
    }
}
