using System.Net.Sockets;
using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// sandbox-exec.c compiled for this run (artifacts/test-tools), and a daemon started by any command
/// line checked the way an Agent would notice: every product port relays to the test intake.
/// </summary>
public static class Sandbox
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The compiled sandbox-exec (rebuilt when the source is newer).</summary>
    public static async Task<string> ExecAsync()
    {
        var source = Path.Combine(Repo.Root, "tests", "FipsAppliance.Tests", "Packaging", "sandbox-exec.c");
        var dir = Path.Combine(Repo.Artifacts, "test-tools");
        var exe = Path.Combine(dir, "sandbox-exec");
        await Gate.WaitAsync();
        try
        {
            if (!File.Exists(exe) || File.GetLastWriteTimeUtc(exe) < File.GetLastWriteTimeUtc(source))
            {
                Directory.CreateDirectory(dir);
                await Packages.RunAsync("cc", ["-O2", "-Wall", "-Werror", "-o", exe + ".tmp", source]);
                File.Move(exe + ".tmp", exe, overwrite: true);
            }
            return exe;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// Waits (bounded) until every product port of a shipped-cfg relay at <paramref name="portRangeStart"/>
    /// answers a request with a 2xx from the intake (servers get their addresses from the test DNS first).
    /// </summary>
    public static async Task WaitUntilRelayingAsync(RunningProcess daemon, int portRangeStart, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var product in ShippedCfg.Products)
        {
            int port = portRangeStart + product.Offset;
            RawResponse? last = null;
            while (true)
            {
                if (daemon.HasExited)
                    throw new InvalidOperationException($"the daemon exited with {daemon.ExitCode}:\n{daemon.Output}");
                try
                {
                    await using var c = await RawHttp.ConnectAsync(port);
                    await c.SendAsync($"GET {product.Path} HTTP/1.1\r\nHost: {product.Host}\r\n{TestIntake.TestIdHeader}: ready\r\nConnection: close\r\n\r\n");
                    last = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(3));
                    if (last is { IsCompleteSuccess: true }) break;
                }
                catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or InvalidDataException) { }
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"port {port} ({product.Frontend}) did not relay within {timeout} (last status {last?.Status.ToString() ?? "none"}):\n{daemon.Output}");
                await Task.Delay(100);
            }
        }
    }

    /// <summary>POSTs a body like the Agent's to the metrics port; returns the status and what the intake saw.</summary>
    public static async Task<(int Status, IntakeRequest? Seen)> PostMetricsAsync(TestIntake intake, int portRangeStart, string testId, int bodyLength = 64 * 1024)
    {
        await using var c = await RawHttp.ConnectAsync(portRangeStart + ShippedCfg.MetricsOffset);
        var body = new byte[bodyLength];
        Random.Shared.NextBytes(body);
        await c.SendAsync(RawHttp.Post("/api/v2/series", "metrics.agent.ddog-gov.com", testId, bodyLength));
        await c.SendAsync(body);
        var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(15));
        var seen = await intake.WaitForAsync(testId, 1, TimeSpan.FromSeconds(5));
        return (response?.Status ?? 0, seen.FirstOrDefault());
    }
}
