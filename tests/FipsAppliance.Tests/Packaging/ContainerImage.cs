using System.Text.Json;
using FipsAppliance.Tests.Infrastructure;
using TUnit.Core.Interfaces;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// The OCI image `./build.sh image` made (`./build.sh test` makes it before the suite runs), read
/// the way a runtime reads it: index.json → manifest → config and layers, the layers unpacked in
/// order into a root on the host. Nothing here runs a container runtime (none runs on this
/// machine); <see cref="Start"/> does what one does for this image, with the kernel's own tools.
/// </summary>
public sealed class ContainerImage : IAsyncInitializer, IDisposable
{
    private readonly TempDir _dir = new();

    public static string Archive => Path.Combine(Repo.Artifacts, "images", $"{Packages.Name}_{Packages.Version}_amd64.oci.tar");

    /// <summary>The root filesystem: every layer unpacked, in order, owners and modes kept.</summary>
    public string Root => _dir.Combine("root");

    /// <summary>The annotations of the image in index.json (its reference name).</summary>
    public JsonElement IndexEntry { get; private set; }
    public JsonElement Manifest { get; private set; }
    /// <summary>The image configuration's "config" object: User, Entrypoint, Cmd, Env, ExposedPorts, ...</summary>
    public JsonElement Config { get; private set; }

    public async Task InitializeAsync()
    {
        Packages.RequireRoot();
        if (!File.Exists(Archive)) throw new InvalidOperationException($"{Archive} is missing: run ./build.sh test (it builds the image first)");
        var layout = _dir.Combine("layout");
        Directory.CreateDirectory(layout);
        Directory.CreateDirectory(Root);
        await Packages.RunAsync("tar", ["-xf", Archive, "-C", layout]);
        string Blob(JsonElement descriptor) =>
            Path.Combine(layout, "blobs", "sha256", descriptor.GetProperty("digest").GetString()!["sha256:".Length..]);

        using var index = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(layout, "index.json")));
        IndexEntry = index.RootElement.GetProperty("manifests").EnumerateArray().Single().Clone();
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Blob(IndexEntry)));
        Manifest = manifest.RootElement.Clone();
        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(Blob(Manifest.GetProperty("config"))));
        Config = config.RootElement.GetProperty("config").Clone();
        foreach (var layer in Manifest.GetProperty("layers").EnumerateArray())
        {
            var type = layer.GetProperty("mediaType").GetString();
            string flags = type switch
            {
                "application/vnd.oci.image.layer.v1.tar+gzip" => "-xpzf",
                "application/vnd.oci.image.layer.v1.tar" => "-xpf",
                _ => throw new InvalidOperationException($"layer media type {type} is not one this test unpacks"),
            };
            await Packages.RunAsync("tar", ["--numeric-owner", flags, Blob(layer), "-C", Root]);
        }
    }

    public string HostPath(string pathInImage) => Path.Combine(Root, pathInImage.TrimStart('/'));

    public string ReadText(string pathInImage) => File.ReadAllText(HostPath(pathInImage));

    /// <summary>The uid and gid of a user of the image (its /etc/passwd), or null.</summary>
    public (int Uid, int Gid)? User(string name) => DebRoot.UserIn(Root, name);

    public IReadOnlyList<string> Strings(string configKey) =>
        Config.TryGetProperty(configKey, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(e => e.GetString()!).ToList()
            : [];

    /// <summary>
    /// Starts the image as a runtime would with a read-only root filesystem: the root bind-mounted
    /// read-only, /proc and a /tmp of its own, <paramref name="writableRuntimeDir"/>: a tmpfs owned by
    /// the image's user on /run/datadog-fips-proxy (an emptyDir, `--tmpfs`), <paramref name="mounts"/>
    /// bound read-only (a ConfigMap); then Entrypoint + (<paramref name="command"/> or Cmd) as the
    /// image's User, with the image's Env plus <paramref name="env"/> and nothing else, in new mount
    /// and PID namespaces (the entry point, then the daemon it execs, is PID 1); on the host's network,
    /// as a sidecar shares its pod's. <paramref name="user"/> overrides the User (`--user`,
    /// runAsUser); <paramref name="readOnlyRoot"/> false leaves the root writable, as runtimes do by default.
    /// </summary>
    public RunningProcess Start(IReadOnlyList<string>? command = null, IReadOnlyDictionary<string, string>? env = null,
        bool writableRuntimeDir = true, IReadOnlyDictionary<string, string>? mounts = null, string? user = null, bool readOnlyRoot = true)
    {
        user ??= Config.GetProperty("User").GetString()!;
        var uidGid = user.Split(':');
        var script = new System.Text.StringBuilder("set -e; r=$1; ");
        if (readOnlyRoot) script.Append("mount --bind \"$r\" \"$r\"; mount -o remount,bind,ro \"$r\"; ");
        script.Append("mount -t proc proc \"$r/proc\"; mount -t tmpfs -o mode=1777 tmpfs \"$r/tmp\"; ");
        if (writableRuntimeDir)
            script.Append($"mount -t tmpfs -o mode=0700,uid={uidGid[0]},gid={uidGid[1]} tmpfs \"$r/run/{Packages.Name}\"; ");
        var args = new List<string> { "--mount", "--pid", "--fork", "--kill-child", "sh", "-c" };
        var tail = new List<string> { "sh", Root };
        foreach (var (host, inside) in mounts ?? new Dictionary<string, string>())
        {
            script.Append($"mount --bind \"${tail.Count}\" \"$r{inside}\"; mount -o remount,bind,ro \"$r{inside}\"; ");
            tail.Add(host);
        }
        // $1 is the root, then one parameter per mount: shift them away, the command remains.
        script.Append($"shift {tail.Count - 1}; ");
        script.Append($"exec chroot --userspec={user} \"$r\" /usr/bin/env -i \"$@\"");
        args.Add(script.ToString());
        args.AddRange(tail);
        foreach (var e in Strings("Env")) args.Add(e);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) args.Add($"{k}={v}");
        args.AddRange(Strings("Entrypoint"));
        args.AddRange(command ?? Strings("Cmd"));
        return new RunningProcess("unshare", args);
    }

    /// <summary>
    /// Runs a command in the image's root as its User, with its Env plus <paramref name="env"/>, on
    /// the host's network: what `kubectl exec` and an exec probe do beside a running container.
    /// </summary>
    public Task<ProcessResult> ExecAsync(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? env = null)
    {
        var args = new List<string> { $"--userspec={Config.GetProperty("User").GetString()}", Root, "/usr/bin/env", "-i" };
        args.AddRange(Strings("Env"));
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) args.Add($"{k}={v}");
        args.AddRange(command);
        return Packages.RunAsync("chroot", args, check: false, timeout: TimeSpan.FromSeconds(30));
    }

    /// <summary>The host pid of the process whose root is this image's (the container's PID 1), or null.</summary>
    public int? ContainerPid1()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (new DirectoryInfo(Path.Combine(dir, "root")).LinkTarget != Root) continue;
                var nspid = File.ReadAllLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
                if (nspid is not null && nspid.Split('\t', StringSplitOptions.RemoveEmptyEntries).Last() == "1") return pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return null;
    }

    public void Dispose() => _dir.Dispose();
}
