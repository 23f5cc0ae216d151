using FipsAppliance.Backends;
using FipsAppliance.Backends.Health;
using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Backends;

/// <summary>
/// HAProxy's server states and their log lines. The expected lines are the ones Debian's haproxy
/// 2.6.12 printed for the same events (see the reference: a check to a closed port, then open).
/// </summary>
public class ServerStateTests
{
    private static readonly CheckResult Refused = new(CheckStatus.L4Connection, "Connection refused", 0);
    private static readonly CheckResult Passed = new(CheckStatus.L4Ok, "", 0);

    [Test]
    public async Task First_failed_check_after_start_takes_the_server_down_with_haproxys_line()
    {
        var log = new ListLogger();
        var b = TestModel.Backend(log, "datadog-metrics", TestModel.Line("mothership2"));
        TestModel.Start(b);
        var s = b.Servers[0];
        await Assert.That(StatsFacts.ServerStatusWord(s)).IsEqualTo("UP 1/3");   // health = rise at start: going down

        s.OnCheckResult(Refused);

        await Assert.That(log.Lines).IsEquivalentTo(new[]
        {
            "[WARNING] Server datadog-metrics/mothership2 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
            "[ALERT] backend 'datadog-metrics' has no server available!",
        });
        await Assert.That(s.IsUsable).IsFalse();
        await Assert.That(b.PickServer()).IsNull();
    }

    [Test]
    public async Task Marks_server_down_after_fall_failed_checks_once_fully_up()
    {
        var log = new ListLogger();
        var b = TestModel.Backend(log, "be", TestModel.Line("s1"), TestModel.Line("s2", "10.0.0.2"));
        TestModel.Start(b);
        var s = b.Servers[0];
        s.OnCheckResult(Passed);
        await Assert.That(StatsFacts.ServerStatusWord(s)).IsEqualTo("UP");
        await Assert.That(s.CheckHealth).IsEqualTo(4);

        s.OnCheckResult(Refused);
        await Assert.That(StatsFacts.ServerStatusWord(s)).IsEqualTo("UP 2/3");
        s.OnCheckResult(Refused);
        await Assert.That(StatsFacts.ServerStatusWord(s)).IsEqualTo("UP 1/3");
        await Assert.That(s.IsUsable).IsTrue();                  // going down still takes traffic
        await Assert.That(log.Lines.Count).IsEqualTo(0);

        s.OnCheckResult(new CheckResult(CheckStatus.L4Timeout, "", 2000));
        await Assert.That(log.Lines).IsEquivalentTo(new[]
        {
            // The seed's line ("Layer4 timeout, check duration: 2000ms"), with one server left.
            "[WARNING] Server be/s1 is DOWN, reason: Layer4 timeout, check duration: 2000ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
        });
        await Assert.That(s.FailedChecks).IsEqualTo(3);
        await Assert.That(s.DownTransitions).IsEqualTo(1);
        await Assert.That(StatsFacts.ServerStatusWord(s)).IsEqualTo("DOWN");
        // Traffic only to UP servers.
        for (int i = 0; i < 10; i++) await Assert.That(b.PickServer()).IsEqualTo(b.Servers[1]);
    }

    [Test]
    public async Task Comes_up_after_rise_passed_checks_with_haproxys_line()
    {
        var log = new ListLogger();
        var b = TestModel.Backend(log, "datadog-metrics", TestModel.Line("mothership1"));
        TestModel.Start(b);
        var s = b.Servers[0];
        s.OnCheckResult(Refused);
        s.OnCheckResult(Refused);
        await Assert.That(s.FailedChecks).IsEqualTo(1);          // no failure is counted while already at 0
        s.OnCheckResult(Passed);
        await Assert.That(StatsFacts.ServerStatusWord(s)).IsEqualTo("DOWN 1/2");
        await Assert.That(s.IsUsable).IsFalse();                 // going up takes no traffic yet

        s.OnCheckResult(new CheckResult(CheckStatus.L6Ok, "", 4));

        await Assert.That(log.Lines[^1]).IsEqualTo(
            "[WARNING] Server datadog-metrics/mothership1 is UP, reason: Layer6 check passed, check duration: 4ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
        await Assert.That(b.PickServer()).IsEqualTo(s);
        await Assert.That(s.CheckStatus).IsEqualTo("L6OK");
        await Assert.That(s.CheckDurationMs).IsEqualTo(4);
    }

    [Test]
    public async Task No_server_available_is_said_when_the_last_one_goes_not_at_start_and_not_per_request()
    {
        var log = new ListLogger();
        var b = TestModel.Backend(log, "be", TestModel.Line("s1", address: "intake.example"));
        TestModel.Start(b);   // no address: maintenance by resolution, silently
        await Assert.That(log.Lines.Count).IsEqualTo(0);
        await Assert.That(StatsFacts.ServerStatusWord(b.Servers[0])).IsEqualTo("MAINT (resolution)");
        for (int i = 0; i < 3; i++) await Assert.That(b.PickServer()).IsNull();
        await Assert.That(log.Lines.Count).IsEqualTo(0);
        await Assert.That(b.DownTransitions).IsEqualTo(1);       // HAProxy counts a start without servers
    }

    [Test]
    public async Task Tls_failure_info_is_quoted_and_escaped_like_haproxy()
    {
        var log = new ListLogger();
        var b = TestModel.Backend(log, "be", TestModel.Line("s1"));
        TestModel.Start(b);
        b.Servers[0].OnCheckResult(new CheckResult(CheckStatus.L6Response, "SSL \"handshake\" failure", 3));
        await Assert.That(log.Lines[0]).StartsWith(
            "[WARNING] Server be/s1 is DOWN, reason: Layer6 invalid response, info: \"SSL \\x22handshake\\x22 failure\", check duration: 3ms. ");
    }

    [Test]
    public async Task Server_without_check_is_no_check_and_takes_traffic()
    {
        var log = new ListLogger();
        var b = TestModel.Backend(log, "be", TestModel.Line("s1", check: false));
        TestModel.Start(b);
        await Assert.That(StatsFacts.ServerStatusWord(b.Servers[0])).IsEqualTo("no check");
        await Assert.That(b.PickServer()).IsEqualTo(b.Servers[0]);
    }

    [Test]
    public async Task Check_intervals_follow_the_state_like_srv_getinter()
    {
        var log = new ListLogger();
        var line = TestModel.Line("s1", inter: 1000);
        line.FastInter = 100;
        line.DownInter = 5000;
        var b = TestModel.Backend(log, "be", line);
        TestModel.Start(b);
        var s = b.Servers[0];
        await Assert.That(s.CurrentInterval()).IsEqualTo(100);   // start: health = rise, changing
        s.OnCheckResult(Passed);
        await Assert.That(s.CurrentInterval()).IsEqualTo(1000);  // fully up
        s.OnCheckResult(Refused);
        await Assert.That(s.CurrentInterval()).IsEqualTo(100);   // going down
        s.OnCheckResult(Refused);
        s.OnCheckResult(Refused);
        await Assert.That(s.CurrentInterval()).IsEqualTo(5000);  // fully down
    }
}
