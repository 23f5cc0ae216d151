using System.Text.RegularExpressions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// The packages `./build.sh package` made (`./build.sh test` makes them before the suite runs),
/// the one version they carry, and the tools that look at them.
/// </summary>
public static partial class Packages
{
    public const string Name = "datadog-fips-proxy";
    public const string AppDir = "/opt/datadog-fips-proxy";
    public const string Binary = AppDir + "/bin/datadog-fips-proxy";
    public const string Embedded = AppDir + "/embedded";
    public const string EtcDir = "/etc/datadog-fips-proxy";
    public const string Cfg = EtcDir + "/datadog-fips-proxy.cfg";
    public const string CaLink = EtcDir + "/ca-certificates.crt";

    /// <summary>VERSION at the repository's root: the one version string.</summary>
    public static string Version { get; } = File.ReadAllText(Path.Combine(Repo.Root, "VERSION")).Trim();

    public static string Directory => Path.Combine(Repo.Artifacts, "packages");
    public static string Deb => Existing(Path.Combine(Directory, $"{Name}_{Version}_amd64.deb"));
    public static string Rpm => Existing(Path.Combine(Directory, $"{Name}-{Version}-1.x86_64.rpm"));

    /// <summary>The cached debootstrap root (a tarball) build.sh links here.</summary>
    public static string DebRootTarball => Existing(Path.Combine(Repo.Artifacts, "debroot.tar"));

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: run ./build.sh test (it builds the packages and the test root first)");

    /// <summary>Runs a tool to completion; throws with its output when it fails and <paramref name="check"/> is set.</summary>
    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> args, bool check = true,
        TimeSpan? timeout = null, IDictionary<string, string?>? env = null)
    {
        var list = args.ToList();
        var result = await ProcessRunner.RunAsync(file, list, env, timeout ?? TimeSpan.FromMinutes(3));
        if (check && result.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', list)} exited with {result.ExitCode}:\n{result.All}");
        return result;
    }

    /// <summary>Installing into a root (chroot, mounts, owners) needs root; say so instead of failing obscurely.</summary>
    public static void RequireRoot()
    {
        if (Environment.UserName != "root" && geteuid() != 0)
            throw new InvalidOperationException("the package installation tests need root (chroot, mount namespaces, file owners): run ./build.sh test as root");
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();

    /// <summary>One line of `dpkg-deb -c` / `rpm -qplv`: mode string, owner, group, path (symlink target cut).</summary>
    public sealed record Entry(string Mode, string Owner, string Group, string Path);

    /// <summary>The .deb's data tarball as entries with absolute paths (no trailing slash).</summary>
    public static async Task<IReadOnlyList<Entry>> DebContentsAsync()
    {
        var r = await RunAsync("dpkg-deb", ["-c", Deb]);
        return r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => DebLine().Match(l))
            .Where(m => m.Success)
            .Select(m => new Entry(m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value,
                "/" + m.Groups[4].Value.TrimStart('.', '/').TrimEnd('/')))
            .Where(e => e.Path != "/")
            .ToList();
    }

    /// <summary>The .rpm's files as entries (rpm -qplv).</summary>
    public static async Task<IReadOnlyList<Entry>> RpmContentsAsync()
    {
        var r = await RunAsync("rpm", ["-qplv", Rpm]);
        return r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => RpmLine().Match(l))
            .Where(m => m.Success)
            .Select(m => new Entry(m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value))
            .ToList();
    }

    // drwxr-xr-x root/root         0 2025-11-30 12:00 ./etc/
    [GeneratedRegex(@"^(\S{10})\s+(\S+)/(\S+)\s+\d+\s+\S+\s+\S+\s+(\S+)")]
    private static partial Regex DebLine();

    // -rwxr-xr-x    1 root     root      8618872 Nov 30  2025 /opt/datadog-fips-proxy/bin/datadog-fips-proxy
    [GeneratedRegex(@"^(\S{10})\s+\d+\s+(\S+)\s+(\S+)\s+\d+\s+\S+\s+\S+\s+\S+\s+(/\S+)")]
    private static partial Regex RpmLine();

    /// <summary>A maintainer script of the .deb (postinst, prerm, postrm) as shipped.</summary>
    public static async Task<string> DebScriptAsync(string name) =>
        (await RunAsync("dpkg-deb", ["-I", Deb, name])).StdOut;
}
