namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// Intake unreachable or not to be trusted: the relay answers with HAProxy's statuses and (ours)
/// says why in its log. Each test has its own environment (the failure is in the environment).
/// </summary>
public class UpstreamUnavailableTests
{
    private static async Task<RawResponse?> PostMetricsAsync(RelayUnderTest relay)
    {
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", Payloads.NewTestId(), 2) + "{}");
        return await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(15));
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Answers_503_when_intake_is_down(Relay which)
    {
        await using var env = await RelayEnvironment.StartAsync(new EnvironmentOptions { IntakeUp = false });
        var relay = await env.RelayAsync(which);
        await Assert.That((await PostMetricsAsync(relay))?.Status).IsEqualTo(503);
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Answers_503_when_dns_knows_no_address(Relay which)
    {
        await using var env = await RelayEnvironment.StartAsync(new EnvironmentOptions { DnsAnswers = false });
        var relay = await env.RelayAsync(which);
        await Assert.That((await PostMetricsAsync(relay))?.Status).IsEqualTo(503);
        await Assert.That(env.Intake.ConnectionsAccepted).IsEqualTo(0);
    }

    [Test]
    [Arguments(Relay.Ours, 502)]
    [Arguments(Relay.HaProxy, 503)] // haproxy counts a failed handshake as a connection failure: retries, then 503
    public async Task Refuses_an_intake_certificate_for_another_name(Relay which, int status)
    {
        await using var env = await RelayEnvironment.StartAsync(new EnvironmentOptions { Certificate = IntakeCertificate.NameMismatch });
        var relay = await env.RelayAsync(which);
        var response = await PostMetricsAsync(relay);

        await Assert.That(env.Intake.Requests.Count).IsEqualTo(0);
        await Assert.That(response?.Status).IsEqualTo(status);
        if (which == Relay.Ours)
            await Assert.That(relay.Output).Contains("name mismatch", StringComparison.OrdinalIgnoreCase);
    }

    [Test]
    [Arguments(Relay.Ours, 502)]
    [Arguments(Relay.HaProxy, 503)] // haproxy counts a failed handshake as a connection failure: retries, then 503
    public async Task Refuses_an_intake_certificate_from_an_untrusted_ca(Relay which, int status)
    {
        await using var env = await RelayEnvironment.StartAsync(new EnvironmentOptions { Certificate = IntakeCertificate.UntrustedCa });
        var relay = await env.RelayAsync(which);
        var response = await PostMetricsAsync(relay);

        await Assert.That(env.Intake.Requests.Count).IsEqualTo(0);
        await Assert.That(response?.Status).IsEqualTo(status);
        if (which == Relay.Ours)
        {
            var output = relay.Output;
            await Assert.That(output.Contains("untrusted", StringComparison.OrdinalIgnoreCase)
                              || output.Contains("unable to get local issuer", StringComparison.OrdinalIgnoreCase)).IsTrue();
        }
    }
}
