using System.Collections.Concurrent;
using FipsAppliance.Tests.Infrastructure;
using TUnit.Core.Interfaces;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>What is around the relay in an environment.</summary>
public sealed record EnvironmentOptions
{
    public IntakeCertificate Certificate { get; init; } = IntakeCertificate.Valid;
    /// <summary>False: dnsmasq knows no address for any name (the servers never get one).</summary>
    public bool DnsAnswers { get; init; } = true;
    /// <summary>False: the servers point at a port nobody listens on.</summary>
    public bool IntakeUp { get; init; } = true;
    /// <summary>A change to the test cfg beyond pointing it at local things (e.g. a shorter timeout).</summary>
    public Func<string, string>? Tweak { get; init; }

    internal bool Healthy => Certificate == IntakeCertificate.Valid && DnsAnswers && IntakeUp;
}

/// <summary>
/// A test CA, a <see cref="TestIntake"/>, a <see cref="LocalDns"/>, and the relays (ours, haproxy)
/// started on first use from the shipped cfg pointed at them, each on its own port range. One
/// environment serves a whole test class where its tests do not interfere (they tag their
/// requests); a relay that fails to start fails every test that asks for it, with its output.
/// </summary>
public class RelayEnvironment(EnvironmentOptions options) : IAsyncInitializer, IAsyncDisposable
{
    private readonly ConcurrentDictionary<Relay, Lazy<Task<RelayUnderTest>>> _relays = new();

    public EnvironmentOptions Options { get; } = options;
    public TestCa Ca { get; } = new();
    public TestIntake Intake { get; private set; } = null!;
    public LocalDns Dns { get; private set; } = null!;

    public static async Task<RelayEnvironment> StartAsync(EnvironmentOptions options)
    {
        var env = new RelayEnvironment(options);
        await env.InitializeAsync();
        return env;
    }

    public async Task InitializeAsync()
    {
        Intake = new TestIntake(Ca, Options.Certificate);
        Dns = await LocalDns.StartAsync(Options.DnsAnswers);
    }

    /// <summary>The shipped cfg for this environment, binds moved to <paramref name="portRangeStart"/>.</summary>
    public string Cfg(int portRangeStart)
    {
        var intakePort = Options.IntakeUp ? Intake.Port : Ports.Free();
        var cfg = ShippedCfg.ForTest(intakePort, Dns.Port, portRangeStart);
        return Options.Tweak is null ? cfg : Options.Tweak(cfg);
    }

    /// <summary>The relay of this kind, started (once) and ready.</summary>
    public Task<RelayUnderTest> RelayAsync(Relay which) =>
        _relays.GetOrAdd(which, w => new Lazy<Task<RelayUnderTest>>(() => StartRelayAsync(w))).Value;

    private async Task<RelayUnderTest> StartRelayAsync(Relay which)
    {
        var start = Ports.FreeRange(16);
        var relay = await RelayUnderTest.StartAsync(which, Cfg(start), Ca.RootPem, start);
        try
        {
            if (Options.Healthy) await relay.WaitUntilRelayingAsync(TimeSpan.FromSeconds(20));
            else await WaitUntilServersKnownAsync(relay, TimeSpan.FromSeconds(15));
            return relay;
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// For an environment where requests cannot succeed: wait (bounded) until the relay has asked the
    /// DNS for the metrics host and, with an intake up, has reached it over TCP, so a failure the test
    /// then sees is the one it provokes, not "not resolved yet".
    /// </summary>
    private async Task WaitUntilServersKnownAsync(RelayUnderTest relay, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        const string host = "metrics.agent.ddog-gov.com";
        while (!Dns.WasAskedFor(host))
        {
            if (relay.HasExited) throw new InvalidOperationException($"{relay.Which} exited:\n{relay.Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{relay.Which} never asked the DNS for {host}:\n{relay.Output}\n{Dns.Output}");
            await Task.Delay(25);
        }
        if (!Options.IntakeUp || !Options.DnsAnswers) return;
        var accepted = Intake.ConnectionsAccepted;
        while (Intake.ConnectionsAccepted == accepted)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{relay.Which} never connected to the intake:\n{relay.Output}");
            try
            {
                // Not waiting for the answer: haproxy retries a failed handshake (about a second
                // each) before it answers; the connection reaching the intake is all this waits for.
                await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
                await c.SendAsync($"GET /api/v2/series HTTP/1.1\r\nHost: {host}\r\n{TestIntake.TestIdHeader}: ready\r\nConnection: close\r\n\r\n");
                var answer = c.ReadFinalResponseAsync(TimeSpan.FromSeconds(5));
                for (int i = 0; i < 50 && !answer.IsCompleted && Intake.ConnectionsAccepted == accepted; i++) await Task.Delay(20);
                _ = answer.ContinueWith(a => a.Exception, TaskContinuationOptions.OnlyOnFaulted);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidDataException) { }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _relays.Values)
        {
            if (!lazy.IsValueCreated) continue;
            RelayUnderTest relay;
            try { relay = await lazy.Value; }
            catch (Exception) { continue; } // it failed to start; the tests that used it already report why
            await relay.DisposeAsync();
        }
        if (Intake is not null) await Intake.DisposeAsync();
        if (Dns is not null) await Dns.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The shipped cfg as is (only pointed at local things): shared by a test class.</summary>
public sealed class ShippedEnvironment() : RelayEnvironment(new EnvironmentOptions());

/// <summary>The shipped cfg with `timeout server 1s`, for failures of the intake mid-exchange.</summary>
public sealed class ShortServerTimeoutEnvironment() : RelayEnvironment(new EnvironmentOptions
{
    Tweak = cfg => System.Text.RegularExpressions.Regex.Replace(cfg, @"timeout\s+server\s+\S+", "timeout server " + ServerTimeoutSeconds + "s"),
})
{
    public const int ServerTimeoutSeconds = 1;
}
