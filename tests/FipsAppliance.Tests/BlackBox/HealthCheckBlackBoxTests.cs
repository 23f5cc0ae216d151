using System.Diagnostics;
using System.Text.RegularExpressions;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// Health checks of the shipped cfg (every 200 ms here, fall 3, rise 2) against intakes that stop,
/// come back, or present a certificate for another host. The DOWN/UP lines are asserted whole, and
/// for ours and haproxy 2.6 alike: the words are HAProxy's, not an imitation of them.
/// </summary>
public class HealthCheckBlackBoxTests
{
    private const int InterMs = 200;
    /// <summary>TLS checks get 1 s: a handshake on this shared 2-core machine can take more than 200 ms.</summary>
    private static string TlsChecks(string cfg) => Regex.Replace(cfg, @"check port \d+ ssl", "check ssl").Replace("check inter 200ms", "check inter 1s");
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);   // generous: the machine is shared

    private const string Pid = @"\(\d+\)";
    private static readonly string DownLine =
        $@"\[WARNING\]  {Pid} : Server datadog-metrics/mothership1 is DOWN, reason: Layer4 connection problem, info: ""Connection refused"", check duration: \d+ms\. 0 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.";
    private static readonly string NoServerLine = $@"\[ALERT\]    {Pid} : backend 'datadog-metrics' has no server available!";
    private static readonly string UpLine =
        $@"\[WARNING\]  {Pid} : Server datadog-metrics/mothership1 is UP, reason: Layer4 check passed, check duration: \d+ms\. 1 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue\.";

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Stopped_intake_goes_down_after_fall_checks_answers_503_at_once_and_comes_back_after_rise(Relay which)
    {
        await using var set = await IntakeSet.StartAsync(which);
        await set.WaitForStatusAsync("datadog-metrics", "mothership1", "UP", Bound);   // fully up, not "UP 1/3"
        // The shipped `check port 443 ssl` is a TCP check in 2.6 (init_srv_check): L4OK, not L6OK.
        await Assert.That((await set.CsvRowAsync("datadog-metrics", "mothership1"))["check_status"]).IsEqualTo("L4OK");

        var stopped = Stopwatch.StartNew();
        await set.StopIntakeAsync(0);
        await set.WaitForLineAsync(DownLine, Bound);
        var downAfter = stopped.Elapsed;
        await set.WaitForLineAsync(NoServerLine, Bound);
        // fall (3) failed checks, inter apart: not before the third one.
        await Assert.That(downAfter.TotalMilliseconds).IsGreaterThanOrEqualTo((3 - 1) * InterMs * 0.75);

        var (response, took) = await set.PostMetricsAsync(Payloads.NewTestId());
        await Assert.That(response?.Status).IsEqualTo(503);
        await Assert.That(took.TotalMilliseconds).IsLessThan(2000);   // at once, not after retries x timeout connect

        var row = await set.CsvRowAsync("datadog-metrics", "mothership1");
        await Assert.That(row["status"]).IsEqualTo("DOWN");
        await Assert.That(row["check_status"]).IsEqualTo("L4CON");
        await Assert.That(row["check_desc"]).IsEqualTo("Layer4 connection problem");
        await Assert.That(row["last_chk"]).IsEqualTo("Connection refused");
        await Assert.That(int.Parse(row["chkdown"])).IsGreaterThanOrEqualTo(1);
        await Assert.That(int.Parse(row["chkfail"])).IsGreaterThanOrEqualTo(3);
        await Assert.That((await set.CsvRowAsync("datadog-metrics", "BACKEND"))["status"]).IsEqualTo("DOWN");
        if (which == Relay.Ours)
        {
            var metrics = await set.MetricsAsync();
            await Assert.That(metrics).Contains("haproxy_server_status{proxy=\"datadog-metrics\",server=\"mothership1\",state=\"DOWN\"} 1\n");
            await Assert.That(metrics).Contains("haproxy_server_check_status{proxy=\"datadog-metrics\",server=\"mothership1\",state=\"L4CON\"} 1\n");
            await Assert.That(metrics).Contains("haproxy_backend_status{proxy=\"datadog-metrics\",state=\"DOWN\"} 1\n");
            // Said once, when the last server went: the 503 above logged nothing more.
            await Assert.That(set.Lines(NoServerLine).Count).IsEqualTo(1);
        }

        var restarted = Stopwatch.StartNew();
        set.RestartIntake(0);
        await set.WaitForLineAsync(UpLine, Bound);
        // rise (2) passed checks, inter apart.
        await Assert.That(restarted.Elapsed.TotalMilliseconds).IsGreaterThanOrEqualTo((2 - 1) * InterMs * 0.75);
        var (again, _) = await set.PostMetricsAsync(Payloads.NewTestId());
        await Assert.That(again?.Status).IsEqualTo(202);
    }

    [Test]
    public async Task Tls_check_against_a_certificate_for_another_host_fails_at_layer6_and_never_goes_up()
    {
        // Without `port`, the check inherits `ssl` (HAProxy 2.6's rule) and so speaks TLS, under the same
        // policy, CA and `verifyhost` as traffic.
        await using var set = await IntakeSet.StartAsync(Relay.Ours, certificate: IntakeCertificate.NameMismatch,
            tweak: TlsChecks, waitRelaying: false);
        await set.WaitForLineAsync(
            $@"\[WARNING\]  {Pid} : Server datadog-metrics/mothership1 is DOWN, reason: Layer6 invalid response, info: ""Server presented an SSL certificate different from the configured one \(certificate name mismatch: expected metrics\.agent\.ddog-gov\.com, certificate has intake\.example\.net\)"", check duration: \d+ms\. 0 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.",
            Bound);
        await Task.Delay(3000);   // three more checks
        await Assert.That(set.Lines(@".*Server datadog-metrics/mothership1 is UP.*").Count).IsEqualTo(0);
        var row = await set.CsvRowAsync("datadog-metrics", "mothership1");
        await Assert.That(row["status"]).IsEqualTo("DOWN");
        await Assert.That(row["check_status"]).IsEqualTo("L6RSP");
        var (response, _) = await set.PostMetricsAsync(Payloads.NewTestId());
        await Assert.That(response?.Status).IsEqualTo(503);
        await Assert.That(set.Intake(0).Requests.Count).IsEqualTo(0);
    }

    [Test]
    public async Task Two_intakes_one_dies_during_wrk_no_2xx_without_an_intake_and_failures_move_to_the_live_one()
    {
        await using var set = await IntakeSet.StartAsync(Relay.Ours, intakes: 2,
            records: IntakeSet.Records(r => r["metrics.agent.ddog-gov.com"] = ["127.0.0.2", "127.0.0.3"]),
            tweak: TlsChecks);
        await set.WaitForStatusAsync("datadog-metrics", "mothership1", "UP", Bound);
        await set.WaitForStatusAsync("datadog-metrics", "mothership2", "UP", Bound);
        await Assert.That((await set.CsvRowAsync("datadog-metrics", "mothership2"))["check_status"]).IsEqualTo("L6OK");

        using var dir = new TempDir();
        var id = Payloads.NewTestId();
        var script = dir.File("post.lua", $$"""
            wrk.method = "POST"
            wrk.body = "{\"series\":[]}"
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["{{TestIntake.TestIdHeader}}"] = "{{id}}"
            """);
        const int connections = 16;
        var wrk = ProcessRunner.RunAsync("/usr/bin/nice",
            ["-n", "10", "/usr/bin/wrk", "-t2", $"-c{connections}", "-d6s", "--timeout", "5s", "-s", script, $"http://127.0.0.1:{set.Relay.MetricsPort}/api/v2/series"],
            null, TimeSpan.FromSeconds(60));
        await Task.Delay(2000);
        var dying = set.Intake(1);
        int liveBefore = set.Intake(0).For(id).Count;
        await set.StopIntakeAsync(1);
        var result = await wrk;
        var live = set.Intake(0).For(id);

        var total = Regex.Match(result.StdOut, @"(\d+) requests in");
        await Assert.That(total.Success).IsTrue().Because(result.All);
        long requests = long.Parse(total.Groups[1].Value);
        var non2xx = Regex.Match(result.StdOut, @"Non-2xx or 3xx responses: (\d+)");
        long failed = non2xx.Success ? long.Parse(non2xx.Groups[1].Value) : 0;
        long ok = requests - failed;
        // Counted at the intakes (both, the dead one's record kept): a 202 needs a whole request there.
        long reached = live.Count(r => r.Complete) + dying.For(id).Count(r => r.Complete);
        await Assert.That(ok).IsGreaterThan(0);
        await Assert.That(ok).IsLessThanOrEqualTo(reached).Because(result.StdOut);
        // After the kill, requests went on to the live intake...
        await Assert.That(live.Count - liveBefore).IsGreaterThan(100).Because(result.StdOut);
        // ...and only the requests in flight on the dying intake's connections may have failed.
        var errors = Regex.Match(result.StdOut, @"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)");
        long socketErrors = errors.Success ? errors.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value)) : 0;
        await Assert.That(failed + socketErrors).IsLessThanOrEqualTo(4 * connections).Because(result.StdOut + "\n" + set.Relay.Output);
        await set.WaitForLineAsync(@"\[WARNING\]  \(\d+\) : Server datadog-metrics/mothership\d is DOWN, reason: Layer4 connection problem, info: ""Connection refused"", check duration: \d+ms\. 1 active and 0 backup servers left\..*", Bound);
    }
}
