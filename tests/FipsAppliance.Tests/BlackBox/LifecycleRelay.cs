using System.Net;
using System.Net.Sockets;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>Our relay started for one lifecycle test: with a test NOTIFY_SOCKET, reloaded by rewriting its cfg and SIGHUP.</summary>
internal static class LifecycleRelay
{
    /// <summary>Our relay (or <paramref name="which"/>) from the environment's shipped cfg (optionally changed), ready to relay on every product port.</summary>
    public static async Task<RelayUnderTest> StartAsync(RelayEnvironment env, NotifySocket? notify = null, Func<string, string>? tweak = null,
        IDictionary<string, string?>? environment = null, Relay which = Relay.Ours)
    {
        var start = Ports.FreeRange(16);
        var cfg = env.Cfg(start);
        if (tweak is not null) cfg = tweak(cfg);
        var variables = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>());
        if (notify is not null) variables["NOTIFY_SOCKET"] = notify.Address;
        var relay = await RelayUnderTest.StartAsync(which, cfg, env.Ca.RootPem, start, variables);
        try
        {
            await relay.WaitUntilRelayingAsync(TimeSpan.FromSeconds(30));
            return relay;
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes <paramref name="cfg"/> over the relay's file, sends SIGHUP, waits (bounded) for the outcome line.</summary>
    public static async Task<bool> ReloadAsync(RelayUnderTest relay, string cfg, int generation, TimeSpan? timeout = null)
    {
        await File.WriteAllTextAsync(relay.CfgPath, cfg);
        relay.Process.Signal(Posix.SIGHUP);
        return await relay.Process.WaitForOutputAsync($"Reloaded: configuration #{generation} ", timeout ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>The cfg with one frontend section (and its lines) taken out.</summary>
    public static string WithoutFrontend(string cfg, string name)
    {
        var lines = cfg.Split('\n').ToList();
        int at = lines.FindIndex(l => l.Trim() == "frontend " + name);
        if (at < 0) throw new InvalidOperationException("no frontend " + name);
        int end = at + 1;
        while (end < lines.Count && (lines[end].StartsWith(' ') || lines[end].StartsWith('\t'))) end++;
        lines.RemoveRange(at, end - at);
        return string.Join('\n', lines);
    }

    /// <summary>The cfg with lines added at the top of its global section.</summary>
    public static string WithGlobal(string cfg, params string[] lines) =>
        System.Text.RegularExpressions.Regex.Replace(cfg, "(?m)^global\n", "global\n" + string.Concat(lines.Select(l => "    " + l + "\n")));

    /// <summary>True when a TCP connect to 127.0.0.1:<paramref name="port"/> is refused (nothing listens).</summary>
    public static async Task<bool> IsRefusedAsync(int port)
    {
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            await c.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused) { return true; }
    }

    /// <summary>A GET on the metrics port; the status, or 0 when no response came.</summary>
    public static async Task<int> GetAsync(int port, string testId, TimeSpan? timeout = null)
    {
        try
        {
            await using var c = await RawHttp.ConnectAsync(port);
            await c.SendAsync($"GET /api/v2/series HTTP/1.1\r\nHost: metrics.agent.ddog-gov.com\r\n{TestIntake.TestIdHeader}: {testId}\r\nConnection: close\r\n\r\n");
            var r = await c.ReadFinalResponseAsync(timeout ?? TimeSpan.FromSeconds(10));
            return r?.Status ?? 0;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return 0;
        }
    }
}
