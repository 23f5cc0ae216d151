using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Fips;

/// <summary>
/// A private copy of embedded/ (fips.so, fipsmodule.cnf, openssl.cnf), installed for this host
/// by src/dist/fipsinstall.sh so the absolute paths in its openssl.cnf point at the copy; tests
/// break it in one way each. The binary is pointed at it both by `--ini` ([fips] keys) and by
/// FIPS_APPLIANCE_EMBEDDED (the default-path override).
/// </summary>
public sealed class FipsTree : IDisposable
{
    private readonly TempDir _dir;

    public string Embedded { get; }
    public string OpenSslConf => Path.Combine(Embedded, "ssl", "openssl.cnf");
    public string Module => Path.Combine(Embedded, "lib", "ossl-modules", "fips.so");
    public string ModuleConf => Path.Combine(Embedded, "ssl", "fipsmodule.cnf");
    public string Ini { get; }

    private FipsTree(TempDir dir)
    {
        _dir = dir;
        Embedded = dir.Combine("embedded");
        Ini = dir.File("datadog-fips-proxy.ini", $"""
            [fips]
            openssl_conf = {OpenSslConf}
            module       = {Module}
            module_conf  = {ModuleConf}
            """);
    }

    public static async Task<FipsTree> CreateAsync()
    {
        var tree = new FipsTree(new TempDir());
        Directory.CreateDirectory(Path.GetDirectoryName(tree.Module)!);
        File.Copy(Path.Combine(Repo.Embedded, "lib", "ossl-modules", "fips.so"), tree.Module);
        var install = await ProcessRunner.RunAsync(Path.Combine(Repo.Root, "src", "dist", "fipsinstall.sh"), [tree.Embedded],
            timeout: TimeSpan.FromSeconds(60));
        if (install.ExitCode != 0)
        {
            tree.Dispose();
            throw new InvalidOperationException("fipsinstall.sh failed: " + install.All);
        }
        return tree;
    }

    public Dictionary<string, string?> Env(params (string Key, string? Value)[] extra)
    {
        var env = new Dictionary<string, string?> { ["FIPS_APPLIANCE_EMBEDDED"] = Embedded, ["OPENSSL_CONF"] = null, ["OPENSSL_MODULES"] = null };
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    public Task<ProcessResult> RunAsync(params string[] args) => RunWithEnvAsync(Env(), args);

    public Task<ProcessResult> RunWithEnvAsync(Dictionary<string, string?> env, params string[] args) =>
        ProcessRunner.RunAsync(Repo.Binary, [.. args, "--ini", Ini], env, TimeSpan.FromSeconds(60));

    public void Dispose() => _dir.Dispose();
}
