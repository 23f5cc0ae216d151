using FipsAppliance.Tests.Http.Sessions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// What only the published binary shows about a session under faults: the process running out of
/// file descriptors, and the stats page counting HTTP requests on the backend.
/// </summary>
public class SessionFaultTests
{
    private static string Cfg(int port, int statsPort, int serverPort) => $"""
        global
            maxconn 100
            log stdout format raw local0
        defaults
            mode http
            log global
            option httplog
            timeout client 5s
            timeout server 5s
            timeout connect 5s
        listen stats
            bind 127.0.0.1:{statsPort}
            stats enable
            stats uri /
        frontend fe
            bind 127.0.0.1:{port}
            default_backend be
        backend be
            server s1 127.0.0.1:{serverPort}
        """;

    private static async Task<RelayUnderTest> StartAsync(ScriptedUpstream up)
    {
        int start = Ports.FreeRange(2);
        return await RelayUnderTest.StartAsync(Relay.Ours, Cfg(start, start + 1, up.Port), new TestCa().RootPem, start);
    }

    private static string FdSet(int pid) =>
        string.Join(",", Directory.GetFiles($"/proc/{pid}/fd").Select(f => int.Parse(Path.GetFileName(f))).Order());

    /// <summary>
    /// The lowest file descriptor number the process does not use (the next one socket() would
    /// return), once its descriptors have stopped changing (the readiness probes' sessions closed).
    /// </summary>
    internal static async Task<int> LowestFreeFdAsync(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        string set = FdSet(pid);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(300);
            var now = FdSet(pid);
            if (now == set) break;
            set = now;
        }
        var used = set.Split(',').Select(int.Parse).ToHashSet();
        int fd = 0;
        while (used.Contains(fd)) fd++;
        return fd;
    }

    [Test]
    public async Task Answers_503_when_no_socket_can_be_had_for_the_server()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var relay = await StartAsync(up);
        int pid = relay.Process.Pid;

        // Room for exactly one more descriptor: the accepted client takes it, so the server
        // connection's socket() fails with EMFILE.
        int fd = await LowestFreeFdAsync(pid);
        var limited = await ProcessRunner.RunAsync("prlimit", ["--pid", pid.ToString(), $"--nofile={fd + 1}:{fd + 1}"]);
        await Assert.That(limited.ExitCode).IsEqualTo(0).Because(limited.All);
        await using var c = await RawHttp.ConnectAsync(relay.PortRangeStart);
        await c.SendAsync("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
        var r = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(5));

        await Assert.That(r?.Status).IsEqualTo(503).Because(relay.Output);
        await Assert.That(up.Connections).IsEqualTo(0);
        await Assert.That(await relay.Process.WaitForOutputAsync(" RC-- ", TimeSpan.FromSeconds(5))).IsTrue().Because(relay.Output);
    }

    [Test]
    public async Task Stats_count_http_requests_as_backend_sessions()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var relay = await StartAsync(up);
        await using (var c = await RawHttp.ConnectAsync(relay.PortRangeStart))
        {
            for (int i = 0; i < 3; i++)
            {
                await c.SendAsync($"GET /r{i} HTTP/1.1\r\nHost: x\r\n\r\n");
                await Assert.That((await c.ReadFinalResponseAsync())?.Status).IsEqualTo(200);
            }
        }
        await using var s = await RawHttp.ConnectAsync(relay.PortRangeStart + 1);
        await s.SendAsync("GET /;csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var csv = (await s.ReadFinalResponseAsync())!.BodyText.Split('\n');
        var header = csv[0].TrimStart('#', ' ').Split(',');
        var row = csv.First(l => l.StartsWith("be,BACKEND,", StringComparison.Ordinal)).Split(',');
        string Field(string name) => row[Array.IndexOf(header, name)];

        await Assert.That(Field("stot")).IsEqualTo("3");
        await Assert.That(Field("smax")).IsEqualTo("1");
        await Assert.That(Field("req_tot")).IsEqualTo("3");
    }
}
