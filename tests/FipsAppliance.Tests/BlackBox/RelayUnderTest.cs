using System.Net;
using System.Net.Sockets;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>Which implementation relays: our published binary, or Debian's haproxy 2.6 with the same cfg.</summary>
public enum Relay
{
    Ours,
    HaProxy,
}

/// <summary>
/// A relay started from an inline cfg in a temp dir (with the test CA as `ca-certificates.crt`
/// beside it), our binary or haproxy; ready once every bind accepts TCP; killed on dispose.
/// </summary>
public sealed class RelayUnderTest : IAsyncDisposable
{
    public const string HaProxyBinary = "/usr/sbin/haproxy";

    private readonly TempDir _dir;
    private readonly RunningProcess _process;

    private RelayUnderTest(Relay which, TempDir dir, RunningProcess process, string cfg, int portRangeStart)
    {
        Which = which; _dir = dir; _process = process; Cfg = cfg; PortRangeStart = portRangeStart;
    }

    public Relay Which { get; }
    public string Cfg { get; }
    public int PortRangeStart { get; }
    public int StatsPort => PortRangeStart + ShippedCfg.StatsOffset;
    public int MetricsPort => PortRangeStart + ShippedCfg.MetricsOffset;
    public int Port(ProductPort p) => PortRangeStart + p.Offset;
    public string Output => _process.Output;
    public bool HasExited => _process.HasExited;
    public RunningProcess Process => _process;
    /// <summary>Where the cfg is: tests of reload rewrite it, then send SIGHUP.</summary>
    public string CfgPath => _dir.Combine("datadog-fips-proxy.cfg");
    public string Directory => _dir.Path;

    /// <summary>
    /// Starts the relay without waiting for anything (for tests of start-up failures).
    /// <paramref name="environment"/> adds variables (NOTIFY_SOCKET, WATCHDOG_USEC, ...);
    /// <paramref name="wrapper"/> runs the binary through a command that execs it (e.g.
    /// `prlimit --nofile=64:64`), so the pid is still the relay's.
    /// </summary>
    public static RelayUnderTest Launch(Relay which, string cfg, string caBundlePem, int portRangeStart,
        IDictionary<string, string?>? environment = null, IReadOnlyList<string>? wrapper = null)
    {
        var dir = new TempDir();
        var cfgPath = dir.File("datadog-fips-proxy.cfg", cfg);
        dir.File("ca-certificates.crt", caBundlePem);
        var (file, args) = which switch
        {
            Relay.Ours => (Repo.Binary, new[] { "-f", cfgPath }),
            _ => (HaProxyBinary, new[] { "-db", "-f", cfgPath }),
        };
        if (!File.Exists(file)) { dir.Dispose(); throw new InvalidOperationException($"{file} is missing (ours: run ./build.sh build)"); }
        // The containers' variables would move the binds or the range: the cfg alone decides here.
        var env = new Dictionary<string, string?> { ["DD_FIPS_LOCAL_ADDRESS"] = null, ["DD_FIPS_PORT_RANGE_START"] = null };
        // A test runner started by systemd must not hand its own notify socket to the relay.
        env["NOTIFY_SOCKET"] = null;
        env["WATCHDOG_USEC"] = null;
        env["WATCHDOG_PID"] = null;
        if (environment is not null) foreach (var (k, v) in environment) env[k] = v;
        if (wrapper is { Count: > 0 })
        {
            args = [.. wrapper.Skip(1), file, .. args];
            file = wrapper[0];
        }
        return new RelayUnderTest(which, dir, new RunningProcess(file, args, env, dir.Path), cfg, portRangeStart);
    }

    /// <summary>Starts the relay and waits (bounded) until every bind in the cfg accepts a TCP connection.</summary>
    public static async Task<RelayUnderTest> StartAsync(Relay which, string cfg, string caBundlePem, int portRangeStart,
        IDictionary<string, string?>? environment = null, IReadOnlyList<string>? wrapper = null)
    {
        var relay = Launch(which, cfg, caBundlePem, portRangeStart, environment, wrapper);
        try
        {
            await relay.WaitForBindsAsync(TimeSpan.FromSeconds(20));
            return relay;
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
    }

    private IEnumerable<int> BoundPorts() =>
        Cfg.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("bind ", StringComparison.Ordinal))
            .Select(l => int.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].Split(':')[^1]));

    private async Task WaitForBindsAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var port in BoundPorts())
        {
            while (true)
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"{Which} exited with {_process.ExitCode} before binding:\n{Output}");
                try
                {
                    using var c = new TcpClient(AddressFamily.InterNetwork);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                    await c.ConnectAsync(IPAddress.Loopback, port, cts.Token);
                    break;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    if (DateTime.UtcNow > deadline)
                        throw new TimeoutException($"{Which} did not bind 127.0.0.1:{port} within {timeout}:\n{Output}");
                    await Task.Delay(25);
                }
            }
        }
    }

    /// <summary>
    /// Waits (bounded) until every product port relays a request to the intake with a 2xx: with
    /// `init-addr none` the servers have no address until the resolvers answer, and the relay says
    /// 503 (mode http) or closes (mode tcp) until then.
    /// </summary>
    public async Task WaitUntilRelayingAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var product in ShippedCfg.Products)
        {
            RawResponse? last = null;
            while (true)
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"{Which} exited with {_process.ExitCode}:\n{Output}");
                try
                {
                    await using var c = await RawHttp.ConnectAsync(Port(product));
                    await c.SendAsync($"GET {product.Path} HTTP/1.1\r\nHost: {product.Host}\r\n{TestIntake.TestIdHeader}: ready\r\nConnection: close\r\n\r\n");
                    last = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(3));
                    if (last is { IsCompleteSuccess: true }) break;
                }
                catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or InvalidDataException) { }
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"{Which}: port {Port(product)} ({product.Frontend}) did not relay within {timeout} (last status {last?.Status.ToString() ?? "none"}):\n{Output}");
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
