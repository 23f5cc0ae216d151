using System.Text;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// The shipped cfg with `timeout client 1s`, and an intake whose handshakes for the orchestrator
/// host take 1.5 s (longer than `timeout client`): the environment of the misbehaving-intake test.
/// </summary>
public sealed class MisbehavingIntakeEnvironment() : RelayEnvironment(new EnvironmentOptions
{
    Tweak = cfg => System.Text.RegularExpressions.Regex.Replace(cfg, @"timeout\s+client\s+\S+", "timeout client 1s"),
})
{
    public const string SlowHost = "orchestrator.ddog-gov.com";
    public static readonly TimeSpan SlowHandshake = TimeSpan.FromMilliseconds(1500);
}

/// <summary>
/// The differential test under faults (issue 7): an intake that says more than it was asked, or
/// breaks mid-answer, or is slow to handshake. On one client connection, request A meets the
/// misbehaviour, then request B is an ordinary one. Ours must never answer a request with another
/// request's response (every intake answer names its request in X-Answer-To), and B must succeed.
/// haproxy 2.6's behaviour is recorded beside ours in the test output, not asserted.
/// </summary>
[ClassDataSource<MisbehavingIntakeEnvironment>(Shared = SharedType.PerClass)]
public class MisbehavingIntakeTests(MisbehavingIntakeEnvironment env)
{
    private sealed record Scenario(string Name, int Offset, string Method, IntakeBehaviour Behaviour);

    private static readonly Scenario[] Scenarios =
    [
        new("bytes after the response, same write", 1, "POST", IntakeBehaviour.ExtraResponse),
        new("a second response 50 ms later", 1, "POST", IntakeBehaviour.ExtraResponseLater),
        new("HEAD answered with a body", 1, "HEAD", IntakeBehaviour.HeadWithBody),
        new("204 with a body", 1, "POST", IntakeBehaviour.NoContentWithBody),
        new("304 with a body", 1, "GET", IntakeBehaviour.NotModifiedWithBody),
        new("50 interim 102 responses", 1, "POST", IntakeBehaviour.InterimStorm),
        new("close in the middle of the body", 1, "POST", IntakeBehaviour.CloseMidBody),
        new("reset in the middle of the head", 1, "POST", IntakeBehaviour.ResetMidHead),
        new("handshake slower than timeout client", 12, "POST", IntakeBehaviour.Accept),
    ];

    private sealed record Result(string First, string Second, List<string> Wrong);

    private static string Describe(RawResponse? r) =>
        r is null ? "none" : $"{r.Status}{(r.Complete ? "" : " cut")}{(r.Header(TestIntake.AnswerToHeader) is { } t ? " for " + t : "")}";

    private static string Request(string method, string id, IntakeBehaviour behaviour, string host) =>
        $"{method} /api/v2/series HTTP/1.1\r\nHost: {host}\r\n{TestIntake.TestIdHeader}: {id}\r\n{TestIntake.BehaviourHeader}: {behaviour}\r\n" +
        (method is "POST" ? "Content-Length: 2\r\n\r\n{}" : "\r\n");

    private async Task<Result> RunAsync(RelayUnderTest relay, Scenario s)
    {
        var wrong = new List<string>();
        var host = ShippedCfg.Products.First(p => p.Offset == s.Offset).Host;
        string a = Payloads.NewTestId(), b = Payloads.NewTestId();
        void Check(RawResponse? r, string id, string which)
        {
            if (r is null) return;
            var tag = r.Header(TestIntake.AnswerToHeader);
            if (r.Status == 299 || (tag is not null && tag != id)) wrong.Add($"{which} answered with {Describe(r)}");
        }

        var c = await RawHttp.ConnectAsync(relay.Port(new ProductPort(s.Offset, "", host, "", false)));
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await c.SendAsync(Request(s.Method, a, s.Behaviour, host));
            RawResponse? first;
            try { first = await c.ReadResponseAsync(TimeSpan.FromSeconds(8), headRequest: s.Method == "HEAD"); }
            catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException) { first = null; }
            while (first is { Status: >= 100 and < 200 }) first = await c.ReadResponseAsync(TimeSpan.FromSeconds(8));
            long firstMs = clock.ElapsedMilliseconds;
            Check(first, a, "A");
            // B goes out once the intake has written all it will for A (late bytes included) and
            // they have had time to arrive: bytes that come after B was sent cannot be told from
            // B's answer by any proxy.
            await Task.WhenAny(env.Intake.AnsweredAsync(a), Task.Delay(5000));
            await Task.Delay(300);
            RawResponse? second = null;
            for (int attempt = 0; attempt < 2 && second is null; attempt++)
            {
                try
                {
                    if (attempt == 1)
                    {
                        // The relay closed the client connection after A: allowed only if A's answer
                        // said so or was an error or cut; then B goes on a new connection.
                        if (first is { Complete: true, Status: < 500 } && !string.Equals(first.Header("Connection"), "close", StringComparison.OrdinalIgnoreCase))
                            wrong.Add("the client connection closed after a complete keep-alive answer to A");
                        await c.DisposeAsync();
                        c = await RawHttp.ConnectAsync(relay.Port(new ProductPort(s.Offset, "", host, "", false)));
                    }
                    await c.SendAsync(Request("POST", b, IntakeBehaviour.Accept, host));
                    second = await c.ReadFinalResponseAsync(TimeSpan.FromSeconds(8));
                }
                catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException or System.Net.Sockets.SocketException) { }
            }
            Check(second, b, "B");
            if (second is not { Status: 202 } || second.Header(TestIntake.AnswerToHeader) != b) wrong.Add($"B got {Describe(second)}");
            return new Result($"{Describe(first)} ({firstMs} ms)", Describe(second), wrong);
        }
        finally
        {
            await c.DisposeAsync();
        }
    }

    [Test]
    public async Task Never_answers_a_request_with_another_requests_response()
    {
        var oursStarting = env.RelayAsync(Relay.Ours);
        var theirs = await env.RelayAsync(Relay.HaProxy);
        var ours = await oursStarting;
        // Only now: the relays' readiness probes go to every host, the slow one included.
        env.Intake.SlowHandshakes[MisbehavingIntakeEnvironment.SlowHost] = MisbehavingIntakeEnvironment.SlowHandshake;
        // Scenarios in parallel (each on its own client connection), both relays at once: the
        // slow handshake sets the pace, not the sum of the scenarios.
        var oursRuns = Task.WhenAll(Scenarios.Select(s => RunAsync(ours, s)));
        var theirsRuns = Task.WhenAll(Scenarios.Select(s => RunAsync(theirs, s)));
        var o = await oursRuns;
        var h = await theirsRuns;

        var table = new StringBuilder("misbehaviour | ours: A / B | haproxy 2.6: A / B\n");
        var failures = new List<string>();
        for (int i = 0; i < Scenarios.Length; i++)
        {
            table.Append($"{Scenarios[i].Name} | {o[i].First} / {o[i].Second} | {h[i].First} / {h[i].Second}" +
                         (h[i].Wrong.Count > 0 ? $" (haproxy: {string.Join("; ", h[i].Wrong)})" : "") + "\n");
            failures.AddRange(o[i].Wrong.Select(w => $"{Scenarios[i].Name}: {w}"));
        }
        Console.WriteLine(table);
        await Assert.That(failures).IsEmpty().Because(table.ToString());
    }
}
