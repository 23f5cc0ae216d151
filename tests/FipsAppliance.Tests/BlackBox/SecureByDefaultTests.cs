using System.Text.RegularExpressions;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// Ours only: beyond HAProxy, a server line with `ssl` but no `sni`/`verifyhost` still sends SNI
/// and verifies the name of the host it names. (haproxy 2.6 sends no SNI and checks only the chain
/// there, so it would relay to an intake whose certificate names another host.)
/// </summary>
public class SecureByDefaultTests
{
    private static string WithoutSniAndVerifyhost(string cfg) =>
        Regex.Replace(cfg, @"\s+(sni\s+\S+|verifyhost\s+\S+)", "");

    [Test]
    public async Task Sends_sni_of_the_server_host_when_the_cfg_names_none()
    {
        await using var env = await RelayEnvironment.StartAsync(new EnvironmentOptions { Tweak = WithoutSniAndVerifyhost });
        var relay = await env.RelayAsync(Relay.Ours);
        var id = Payloads.NewTestId();
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(RawHttp.Post("/api/v1/validate", "127.0.0.1", id, 2) + "{}");
        await Assert.That((await c.ReadFinalResponseAsync())?.Status).IsEqualTo(202);
        var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(5));
        await Assert.That(seen.Single().Sni).IsEqualTo("api.ddog-gov.com");
    }

    [Test]
    public async Task Verifies_the_server_host_name_when_the_cfg_names_none()
    {
        await using var env = await RelayEnvironment.StartAsync(new EnvironmentOptions
        {
            Certificate = IntakeCertificate.NameMismatch,
            Tweak = WithoutSniAndVerifyhost,
        });
        var relay = await env.RelayAsync(Relay.Ours);
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", Payloads.NewTestId(), 2) + "{}");
        var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(15));

        await Assert.That(response?.Status).IsEqualTo(502);
        await Assert.That(env.Intake.Requests.Count).IsEqualTo(0);
        await Assert.That(relay.Output).Contains("name mismatch", StringComparison.OrdinalIgnoreCase);
    }
}
