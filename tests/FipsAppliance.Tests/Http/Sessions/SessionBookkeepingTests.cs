using FipsAppliance.Tests.BlackBox;
using static FipsAppliance.Tests.Http.Sessions.SessionBasicsTests;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>What the stats page and the access lines count: once per request, in one place.</summary>
public class SessionBookkeepingTests
{
    [Test]
    public async Task Counts_backend_and_server_sessions_per_request_in_http_mode()
    {
        var release = new TaskCompletionSource();
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(async (c, r) =>
        {
            if (r.Target == "/held") await release.Task;
            await c.SendAsync(r.Ok());
        }));
        await using var h = new SessionHarness(up);
        await using var a = await h.ConnectAsync();
        await using var b = await h.ConnectAsync();
        await a.SendAsync(Get("/held"));
        await SessionHarness.Until(() => h.Backend.Counters.CurrentSessions == 1, "the held request counted in scur");
        await b.SendAsync(Get("/quick"));
        await Assert.That((await b.ReadFinalResponseAsync())?.Status).IsEqualTo(200);
        // The quick one is logged after its answer went out: wait for its line before the held one ends.
        await h.AccessLinesAsync(1);
        release.SetResult();
        await Assert.That((await a.ReadFinalResponseAsync())?.Status).IsEqualTo(200);

        var lines = await h.AccessLinesAsync(2);
        // %ac/%fc/%bc/%sc/%rc: the quick one was logged while the held one was still on the backend
        // (HAProxy logs after the request has left the backend, so a lone request shows 0).
        await Assert.That(lines[0]).Contains("\"GET /quick HTTP/1.1\"");
        await Assert.That(lines[0]).Contains(" 2/2/1/1/0 ");
        await Assert.That(lines[1]).Contains(" 2/2/0/0/0 ");
        await Assert.That(h.Backend.Counters.TotalSessions).IsEqualTo(2L);
        await Assert.That(h.Backend.Counters.CurrentSessions).IsEqualTo(0L);
        await Assert.That(h.Backend.Counters.MaxSessions).IsEqualTo(2L);
        await Assert.That(h.Server.Counters.TotalSessions).IsEqualTo(2L);
        await Assert.That(h.Backend.Counters.Requests).IsEqualTo(2L);
    }

    [Test]
    public async Task Closes_idle_pooled_connections_while_no_session_runs()
    {
        var closedByRelay = new TaskCompletionSource();
        await using var up = new ScriptedUpstream(async c =>
        {
            while (await c.ReadRequestAsync() is { } r) await c.SendAsync(r.Ok());
            closedByRelay.TrySetResult();
        });
        await using var h = new SessionHarness(up);
        await using (var c = await h.ConnectAsync())
        {
            await c.SendAsync(Get("/one"));
            await Assert.That((await c.ReadFinalResponseAsync())?.Status).IsEqualTo(200);
        }
        await h.UntilSessionsEndAsync();
        await Assert.That(h.Server.Pool.IdleCount).IsEqualTo(1);

        // No session left: the model's timer keeps purging (pool-purge-delay 5s, half each time).
        for (int i = 0; i < 20 && !closedByRelay.Task.IsCompleted; i++)
        {
            h.Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(closedByRelay.Task, Task.Delay(10));
        }
        await Task.WhenAny(closedByRelay.Task, Task.Delay(2000));
        await Assert.That(closedByRelay.Task.IsCompleted).IsTrue();
        await Assert.That(h.Server.Pool.IdleCount).IsEqualTo(0);
        // And then the timer goes quiet (buffers trimmed too).
        h.Clock.Advance(TimeSpan.FromSeconds(30));
        await Assert.That(h.Timer.IsTicking).IsFalse();
        await Assert.That(h.Timer.Buffers.Free).IsEqualTo(0);
    }

    [Test]
    public async Task A_keep_alive_connection_waiting_for_its_next_request_holds_no_buffer()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var h = new SessionHarness(up);
        await using var c = await h.ConnectAsync();
        await c.SendAsync(Get("/warm"));
        await c.ReadFinalResponseAsync();
        long allocated = h.Timer.Buffers.Allocated;
        for (int i = 0; i < 20; i++)
        {
            await c.SendAsync("POST /p HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc");
            await Assert.That((await c.ReadFinalResponseAsync())?.Status).IsEqualTo(200);
        }
        await h.UntilWaiting(FipsAppliance.Http.Wait.Idle);
        await Assert.That(h.Timer.Buffers.Outstanding).IsEqualTo(0L);
        // Busy requests take their buffers from the pool: none allocated after the first request.
        await Assert.That(h.Timer.Buffers.Allocated).IsEqualTo(allocated);
    }
}
