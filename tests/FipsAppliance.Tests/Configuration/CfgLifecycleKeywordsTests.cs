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
    [Arguments("hard-stop-after", "'hard-stop-after' expects <time> as argument.")]
    [Arguments("hard-stop-after soon", "hard-stop-after")]
    [Arguments("log 127.0.0.1 len 60 local0", "log : invalid log length '60', must be between 80 and 65535")]
    public async Task Refuses(string line, string expected)
    {
        using var f = new CfgFixture();
        await Assert.That(f.Load("global\n    " + line + "\n" + CfgFixture.Head)).IsNull();
        await Assert.That(f.Diagnostics).Contains(expected);
    }
}
