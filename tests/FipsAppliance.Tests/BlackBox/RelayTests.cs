using System.Net;
using System.Text;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// The relay's main job with the shipped cfg (only pointed at a local intake and DNS): what the
/// Agent sends arrives at the right intake host byte for byte, and what intake answers comes back.
/// Every test runs against ours and against Debian's haproxy 2.6 with the same cfg.
/// </summary>
[ClassDataSource<ShippedEnvironment>(Shared = SharedType.PerClass)]
public class RelayTests(ShippedEnvironment env)
{
    private static List<KeyValuePair<string, string>> AgentHeaders(int port, string testId, int length) =>
    [
        new("Host", $"127.0.0.1:{port}"),
        new("User-Agent", "datadog-agent/7.60.0"),
        new("Content-Type", "application/json"),
        new("Content-Encoding", "deflate"),
        new("DD-API-KEY", "0123456789abcdef0123456789abcdef"),
        new("DD-Agent-Version", "7.60.0"),
        new(TestIntake.TestIdHeader, testId),
        new("Content-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    public static IEnumerable<(int Offset, string Path, string Host)> Routes()
    {
        foreach (var p in ShippedCfg.Products) yield return (p.Offset, p.Path, p.Host);
        yield return (ShippedCfg.MetricsOffset, "/api/v1/validate", "api.ddog-gov.com");
        yield return (ShippedCfg.MetricsOffset, "/support/flare/12345", "flare.ddog-gov.com");
        yield return (ShippedCfg.MetricsOffset, "/intake/", "metrics.agent.ddog-gov.com");
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Relays_every_product_port_byte_for_byte(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var failures = new List<string>();
        foreach (var (offset, path, host) in Routes())
        {
            var port = relay.PortRangeStart + offset;
            var id = Payloads.NewTestId();
            var body = Payloads.Random(3000 + offset * 97);
            var headers = AgentHeaders(port, id, body.Length);
            await using var c = await RawHttp.ConnectAsync(port);
            await c.SendAsync(Payloads.Concat(Payloads.Ascii(Expect.Head("POST", path + "?q=1", headers)), body));
            var response = await c.ReadFinalResponseAsync();
            var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(5));
            var where = $"{port} {path}";
            if (response is not { Status: 202, Complete: true } || response.BodyText != TestIntake.AcceptBody)
                failures.Add($"{where}: client got {response?.Status.ToString() ?? "no response"} {response?.BodyText}");
            if (seen.Count != 1) { failures.Add($"{where}: intake saw {seen.Count} requests"); continue; }
            var r = seen[0];
            if (r.Sni != host) failures.Add($"{where}: SNI {r.Sni}, expected {host}");
            if (r.Method != "POST" || r.Target != path + "?q=1") failures.Add($"{where}: intake saw {r.Method} {r.Target}");
            if (!r.Complete || r.BodyLength != body.Length || r.BodySha256 != Payloads.Sha256(body))
                failures.Add($"{where}: body differs ({r.BodyLength} bytes, complete {r.Complete})");
            if (Expect.HeadersDiffer(headers, r) is { } diff) failures.Add($"{where}: headers differ\n{diff}");
        }
        await Assert.That(failures).IsEmpty();
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Relays_a_chunked_upload_byte_for_byte(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        var body = Payloads.Random(200_000);
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync($"POST /api/v2/series HTTP/1.1\r\nHost: 127.0.0.1\r\n{TestIntake.TestIdHeader}: {id}\r\nTransfer-Encoding: chunked\r\n\r\n");
        // Sent in pieces that do not line up with the chunks, as a streaming client would.
        var wire = Payloads.Chunked(body, 1, 15, 4096, 65536, 3);
        for (int at = 0; at < wire.Length; at += 50_000)
            await c.SendAsync(wire.AsMemory(at, Math.Min(50_000, wire.Length - at)));
        var response = await c.ReadFinalResponseAsync();
        var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(5));

        await Assert.That(response?.Status).IsEqualTo(202);
        await Assert.That(seen.Count).IsEqualTo(1);
        await Assert.That(seen[0].Complete).IsTrue();
        await Assert.That(seen[0].BodySha256).IsEqualTo(Payloads.Sha256(body));
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Relays_a_10_MiB_body_byte_for_byte(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        var body = Payloads.Random(10 * 1024 * 1024);
        using var http = NewHttpClient();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/x-protobuf");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{relay.MetricsPort}/api/beta/sketches") { Content = content };
        request.Headers.Add(TestIntake.TestIdHeader, id);
        using var response = await http.SendAsync(request);
        var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(5));

        await Assert.That(response.StatusCode).IsEqualTo(HttpStatusCode.Accepted);
        await Assert.That(seen.Count).IsEqualTo(1);
        await Assert.That(seen[0].BodyLength).IsEqualTo(body.Length);
        await Assert.That(seen[0].BodySha256).IsEqualTo(Payloads.Sha256(body));
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Answers_pipelined_requests_in_order(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        var bodies = Enumerable.Range(0, 3).Select(i => Payloads.Random(100 + i * 1000)).ToArray();
        var wire = Payloads.Concat(bodies.SelectMany((b, i) => new[]
        {
            Payloads.Ascii(RawHttp.Post("/api/v2/series", "127.0.0.1", id, b.Length,
                $"X-Seq: {i}\r\n{TestIntake.BehaviourHeader}: {(i == 1 ? "Echo" : "Accept")}\r\n")),
            b,
        }).ToArray());
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(wire); // all three requests in one write
        var responses = new List<RawResponse?>();
        for (int i = 0; i < 3; i++) responses.Add(await c.ReadFinalResponseAsync());
        var seen = await env.Intake.WaitForAsync(id, 3, TimeSpan.FromSeconds(5));

        await Assert.That(string.Join(",", responses.Select(r => r?.Status))).IsEqualTo("202,200,202");
        await Assert.That(responses[1]!.Body.SequenceEqual(bodies[1])).IsTrue();
        await Assert.That(string.Join(",", seen.Select(r => r.Header("X-Seq")))).IsEqualTo("0,1,2");
        await Assert.That(string.Join(",", seen.Select(r => r.BodySha256))).IsEqualTo(string.Join(",", bodies.Select(b => Payloads.Sha256(b))));
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Relays_expect_100_continue_before_the_body_is_sent(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        var body = Payloads.Random(50_000);
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(RawHttp.Post("/api/v2/logs", "127.0.0.1", id, body.Length, "Expect: 100-continue\r\n"));
        var interim = await c.ReadResponseAsync(TimeSpan.FromSeconds(3));
        await Assert.That(interim?.Status).IsEqualTo(100);
        await c.SendAsync(body);
        var response = await c.ReadFinalResponseAsync();
        var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(5));

        await Assert.That(response?.Status).IsEqualTo(202);
        await Assert.That(seen.Count).IsEqualTo(1);
        await Assert.That(seen[0].BodySha256).IsEqualTo(Payloads.Sha256(body));
    }

    [Test]
    [Arguments(Relay.Ours, "Chunked", "hello world")]
    [Arguments(Relay.HaProxy, "Chunked", "hello world")]
    [Arguments(Relay.Ours, "CloseDelimited", "until the end")]
    [Arguments(Relay.HaProxy, "CloseDelimited", "until the end")]
    public async Task Relays_responses_whatever_their_framing(Relay which, string behaviour, string expected)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        await using var c = await RawHttp.ConnectAsync(relay.MetricsPort);
        await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", id, 2, $"{TestIntake.BehaviourHeader}: {behaviour}\r\n") + "{}");
        var response = await c.ReadFinalResponseAsync();

        await Assert.That(response?.Status).IsEqualTo(200);
        await Assert.That(response!.Complete).IsTrue();
        await Assert.That(response.BodyText).IsEqualTo(expected);
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Client_closing_mid_body_never_delivers_a_complete_request(Relay which)
    {
        var relay = await env.RelayAsync(which);
        var id = Payloads.NewTestId();
        await using (var c = await RawHttp.ConnectAsync(relay.MetricsPort))
        {
            await c.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", id, 100_000));
            await c.SendAsync(Payloads.Random(30_000));
            await Task.Delay(100); // let the relay start streaming the body upstream
        }
        // The relay may have forwarded the head and part of the body: the intake then records an
        // incomplete request when the upstream connection ends. Wait for that (bounded), or a while.
        var seen = await env.Intake.WaitForAsync(id, 1, TimeSpan.FromSeconds(2));
        await Assert.That(seen.Any(r => r.Complete)).IsFalse();

        var after = Payloads.NewTestId();
        await using var next = await RawHttp.ConnectAsync(relay.MetricsPort);
        await next.SendAsync(RawHttp.Post("/api/v2/series", "127.0.0.1", after, 2) + "{}");
        await Assert.That((await next.ReadFinalResponseAsync())?.Status).IsEqualTo(202);
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Serves_the_stats_page_and_its_csv(Relay which)
    {
        var relay = await env.RelayAsync(which);
        using var http = NewHttpClient();
        using var page = await http.GetAsync($"http://127.0.0.1:{relay.StatsPort}/");
        var html = await page.Content.ReadAsStringAsync();
        using var csv = await http.GetAsync($"http://127.0.0.1:{relay.StatsPort}/;csv");
        var csvText = await csv.Content.ReadAsStringAsync();

        await Assert.That(page.StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(page.Content.Headers.ContentType?.MediaType).IsEqualTo("text/html");
        await Assert.That(html).Contains("<html", StringComparison.OrdinalIgnoreCase);
        await Assert.That(csv.StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(csvText).StartsWith("# pxname,svname,");
        await Assert.That(csvText).Contains("datadog-metrics,");
    }

    /// <summary>
    /// The published binary reaches OpenSSL's SSL object behind SslStream (a private field, kept
    /// through trimming by a constant GetField) to let idle intake connections give back their
    /// record buffers; the warm-up's handshake says at start if it cannot.
    /// </summary>
    [Test]
    public async Task Releases_openssl_record_buffers_of_server_connections()
    {
        var relay = await env.RelayAsync(Relay.Ours);
        await Assert.That(relay.Output).Contains("TLS warm-up handshake done");
        await Assert.That(relay.Output).DoesNotContain("record buffers cannot be released");
    }

    internal static HttpClient NewHttpClient() => new(new SocketsHttpHandler
    {
        UseProxy = false,
        MaxConnectionsPerServer = 1,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    { Timeout = TimeSpan.FromSeconds(20) };
}
