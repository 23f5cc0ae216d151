using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// A private copy of the cached minimal Debian root (debootstrap --variant=minbase with the
/// package's dependencies and systemd installed, as in an image that has not booted yet). Commands
/// run in it through `unshare` + `chroot`, each in its own mount and PID namespace: the /proc they
/// mount there disappears with them, so nothing stays mounted in the root whatever happens, and
/// nothing they start outlives them. Without network unless asked (an air-gapped image build).
/// systemd never runs in it: /run/systemd/system does not exist there.
/// </summary>
public sealed class DebRoot : IDisposable
{
    private const string Path_ = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private readonly TempDir _dir = new();

    public string Root { get; }

    private DebRoot()
    {
        Root = _dir.Combine("root");
        Directory.CreateDirectory(Root);
    }

    public static async Task<DebRoot> CreateAsync()
    {
        Packages.RequireRoot();
        var root = new DebRoot();
        try
        {
            await Packages.RunAsync("tar", ["-xpf", Packages.DebRootTarball, "-C", root.Root]);
            return root;
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

    /// <summary>The host path of a path inside the root.</summary>
    public string HostPath(string pathInRoot) => System.IO.Path.Combine(Root, pathInRoot.TrimStart('/'));

    public bool Exists(string pathInRoot) =>
        File.Exists(HostPath(pathInRoot)) || Directory.Exists(HostPath(pathInRoot)) || IsSymlink(pathInRoot);

    public bool IsSymlink(string pathInRoot) => new FileInfo(HostPath(pathInRoot)).LinkTarget is not null;

    public string? LinkTarget(string pathInRoot) => new FileInfo(HostPath(pathInRoot)).LinkTarget;

    public string ReadText(string pathInRoot) => File.ReadAllText(HostPath(pathInRoot));

    /// <summary>Copies a host file into the root (e.g. a package into /tmp) and returns its path inside.</summary>
    public string CopyIn(string hostFile, string dirInRoot = "/tmp")
    {
        var inside = dirInRoot.TrimEnd('/') + "/" + System.IO.Path.GetFileName(hostFile);
        File.Copy(hostFile, HostPath(inside), overwrite: true);
        return inside;
    }

    /// <summary>
    /// Runs a command inside the root (chroot) with a clean environment, in new mount and PID
    /// namespaces with /proc mounted for it, and without any network unless <paramref name="network"/>.
    /// </summary>
    public Task<ProcessResult> RunAsync(IEnumerable<string> command, bool network = false, bool check = true, TimeSpan? timeout = null)
    {
        var args = new List<string> { "--mount", "--pid", "--fork", "--kill-child", $"--mount-proc={HostPath("/proc")}" };
        if (!network) args.Add("--net");
        args.AddRange(["chroot", Root, "/usr/bin/env", "-i", Path_, "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"]);
        args.AddRange(command);
        return Packages.RunAsync("unshare", args, check, timeout ?? TimeSpan.FromMinutes(3));
    }

    /// <summary>
    /// Starts a daemon inside the root the way the unit runs it, as far as a machine without systemd
    /// as PID 1 allows: as the given user, after NO_NEW_PRIVS, under <paramref name="sandboxExec"/>'s
    /// seccomp filter (MemoryDenyWriteExecute=, RestrictAddressFamilies=, SystemCallArchitectures=),
    /// with a /proc mounted hidepid=invisible,subset=pid (ProtectProc=invisible, ProcSubset=pid), in
    /// its own mount and PID namespaces; on the host's network (loopback: the test's intake and DNS).
    /// </summary>
    public RunningProcess StartDaemon(string sandboxExec, int uid, int gid, params string[] command)
    {
        const string script = "root=$1 sandbox=$2 user=$3; shift 3; "
            + "mount -t proc -o hidepid=invisible,subset=pid proc \"$root/proc\" && "
            + "exec \"$sandbox\" seccomp -- chroot --userspec=\"$user\" \"$root\" /usr/bin/env -i " + Path_ + " \"$@\"";
        List<string> args = ["--mount", "--pid", "--fork", "--kill-child", "sh", "-c", script, "sh", Root, sandboxExec, $"{uid}:{gid}", .. command];
        return new RunningProcess("unshare", args);
    }

    /// <summary>The uid and gid of a user of the root (from its /etc/passwd), or null.</summary>
    public (int Uid, int Gid)? User(string name) => UserIn(Root, name);

    /// <summary>The uid and gid of a user of the root filesystem at <paramref name="root"/> (its /etc/passwd), or null.</summary>
    public static (int Uid, int Gid)? UserIn(string root, string name)
    {
        foreach (var line in File.ReadAllLines(System.IO.Path.Combine(root, "etc", "passwd")))
        {
            var f = line.Split(':');
            if (f.Length > 3 && f[0] == name) return (int.Parse(f[2]), int.Parse(f[3]));
        }
        return null;
    }

    /// <summary>The gid of a group of the root, or null.</summary>
    public int? Group(string name)
    {
        foreach (var line in File.ReadAllLines(HostPath("/etc/group")))
        {
            var f = line.Split(':');
            if (f.Length > 2 && f[0] == name) return int.Parse(f[2]);
        }
        return null;
    }

    /// <summary>Mode (octal), owner and group names (as the root names them) of a path in the root.</summary>
    public async Task<(string Mode, string Owner, string Group)> StatAsync(string pathInRoot)
    {
        var r = await Packages.RunAsync("stat", ["-c", "%a %u %g", HostPath(pathInRoot)]);
        var f = r.StdOut.Trim().Split(' ');
        string Name(string file, string id) => File.ReadAllLines(HostPath(file)).Select(l => l.Split(':'))
            .FirstOrDefault(x => x.Length > 2 && x[2] == id)?[0] ?? id;
        return (f[0], Name("/etc/passwd", f[1]), Name("/etc/group", f[2]));
    }

    /// <summary>Mount points under the root that are still mounted in the test's own namespace (must be none).</summary>
    public IReadOnlyList<string> Mounts() =>
        File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4])
            .Where(p => p == Root || p.StartsWith(Root + "/", StringComparison.Ordinal)).ToList();

    /// <summary>Deletes the copy, unless something is still mounted in it (then it is left for a look, never deleted through a mount).</summary>
    public void Dispose()
    {
        if (Mounts().Count == 0) _dir.Dispose();
    }
}
