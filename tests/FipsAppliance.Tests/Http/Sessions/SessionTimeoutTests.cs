using FipsAppliance.Configuration;
using FipsAppliance.Http;
using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;
using static FipsAppliance.Tests.Http.Sessions.SessionBasicsTests;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>Timeouts per phase, as HAProxy 2.6 has them, on the model timer's manual clock.</summary>
public class SessionTimeoutTests
{
    [Test]
    public async Task A_slow_tls_handshake_does_not_run_the_client_timer()
    {
        var ca = new TestCa();
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(), ca) { HandshakeDelay = TimeSpan.FromMilliseconds(300) };
        await using var h = new SessionHarness(up, new ProxyTimeouts { Client = 1000, Server = 5000, Connect = 5000 }, ca);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/first"));
        await h.UntilWaiting(Wait.Connect);
        // Far past `timeout client` while the handshake runs (timeout connect is what bounds it).
        h.Clock.Advance(TimeSpan.FromSeconds(3));
        var first = await client.ReadFinalResponseAsync();
        await Assert.That(first?.Header("X-Answer-To")).IsEqualTo("/first");

        await client.SendAsync(Get("/second"));
        var second = await client.ReadFinalResponseAsync();
        await Assert.That(second?.Status).IsEqualTo(200);
        await Assert.That(second!.Header("X-Answer-To")).IsEqualTo("/second");
    }

    [Test]
    public async Task Timeout_connect_bounds_a_tls_handshake_that_never_ends()
    {
        var ca = new TestCa();
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(), ca) { HandshakeDelay = TimeSpan.FromSeconds(30) };
        await using var h = new SessionHarness(up, new ProxyTimeouts { Client = 5000, Server = 5000, Connect = 200 }, ca);
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/slow"));
        var r = await client.ReadFinalResponseAsync();
        await Assert.That(r?.Status).IsEqualTo(503);
        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains(" sC-- ");
        await Assert.That(lines[0]).Contains("fe be/s1 ");
    }

    [Test]
    public async Task Answers_408_when_the_head_does_not_complete_within_timeout_http_request()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var h = new SessionHarness(up, new ProxyTimeouts { Client = 60_000, Server = 5000, Connect = 5000, HttpRequest = 2000 });
        await using var client = await h.ConnectAsync();
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\n");
        await h.UntilWaiting(Wait.RequestHead);
        h.Clock.Advance(TimeSpan.FromMilliseconds(1500));
        await client.SendAsync("X-A: b\r\n");
        h.Clock.Advance(TimeSpan.FromMilliseconds(1000));
        var r = await client.ReadFinalResponseAsync();
        await Assert.That(r?.Status).IsEqualTo(408);
        await Assert.That(up.Connections).IsEqualTo(0);
        await Assert.That((await h.AccessLinesAsync(1))[0]).Contains(" cR-- ");
    }

    [Test]
    public async Task Answers_408_and_logs_when_a_request_body_stops_arriving()
    {
        var seenHead = new TaskCompletionSource();
        await using var up = new ScriptedUpstream(async c =>
        {
            seenHead.TrySetResult();
            await c.ReadRequestAsync();
        });
        await using var h = new SessionHarness(up, new ProxyTimeouts { Client = 1000, Server = 60_000, Connect = 5000 });
        await using var client = await h.ConnectAsync();
        await client.SendAsync("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
        await h.UntilWaiting(Wait.ClientRead);
        h.Clock.Advance(TimeSpan.FromMilliseconds(1100));
        var r = await client.ReadFinalResponseAsync();
        await Assert.That(r?.Status).IsEqualTo(408);
        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains(" cD-- ");
        await Assert.That(lines[0]).Contains(" 408 ");
    }

    [Test]
    public async Task Bounds_a_request_body_that_trickles_within_timeout_client()
    {
        long received = 0;
        await using var up = new ScriptedUpstream(async c =>
        {
            var buffer = new byte[4096];
            int n;
            while ((n = await c.ReadRawAsync(buffer)) > 0) Interlocked.Add(ref received, n);
        });
        // Each piece comes within `timeout client`; the whole body takes longer than `timeout http-request`.
        await using var h = new SessionHarness(up, new ProxyTimeouts { Client = 1000, Server = 60_000, Connect = 5000, HttpRequest = 2000 });
        await using var client = await h.ConnectAsync();
        const string head = "POST /trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
        await client.SendAsync(head);
        for (int sent = 0; sent < 10 && h.AccessLines.IsEmpty; sent++)
        {
            await SessionHarness.Until(() => Interlocked.Read(ref received) == head.Length + sent || !h.AccessLines.IsEmpty, "the body so far at the server");
            if (!h.AccessLines.IsEmpty) break;
            await h.UntilWaiting(Wait.ClientRead);
            h.Clock.Advance(TimeSpan.FromMilliseconds(600));
            if (h.AccessLines.IsEmpty) await client.SendAsync("x");
        }
        var r = await client.ReadFinalResponseAsync();
        await Assert.That(r?.Status).IsEqualTo(408);
        await Assert.That((await h.AccessLinesAsync(1))[0]).Contains(" cD-- ");
        // Four pieces of 600 ms: the fourth wait crosses the 2 s budget (with no single wait over 1 s).
        await Assert.That(Interlocked.Read(ref received)).IsEqualTo(head.Length + 3L);
    }

    [Test]
    public async Task Answers_504_when_the_server_stays_silent_past_timeout_server()
    {
        await using var up = new ScriptedUpstream(async c =>
        {
            await c.ReadRequestAsync();
            await c.ReadRequestAsync();
        });
        await using var h = new SessionHarness(up, new ProxyTimeouts { Client = 5000, Server = 2000, Connect = 5000 });
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/stall"));
        await h.UntilWaiting(Wait.ServerRead);
        h.Clock.Advance(TimeSpan.FromMilliseconds(2100));
        await Assert.That((await client.ReadFinalResponseAsync())?.Status).IsEqualTo(504);
        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains(" sH-- ");
        await Assert.That(lines[0]).Contains("fe be/s1 ");
    }

    [Test]
    public async Task A_request_cut_by_hard_stop_after_is_logged_killed_not_timed_out()
    {
        await using var up = new ScriptedUpstream(async c =>
        {
            await c.ReadRequestAsync();
            await c.ReadRequestAsync();
        });
        await using var h = new SessionHarness(up, new ProxyTimeouts { Client = 5000, Server = 60_000, Connect = 5000 });
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/stall"));
        await h.UntilWaiting(Wait.ServerRead);
        // What ProxyRuntime.Kill does after resetting the client socket.
        h.Session.OnKill();
        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains(" KH-- ");
        await Assert.That(h.Warnings).DoesNotContain(w => w.Contains("timeout", StringComparison.Ordinal));
    }

    [Test]
    public async Task Closes_a_keep_alive_connection_quietly_after_timeout_http_keep_alive()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var h = new SessionHarness(up, new ProxyTimeouts { Client = 60_000, Server = 5000, Connect = 5000, HttpKeepAlive = 1000 });
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/one"));
        await Assert.That((await client.ReadFinalResponseAsync())?.Status).IsEqualTo(200);
        await h.UntilWaiting(Wait.Idle);
        h.Clock.Advance(TimeSpan.FromMilliseconds(1100));
        await Assert.That(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5))).IsTrue();
        await h.UntilSessionsEndAsync();
        await Assert.That(h.AccessLines.Count).IsEqualTo(1);
    }
}
