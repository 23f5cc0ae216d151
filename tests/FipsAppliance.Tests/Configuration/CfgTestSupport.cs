using System.Diagnostics;
using FipsAppliance.Configuration;

namespace FipsAppliance.Tests.Configuration;

/// <summary>Loads cfg text from a temp directory that also holds a ca-certificates.crt, as the shipped layout does.</summary>
internal sealed class CfgFixture : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "cfgtest-" + Guid.NewGuid().ToString("N"));
    public string CfgPath => Path.Combine(Directory, "t.cfg");
    public string Diagnostics { get; private set; } = "";

    public CfgFixture()
    {
        System.IO.Directory.CreateDirectory(Directory);
        System.IO.File.WriteAllText(Path.Combine(Directory, "ca-certificates.crt"), "not parsed by -c\n");
    }

    /// <summary>Parses <paramref name="cfg"/>; null when it had an alert. Diagnostics holds every line written.</summary>
    public LoadedConfig? Load(string cfg, Dictionary<string, string>? env = null, string? ini = null, bool quiet = false)
    {
        System.IO.File.WriteAllText(CfgPath, cfg);
        string? iniPath = null;
        if (ini is not null)
        {
            iniPath = Path.Combine(Directory, "t.ini");
            System.IO.File.WriteAllText(iniPath, ini);
        }
        var writer = new StringWriter();
        var e = env ?? [];
        var loaded = ConfigLoader.Load(CfgPath, iniPath, writer, quiet, name => e.TryGetValue(name, out var v) ? v : null);
        Diagnostics = writer.ToString();
        return loaded;
    }

    /// <summary>Loads a cfg that must be valid and returns its bound model.</summary>
    public ProxyConfig Valid(string cfg, Dictionary<string, string>? env = null)
    {
        var loaded = Load(cfg, env) ?? throw new InvalidOperationException("expected a valid cfg, got:\n" + Diagnostics);
        return loaded.Proxy;
    }

    /// <summary>`[file:line]` as the messages print it.</summary>
    public string At(int line) => $"[{CfgPath}:{line}]";

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>Every line must pass <paramref name="timeouts"/>'s defaults; most tests start with this head.</summary>
    public const string Head = """
        defaults
            mode http
            timeout client 5s
            timeout server 5s
            timeout connect 5s

        """;
}

/// <summary>The binaries this folder's tests run, through the shared test infrastructure.</summary>
internal static class ProcessRunner
{
    public static Task<Infrastructure.ProcessResult> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? env = null) =>
        Infrastructure.ProcessRunner.RunAsync(file, args, env?.ToDictionary(e => e.Key, e => (string?)e.Value), timeout);

    public static string RepoRoot() => Infrastructure.Repo.Root;

    /// <summary>The published AOT binary (run ./build.sh build).</summary>
    public static string PublishedBinary() =>
        System.IO.File.Exists(Infrastructure.Repo.Binary) ? Infrastructure.Repo.Binary
            : throw new FileNotFoundException($"published binary missing: {Infrastructure.Repo.Binary} (run ./build.sh build)");

    public static string ShippedExample() => Infrastructure.Repo.ExampleCfg;
}
