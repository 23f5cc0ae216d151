namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// The same requests through ours and through haproxy with the same cfg: the intake must see the
/// same method, target and body, and the client the same status. Header differences are written
/// to the test output (they are listed in the README, not asserted: ours keeps header-name case,
/// haproxy lower-cases names).
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class ComparisonTests(ShippedEnvironment env)
{
    private sealed record Case(int Offset, string Method, string Target, byte[]? Body, bool Chunked, string? Behaviour);

    private static readonly Case[] Cases =
    [
        new(1, "POST", "/api/v2/series", Payloads.Random(4096), false, null),
        new(1, "POST", "/api/beta/sketches?x=1", Payloads.Random(300_000), true, null),
        new(1, "GET", "/api/v1/validate", null, false, null),
        new(1, "POST", "/support/flare/42", Payloads.Random(70_000), false, null),
        new(1, "PUT", "/api/v1/metadata", Payloads.Random(10), false, "Echo"),
        new(2, "POST", "/api/v0.2/traces", Payloads.Random(20_000), false, null),
        new(5, "POST", "/api/v2/logs", Payloads.Random(100_000), true, null),
        new(12, "POST", "/api/v2/orch", Payloads.Random(1), false, "Chunked"),
        new(15, "POST", "/api/v2/ndmflow", Payloads.Random(0), false, "CloseDelimited"),
    ];

    private async Task<List<(int? Status, IntakeRequest? Seen)>> SendAllAsync(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var results = new List<(int?, IntakeRequest?)>();
        foreach (var k in Cases)
        {
            var id = Payloads.NewTestId();
            var head = $"{k.Method} {k.Target} HTTP/1.1\r\nHost: 127.0.0.1:{relay.PortRangeStart + k.Offset}\r\n" +
                       $"User-Agent: datadog-agent/7.60.0\r\nDD-API-KEY: abc\r\n{TestIntake.TestIdHeader}: {id}\r\n" +
                       (k.Behaviour is null ? "" : $"{TestIntake.BehaviourHeader}: {k.Behaviour}\r\n") +
                       (k.Body is null ? "" : k.Chunked ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {k.Body.Length}\r\n") + "\r\n";
            var body = k.Body is null ? [] : k.Chunked ? Payloads.Chunked(k.Body, 1000, 7) : k.Body;
            await using var c = await RawHttp.ConnectAsync(relay.PortRangeStart + k.Offset);
            await c.SendAsync(Payloads.Concat(Payloads.Ascii(head), body));
            var response = await c.ReadFinalResponseAsync();
            var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(5));
            results.Add((response?.Status, seen.FirstOrDefault()));
        }
        return results;
    }

    [Test]
    public async Task Ours_and_haproxy_deliver_the_same_requests_and_statuses()
    {
        var ours = await SendAllAsync(Relay.Ours);
        var theirs = await SendAllAsync(Relay.HaProxy);

        var differences = new List<string>();
        for (int i = 0; i < Cases.Length; i++)
        {
            var (o, h) = (ours[i], theirs[i]);
            var what = $"{Cases[i].Method} {Cases[i].Target} on +{Cases[i].Offset}";
            if (o.Status != h.Status) differences.Add($"{what}: status ours {o.Status}, haproxy {h.Status}");
            if (o.Seen is null || h.Seen is null) { differences.Add($"{what}: intake saw ours {o.Seen is not null}, haproxy {h.Seen is not null}"); continue; }
            if ((o.Seen.Method, o.Seen.Target, o.Seen.BodyLength, o.Seen.BodySha256, o.Seen.Sni) !=
                (h.Seen.Method, h.Seen.Target, h.Seen.BodyLength, h.Seen.BodySha256, h.Seen.Sni))
                differences.Add($"{what}: intake saw ours {o.Seen.Method} {o.Seen.Target} {o.Seen.BodyLength}B sni={o.Seen.Sni}, " +
                                $"haproxy {h.Seen.Method} {h.Seen.Target} {h.Seen.BodyLength}B sni={h.Seen.Sni}");
            var oh = o.Seen.Headers.Where(x => !x.Key.Equals("Host", StringComparison.OrdinalIgnoreCase) && !x.Key.Equals(TestIntake.TestIdHeader, StringComparison.OrdinalIgnoreCase)).Select(x => $"{x.Key}: {x.Value}");
            var hh = h.Seen.Headers.Where(x => !x.Key.Equals("Host", StringComparison.OrdinalIgnoreCase) && !x.Key.Equals(TestIntake.TestIdHeader, StringComparison.OrdinalIgnoreCase)).Select(x => $"{x.Key}: {x.Value}");
            if (!oh.SequenceEqual(hh))
                Console.WriteLine($"{what}: headers differ\n  ours:    {string.Join(" | ", oh)}\n  haproxy: {string.Join(" | ", hh)}");
        }
        await Assert.That(differences).IsEmpty();
    }
}
