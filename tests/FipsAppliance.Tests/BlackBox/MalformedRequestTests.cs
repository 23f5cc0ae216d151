namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// Requests where smuggling hides get 400 and never reach intake (mode http frontends). Sent on
/// raw sockets: HttpClient will not write them.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class MalformedRequestTests(ShippedEnvironment env)
{
    private static string Request(string name, string id) => name switch
    {
        "content-length-with-transfer-encoding" =>
            $"POST /api/v2/series HTTP/1.1\r\nHost: 127.0.0.1\r\n{TestIntake.TestIdHeader}: {id}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "bad-chunk-size" =>
            $"POST /api/v2/series HTTP/1.1\r\nHost: 127.0.0.1\r\n{TestIntake.TestIdHeader}: {id}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "obs-fold" =>
            $"POST /api/v2/series HTTP/1.1\r\nHost: 127.0.0.1\r\n{TestIntake.TestIdHeader}: {id}\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{{}}",
        "differing-content-lengths" =>
            $"POST /api/v2/series HTTP/1.1\r\nHost: 127.0.0.1\r\n{TestIntake.TestIdHeader}: {id}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}x",
        "control-character-in-header" =>
            $"POST /api/v2/series HTTP/1.1\r\nHost: 127.0.0.1\r\n{TestIntake.TestIdHeader}: {id}\r\nX-Bad: a\u0001b\r\nContent-Length: 2\r\n\r\n{{}}",
        "space-before-colon" =>
            $"POST /api/v2/series HTTP/1.1\r\nHost: 127.0.0.1\r\n{TestIntake.TestIdHeader}: {id}\r\nContent-Length : 2\r\n\r\n{{}}",
        "request-line-too-long" =>
            $"GET /api/v2/series?{new string('a', 20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n{TestIntake.TestIdHeader}: {id}\r\n\r\n",
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Test]
    [MatrixDataSource]
    public async Task Rejects_malformed_requests_with_400_before_intake(
        [Matrix(Relay.Ours, Relay.HaProxy)] Relay which,
        [Matrix("bad-chunk-size", "differing-content-lengths", "space-before-colon", "request-line-too-long")] string malformation)
        => await RejectsAsync(which, malformation);

    /// <summary>
    /// Stricter than haproxy 2.6, which relays these (202): with both Content-Length and
    /// Transfer-Encoding it drops Content-Length and relays chunked; it unfolds obs-fold; it passes
    /// a control character in a header value.
    /// </summary>
    [Test]
    [Arguments("content-length-with-transfer-encoding")]
    [Arguments("obs-fold")]
    [Arguments("control-character-in-header")]
    public async Task Rejects_what_haproxy_tolerates_with_400_before_intake(string malformation)
        => await RejectsAsync(Relay.Ours, malformation);

    private async Task RejectsAsync(Relay which, string malformation)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(Request(malformation, id));
        var response = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(5));
        var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromMilliseconds(300));

        await Assert.That(response?.Status).IsEqualTo(400);
        await Assert.That(seen.Count).IsEqualTo(0);
    }
}
