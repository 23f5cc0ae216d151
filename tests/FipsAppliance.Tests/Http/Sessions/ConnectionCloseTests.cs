using FipsAppliance.Http;
using FipsAppliance.Tests.BlackBox;
using static FipsAppliance.Tests.Http.Sessions.SessionBasicsTests;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>When the client connection ends, the client is told so, and nothing is forwarded that must not be.</summary>
public class ConnectionCloseTests
{
    [Test]
    public async Task Answers_connection_close_to_a_client_that_asked_for_it()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(async (c, r) =>
            await c.SendAsync(r.Ok("Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n"))));
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/bye", "Connection: close\r\n"));
        var r = await client.ReadFinalResponseAsync();
        await Assert.That(r?.Status).IsEqualTo(200);
        await Assert.That(r!.Header("Connection")).IsEqualTo("close");
        await Assert.That(r.Header("Keep-Alive")).IsNull();
        await Assert.That(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5))).IsTrue();
    }

    [Test]
    public async Task Refuses_http10_with_transfer_encoding_and_forwards_nothing()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        await client.SendAsync("POST /te HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
        var r = await client.ReadFinalResponseAsync();
        await Assert.That(r?.Status).IsEqualTo(400);
        await Assert.That(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5))).IsTrue();
        await Assert.That(up.Connections).IsEqualTo(0);
        await Assert.That((await h.AccessLinesAsync(1))[0]).Contains(" PR-- ");
    }

    [Test]
    public async Task Drain_closes_an_idle_session_after_a_short_grace()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/one"));
        await Assert.That((await client.ReadFinalResponseAsync())?.Status).IsEqualTo(200);
        await h.UntilWaiting(Wait.Idle);
        h.Timer.Drain();
        // Idle for less than the grace: a request may be on its way, so the connection stays...
        await Assert.That(await client.WaitForCloseAsync(TimeSpan.FromMilliseconds(200))).IsFalse();
        // ...and goes on the timer's next ask once the grace is over.
        h.Clock.Advance(TimeSpan.FromMilliseconds(1100));
        await Assert.That(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5))).IsTrue();
        await h.UntilSessionsEndAsync();
        await Assert.That(h.Timer.Count).IsEqualTo(0);
    }

    [Test]
    public async Task Drain_lets_a_request_in_progress_finish_with_connection_close()
    {
        var release = new TaskCompletionSource();
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(async (c, r) =>
        {
            await release.Task;
            await c.SendAsync(r.Ok());
        }));
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/slow"));
        await h.UntilWaiting(Wait.ServerRead);
        h.Timer.Drain();
        release.SetResult();
        var r = await client.ReadFinalResponseAsync();
        await Assert.That(r?.Status).IsEqualTo(200);
        await Assert.That(r!.Header("X-Answer-To")).IsEqualTo("/slow");
        await Assert.That(r.Header("Connection")).IsEqualTo("close");
        await Assert.That(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5))).IsTrue();
    }

    [Test]
    public async Task Keeps_pipelined_requests_in_order()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var h = new SessionHarness(up);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/p1") + "POST /p2 HTTP/1.1\r\nHost: x\r\nX-Test-Id: /p2\r\nContent-Length: 3\r\n\r\nabc" + Get("/p3"));
        foreach (var id in new[] { "/p1", "/p2", "/p3" })
            await Assert.That((await client.ReadFinalResponseAsync())?.Header("X-Answer-To")).IsEqualTo(id);
    }
}
