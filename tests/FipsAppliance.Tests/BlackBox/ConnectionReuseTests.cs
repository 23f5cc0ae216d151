namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// A busy Agent must not pay a TLS handshake per request. This class has its own intake: in a
/// shared one, haproxy (`http-reuse safe`) lends a session's later requests any idle connection
/// to the server, other tests' included, so the requests of one test hop between connections.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class ConnectionReuseTests(ShippedEnvironment env)
{
    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Reuses_one_upstream_connection_for_sequential_requests(Relay which)
    {
        const int n = 20;
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        for (int i = 0; i < n; i++)
        {
            await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", id, 2) + "{}");
            await Assert.That((await c.ReadFinalResponseAsync())?.Status).IsEqualTo(202);
        }
        var seen = await env.Intake.WaitForAsync(id, n, TimeSpan.FromSeconds(5));

        await Assert.That(seen.Count).IsEqualTo(n);
        // One intake connection is one TLS handshake. (The intake's handshake counter would also
        // count TLS health checks, if a relay made them.)
        await Assert.That(string.Join(",", seen.Select(r => r.ConnectionId))).IsEqualTo(string.Join(",", seen.Select(_ => seen[0].ConnectionId)));
    }
}
