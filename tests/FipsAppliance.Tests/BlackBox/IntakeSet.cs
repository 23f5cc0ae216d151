using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// Intakes on 127.0.0.2, 127.0.0.3, ... (one port for all, as every intake host listens on 443),
/// dnsmasq pointing the shipped cfg's names at them (every name at 127.0.0.2 unless said
/// otherwise), and a relay running the shipped cfg pointed at them with short check intervals.
/// Each test that stops intakes or DNS has its own.
/// </summary>
public sealed partial class IntakeSet : IAsyncDisposable
{
    private readonly TestIntake?[] _intakes;
    private LocalDns? _dns;

    private IntakeSet(TestCa ca, int port, TestIntake?[] intakes) { Ca = ca; Port = port; _intakes = intakes; }

    public TestCa Ca { get; }
    public int Port { get; }
    public RelayUnderTest Relay { get; private set; } = null!;
    public LocalDns Dns => _dns ?? throw new InvalidOperationException("DNS stopped");
    public TestIntake Intake(int i) => _intakes[i] ?? throw new InvalidOperationException($"intake {i} is stopped");
    public static IPAddress AddressOf(int i) => IPAddress.Parse($"127.0.0.{i + 2}");

    /// <summary>Every name of the shipped cfg at 127.0.0.2, with changes.</summary>
    public static Dictionary<string, string[]> Records(Action<Dictionary<string, string[]>>? change = null)
    {
        var records = TestIntake.Hosts.ToDictionary(h => h, _ => new[] { "127.0.0.2" });
        change?.Invoke(records);
        return records;
    }

    /// <summary>
    /// The shipped cfg for these intakes: checks every 200 ms (`default-server ... check inter 10s`),
    /// DNS answers kept `hold valid 1s`; <paramref name="tweak"/> may change more.
    /// </summary>
    public static async Task<IntakeSet> StartAsync(Relay which, int intakes = 1, IntakeCertificate certificate = IntakeCertificate.Valid,
        Dictionary<string, string[]>? records = null, Func<string, string>? tweak = null, bool waitRelaying = true)
    {
        var ca = new TestCa();
        var (port, started) = Listen(ca, certificate, intakes);
        var set = new IntakeSet(ca, port, started);
        try
        {
            set._dns = await LocalDns.StartAsync(records ?? Records());
            var start = Ports.FreeRange(16);
            var cfg = ShippedCfg.ForTest(port, set._dns.Port, start);
            cfg = CheckInter().Replace(cfg, "check inter 200ms");
            cfg = HoldValid().Replace(cfg, "hold valid 1s");
            if (tweak is not null) cfg = tweak(cfg);
            set.Relay = await RelayUnderTest.StartAsync(which, cfg, ca.RootPem, start);
            if (waitRelaying) await set.Relay.WaitUntilRelayingAsync(TimeSpan.FromSeconds(30));
            return set;
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// One port free on every 127.0.0.x wanted, the intakes listening on it. The port comes from the
    /// test run's cursor (<see cref="Ports.FreeRange"/>), not from the kernel's ephemeral ports: a
    /// stopped intake's port must not be handed to another test's intake while this relay still
    /// checks it. With port 0 a full run once logged "no server available" twice after an intake
    /// was stopped, which this explains (the kernel gave the freed port to another test's intake on
    /// 127.0.0.2; the server came back UP on it and went DOWN again when that test stopped it).
    /// </summary>
    private static (int Port, TestIntake?[] Intakes) Listen(TestCa ca, IntakeCertificate certificate, int count)
    {
        for (int attempt = 0; ; attempt++)
        {
            var intakes = new TestIntake?[count];
            try
            {
                int port = Ports.FreeRange(1);
                for (int i = 0; i < count; i++) intakes[i] = new TestIntake(ca, certificate, AddressOf(i), port);
                return (intakes[0]!.Port, intakes);
            }
            catch (SocketException) when (attempt < 20)
            {
                foreach (var t in intakes) t?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
    }

    public async Task StopIntakeAsync(int i)
    {
        var t = _intakes[i];
        _intakes[i] = null;
        if (t is not null) await t.DisposeAsync();
    }

    public void RestartIntake(int i, IntakeCertificate certificate = IntakeCertificate.Valid) =>
        _intakes[i] ??= new TestIntake(Ca, certificate, AddressOf(i), Port);

    public async Task StopDnsAsync()
    {
        var d = _dns;
        _dns = null;
        if (d is not null) await d.DisposeAsync();
    }

    /// <summary>The relay's output lines that match <paramref name="pattern"/> (a whole-line regex).</summary>
    public IReadOnlyList<string> Lines(string pattern) =>
        Relay.Output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => Regex.IsMatch(l, "^" + pattern + "$")).ToList();

    /// <summary>Waits (bounded) for a line matching <paramref name="pattern"/>; returns it or throws with the output.</summary>
    public async Task<string> WaitForLineAsync(string pattern, TimeSpan timeout, int skip = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = Lines(pattern);
            if (found.Count > skip) return found[skip];
            if (Relay.HasExited) throw new InvalidOperationException($"relay exited waiting for /{pattern}/:\n{Relay.Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no line /{pattern}/ within {timeout}:\n{Relay.Output}");
            await Task.Delay(10);
        }
    }

    /// <summary>One server's row of the stats CSV (`/;csv` on the stats listener), by column name.</summary>
    public async Task<Dictionary<string, string>> CsvRowAsync(string proxy, string server)
    {
        await using var c = await RawHttp.ConnectAsync(Relay.StatsPort);
        await c.SendAsync("GET /;csv HTTP/1.1\r\nHost: stats\r\nConnection: close\r\n\r\n");
        var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException("no stats answer");
        var lines = response.BodyText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0][2..].Split(',');
        foreach (var line in lines[1..])
        {
            var fields = line.Split(',');
            if (fields[0] != proxy || fields[1] != server) continue;
            var row = new Dictionary<string, string>();
            for (int i = 0; i < header.Length && i < fields.Length; i++) row[header[i]] = fields[i];
            return row;
        }
        throw new InvalidOperationException($"no CSV row {proxy}/{server}:\n{response.BodyText}");
    }

    /// <summary>Waits (bounded) until <paramref name="server"/>'s CSV status is <paramref name="status"/>.</summary>
    public async Task WaitForStatusAsync(string proxy, string server, string status, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            last = (await CsvRowAsync(proxy, server))["status"];
            if (last == status) return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{proxy}/{server} stayed '{last}', not '{status}', for {timeout}:\n{Relay.Output}");
    }

    public async Task<string> MetricsAsync()
    {
        await using var c = await RawHttp.ConnectAsync(Relay.StatsPort);
        await c.SendAsync("GET /metrics HTTP/1.1\r\nHost: stats\r\nConnection: close\r\n\r\n");
        return (await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(10)))?.BodyText ?? "";
    }

    /// <summary>One POST to the metrics port; the response (null if the connection just closed) and how long it took.</summary>
    public async Task<(RawResponse? Response, TimeSpan Took)> PostMetricsAsync(string testId)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var c = await RawHttp.ConnectAsync(Relay.MetricsPort);
        await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", testId, 2) + "{}");
        var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(15));
        return (response, started.Elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        if (Relay is not null) await Relay.DisposeAsync();
        for (int i = 0; i < _intakes.Length; i++) await StopIntakeAsync(i);
        await StopDnsAsync();
    }

    [GeneratedRegex(@"\bcheck inter 10s\b")]
    private static partial Regex CheckInter();

    [GeneratedRegex(@"\bhold valid \S+")]
    private static partial Regex HoldValid();
}
