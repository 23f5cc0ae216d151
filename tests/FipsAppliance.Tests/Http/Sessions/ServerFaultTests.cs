using FipsAppliance.Tests.BlackBox;
using static FipsAppliance.Tests.Http.Sessions.SessionBasicsTests;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>
/// A server that says more than it was asked, or breaks mid-answer: no client request may ever be
/// answered with bytes meant for another, and every request still gets its access line.
/// </summary>
public class ServerFaultTests
{
    private const string Poison = "HTTP/1.1 299 POISON\r\nX-Answer-To: poison\r\nContent-Length: 0\r\n\r\n";

    /// <summary>Request "/bad" gets <paramref name="badAnswer"/>; then the next request on the same client connection must get its own answer.</summary>
    private static async Task NextRequestGetsItsOwnAnswer(string badRequest, string badAnswer, bool headRequest = false, int expectedBadStatus = 200)
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(async (c, r) =>
        {
            if (r.Target != "/bad")
            {
                await c.SendAsync(r.Ok());
                return;
            }
            await c.SendAsync(badAnswer);
        }));
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(badRequest);
        var first = await client.ReadResponseAsync(headRequest: headRequest);
        await Assert.That(first?.Status).IsEqualTo(expectedBadStatus);

        await client.SendAsync(Get("/next"));
        var next = await client.ReadFinalResponseAsync();
        await Assert.That(next?.Status).IsEqualTo(200);
        await Assert.That(next!.Header("X-Answer-To")).IsEqualTo("/next");
        // The connection that said too much was closed, not reused.
        await Assert.That(up.Connections).IsEqualTo(2);
    }

    [Test]
    public Task Drops_a_server_connection_with_bytes_after_the_response_in_the_same_write() =>
        NextRequestGetsItsOwnAnswer(Get("/bad"), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + Poison);

    [Test]
    public Task Drops_a_server_connection_that_answers_head_with_a_body() =>
        NextRequestGetsItsOwnAnswer("HEAD /bad HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON", headRequest: true);

    [Test]
    public Task Drops_a_server_connection_that_sends_a_body_with_204() =>
        NextRequestGetsItsOwnAnswer(Get("/bad"), "HTTP/1.1 204 No Content\r\nContent-Length: 6\r\n\r\n" + Poison, expectedBadStatus: 204);

    [Test]
    public Task Drops_a_server_connection_that_sends_a_body_with_304() =>
        NextRequestGetsItsOwnAnswer(Get("/bad"), "HTTP/1.1 304 Not Modified\r\nContent-Length: 6\r\n\r\nPOISON", expectedBadStatus: 304);

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task Drops_a_server_connection_that_speaks_while_idle(bool tls)
    {
        var closedByRelay = new TaskCompletionSource();
        var ca = tls ? new FipsAppliance.Tests.Infrastructure.TestCa() : null;
        await using var up = new ScriptedUpstream(async c =>
        {
            var r = await c.ReadRequestAsync();
            await c.SendAsync(r!.Ok());
            await Task.Delay(50);
            await c.SendAsync(Poison);
            // The relay must close the connection that spoke unasked; anything else it sends is wrong.
            if (await c.ReadRequestAsync() is null) closedByRelay.TrySetResult();
            else await c.SendAsync(Poison);
        }, ca);
        await using var h = new SessionHarness(up, ca: ca);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/first"));
        await Assert.That((await client.ReadFinalResponseAsync())?.Header("X-Answer-To")).IsEqualTo("/first");

        await Task.WhenAny(closedByRelay.Task, Task.Delay(3000));
        await client.SendAsync(Get("/next"));
        var next = await client.ReadFinalResponseAsync();
        await Assert.That(next?.Status).IsEqualTo(200);
        await Assert.That(next!.Header("X-Answer-To")).IsEqualTo("/next");
        await Assert.That(closedByRelay.Task.IsCompleted).IsTrue();
    }

    [Test]
    public async Task Drops_interim_responses_and_relays_the_final_one()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(async (c, r) =>
            await c.SendAsync(string.Concat(Enumerable.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 200)) + r.Ok())));
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        for (int i = 0; i < 2; i++)
        {
            await client.SendAsync(Get("/storm" + i));
            var r = await client.ReadResponseAsync();
            await Assert.That(r?.Status).IsEqualTo(200);
            await Assert.That(r!.Header("X-Answer-To")).IsEqualTo("/storm" + i);
        }
    }

    [Test]
    public async Task Logs_a_response_cut_mid_body_and_resets_the_client()
    {
        await using var up = new ScriptedUpstream(async c =>
        {
            await c.ReadRequestAsync();
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + new string('x', 10));
            await c.CloseAsync();
        });
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/cut"));
        var r = await client.ReadResponseAsync();
        await Assert.That(r?.Complete).IsFalse();

        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains(" 200 ");
        await Assert.That(lines[0]).Contains(" SD-- ");
        await Assert.That(lines[0]).Contains("fe be/s1 ");
        await Assert.That(h.Backend.Counters.ResponseErrors).IsEqualTo(1L);
    }

    [Test]
    public async Task Logs_the_chosen_server_when_it_fails_before_answering()
    {
        await using var up = new ScriptedUpstream(async c =>
        {
            await c.ReadRequestAsync();
            c.Reset();
        });
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/reset"));
        await Assert.That((await client.ReadFinalResponseAsync())?.Status).IsEqualTo(502);

        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains("fe be/s1 ");
        await Assert.That(lines[0]).Contains(" 502 ");
        await Assert.That(lines[0]).Contains(" SH-- ");
    }

    [Test]
    public async Task Logs_the_server_tried_when_the_connect_fails()
    {
        var closed = new ScriptedUpstream(_ => Task.CompletedTask);
        int port = closed.Port;
        await closed.DisposeAsync();
        await using var up = new ScriptedUpstream(_ => Task.CompletedTask);
        await using var h = new SessionHarness(up, serverPort: port);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/refused"));
        await Assert.That((await client.ReadFinalResponseAsync())?.Status).IsEqualTo(503);

        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains("fe be/s1 ");
        await Assert.That(lines[0]).Contains(" SC-- ");
    }
}
