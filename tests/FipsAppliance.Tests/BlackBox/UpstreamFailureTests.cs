using System.Diagnostics;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// The intake misbehaving mid-exchange. The cfg is the shipped one with `timeout server 1s` so a
/// stall is seen quickly; a request whose upstream failed must never be answered 2xx.
/// </summary>
[ClassDataSource<ShortServerTimeoutEnvironment>(Shared = SharedType.PerClass)]
public class UpstreamFailureTests(ShortServerTimeoutEnvironment env)
{
    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Answers_504_when_intake_stalls_past_timeout_server(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        var clock = Stopwatch.StartNew();
        await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", id, 2, $"{TestIntake.BehaviourHeader}: Stall\r\n") + "{}");
        var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(8));
        clock.Stop();

        await Assert.That(response?.Status).IsEqualTo(504);
        await Assert.That(clock.Elapsed).IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(ShortServerTimeoutEnvironment.ServerTimeoutSeconds * 0.9));
        await Assert.That(clock.Elapsed).IsLessThan(TimeSpan.FromSeconds(ShortServerTimeoutEnvironment.ServerTimeoutSeconds + 2));
        // The request did reach the intake: the 504 is about the answer, not the connection.
        await Assert.That((await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(1))).Count).IsEqualTo(1);
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Never_completes_a_2xx_when_intake_resets_mid_response(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", id, 2, $"{TestIntake.BehaviourHeader}: Reset\r\n") + "{}");
        var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(5));

        // Either the relay had not passed the head on yet (then a 502), or the client sees the body
        // cut short: what it must never see is a complete 2xx.
        await Assert.That(response is { IsCompleteSuccess: true }).IsFalse();
        await Assert.That((await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(1))).Count).IsEqualTo(1);
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Answers_502_when_intake_closes_without_answering(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", id, 2, $"{TestIntake.BehaviourHeader}: Close\r\n") + "{}");
        var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(5));

        await Assert.That(response?.Status).IsEqualTo(502);
    }
}
