using System.Net;
using System.Net.Sockets;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Runtime;

/// <summary>
/// The published daemon turns on inline socket completions for itself (issue 9). .NET then runs
/// one socket event thread per CPU (".NET Sockets") instead of one for up to 30 CPUs, so the
/// count of those threads tells from outside which mode the process is in.
/// </summary>
public class ProcessKnobsTests
{
    private static async Task<int> SocketEventThreadsAsync(params (string Key, string? Value)[] env)
    {
        using var dir = new TempDir();
        int port = Ports.FreeRange(1);
        string cfg = dir.File("relay.cfg", $"""
            defaults
                mode http
                timeout client 5s
                timeout server 5s
                timeout connect 1s
            frontend f
                bind 127.0.0.1:{port}
                default_backend b
            backend b
                server s1 127.0.0.1:{Ports.Free()}
            """);
        var vars = new Dictionary<string, string?> { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = null };
        foreach (var (k, v) in env) vars[k] = v;
        await using var relay = new RunningProcess(Repo.Binary, ["-f", cfg], vars, dir.Path);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (relay.HasExited) throw new InvalidOperationException("the relay exited: " + relay.Output);
            try
            {
                using var c = new TcpClient(AddressFamily.InterNetwork);
                await c.ConnectAsync(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline) { await Task.Delay(50); }
        }
        // A thread starts with the name of the thread that created it until it names itself, so a
        // thread-pool worker started from the event thread is briefly ".NET Sockets" too: count only
        // the threads that carry the name in two looks 300 ms apart.
        var first = SocketThreadIds(relay.Pid);
        await Task.Delay(300);
        return SocketThreadIds(relay.Pid).Intersect(first).Count();
    }

    private static HashSet<string> SocketThreadIds(int pid)
    {
        var ids = new HashSet<string>();
        foreach (var t in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(t, "comm")).Trim() == ".NET Sockets") ids.Add(Path.GetFileName(t));
            }
            catch (IOException) { }   // the thread ended between listing and reading
        }
        return ids;
    }

    [Test]
    public async Task Socket_completions_run_inline_on_one_event_thread_per_CPU()
    {
        if (Environment.ProcessorCount < 2) return;   // one CPU: one event thread either way, nothing to tell apart
        await Assert.That(await SocketEventThreadsAsync()).IsEqualTo(Environment.ProcessorCount);
    }

    [Test]
    public async Task An_explicit_setting_in_the_environment_wins()
    {
        await Assert.That(await SocketEventThreadsAsync(("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "0"))).IsEqualTo(1);
    }
}
