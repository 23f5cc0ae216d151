namespace FipsAppliance.Tests.Configuration;

/// <summary>The global keywords of the daemon's life (issue 6), bound and refused as HAProxy 2.6 does.</summary>
public class CfgLifecycleKeywordsTests
{
    [Test]
    public async Task Binds_hard_stop_after_log_tag_and_log_len()
    {
        using var f = new CfgFixture();
        var c = f.Valid("global\n    hard-stop-after 30s\n    log-tag haproxy\n    log 127.0.0.1:514 len 4096 local0\n" + CfgFixture.Head);
        await Assert.That(c.Global.HardStopAfter).IsEqualTo(30_000);
        await Assert.That(c.Global.LogTag).IsEqualTo("haproxy");
        await Assert.That(c.Global.Logs[0].Len).IsEqualTo(4096);
        await Assert.That(f.Diagnostics).DoesNotContain("ignored");
    }

    [Test]
    public async Task Leaves_hard_stop_after_unset_when_absent()
    {
        using var f = new CfgFixture();
        var c = f.Valid(CfgFixture.Head);
        await Assert.That(c.Global.HardStopAfter).IsNull();
    }

    [Test]
    public async Task Binds_the_idle_pools_fd_ratios_with_haproxys_defaults()
    {
        using var f = new CfgFixture();
        var absent = f.Valid(CfgFixture.Head);
        await Assert.That(absent.Global.PoolLowFdRatio).IsEqualTo(20);
        await Assert.That(absent.Global.PoolHighFdRatio).IsEqualTo(25);
        var set = f.Valid("global\n    tune.pool-low-fd-ratio 0\n    tune.pool-high-fd-ratio 100\n" + CfgFixture.Head);
        await Assert.That(set.Global.PoolLowFdRatio).IsEqualTo(0);
        await Assert.That(set.Global.PoolHighFdRatio).IsEqualTo(100);
        await Assert.That(f.Diagnostics).DoesNotContain("ignored");
    }

    [Test]
    public async Task Log_send_hostname_names_this_host_or_the_name_given_and_keeps_the_first()
    {
        using var f = new CfgFixture();
        await Assert.That(f.Valid(CfgFixture.Head).Global.LogSendHostname).IsNull();
        // Alone: gethostname(), as HAProxy takes it (not resolved, the whole name).
        await Assert.That(f.Valid("global\n    log-send-hostname\n" + CfgFixture.Head).Global.LogSendHostname)
            .IsEqualTo(System.Net.Dns.GetHostName());
        // A second line: HAProxy 2.6 keeps the first and says so without failing the file.
        var twice = f.Valid("global\n    log-send-hostname relay-a\n    log-send-hostname relay-b\n" + CfgFixture.Head);
        await Assert.That(twice.Global.LogSendHostname).IsEqualTo("relay-a");
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(3)} : 'log-send-hostname' already specified. Continuing.");
        await Assert.That(f.Diagnostics).DoesNotContain("ignored by datadog-fips-proxy");
    }

    [Test]
    [Arguments("hard-stop-after", "'hard-stop-after' expects <time> as argument.")]
    [Arguments("hard-stop-after soon", "hard-stop-after")]
    [Arguments("log 127.0.0.1 len 60 local0", "log : invalid log length '60', must be between 80 and 65535")]
    // HAProxy 2.6's words (checked with `haproxy -c`); a word that is not a number, which HAProxy
    // reads as 0, is refused the same way.
    [Arguments("tune.pool-low-fd-ratio 101", "parsing [cfg:2] : 'tune.pool-low-fd-ratio' expects an integer argument between 0 and 100.")]
    [Arguments("tune.pool-high-fd-ratio -1", "parsing [cfg:2] : 'tune.pool-high-fd-ratio' expects an integer argument between 0 and 100.")]
    [Arguments("tune.pool-high-fd-ratio", "parsing [cfg:2] : 'tune.pool-high-fd-ratio' expects an integer argument between 0 and 100.")]
    [Arguments("tune.pool-low-fd-ratio many", "parsing [cfg:2] : 'tune.pool-low-fd-ratio' expects an integer argument between 0 and 100.")]
    [Arguments("tune.pool-low-fd-ratio 20 x", "parsing [cfg:2] : 'tune.pool-low-fd-ratio' cannot handle unexpected argument 'x'.")]
    public async Task Refuses(string line, string expected)
    {
        using var f = new CfgFixture();
        await Assert.That(f.Load("global\n    " + line + "\n" + CfgFixture.Head)).IsNull();
        await Assert.That(f.Diagnostics.Replace(f.At(2), "[cfg:2]")).Contains(expected);
    }
}
