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

/// <summary>Runs a process with a timeout and collects its output (binary tests of this folder).</summary>
internal static class ProcessRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not exit within {timeout}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !System.IO.File.Exists(Path.Combine(dir.FullName, "FipsAppliance.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("FipsAppliance.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The published AOT binary: $FIPS_APPLIANCE_ARTIFACTS/bin, else &lt;repo&gt;/artifacts/bin (run ./build.sh build).</summary>
    public static string PublishedBinary()
    {
        string artifacts = Environment.GetEnvironmentVariable("FIPS_APPLIANCE_ARTIFACTS") ?? Path.Combine(RepoRoot(), "artifacts");
        string path = Path.Combine(artifacts, "bin", "datadog-fips-proxy");
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"published binary missing: {path} (run ./build.sh build)");
        return path;
    }

    public static string ShippedExample() => Path.Combine(RepoRoot(), "src", "dist", "datadog-fips-proxy.cfg.example");
}
