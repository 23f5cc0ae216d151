namespace FipsAppliance.Tests.Configuration;

/// <summary>The health-check keywords of server lines and `spread-checks`.</summary>
public class CheckKeywordTests
{
    [Test]
    public async Task Binds_check_keywords()
    {
        using var f = new CfgFixture();
        var c = f.Valid(CfgFixture.Head + """
            global
                spread-checks 5
            backend be
                timeout check 3s
                server s1 10.0.0.1:443 ssl verify none check inter 2s fastinter 500ms downinter 10s fall 4 rise 1 addr 127.0.0.9:8443 port 9443 check-ssl check-sni health.example
                server s2 10.0.0.2:443 ssl verify none check no-check-ssl
            """);
        var s = c.Proxies[0].Servers[0];
        await Assert.That(c.Global.SpreadChecks).IsEqualTo(5);
        await Assert.That(c.Proxies[0].Timeouts.Check).IsEqualTo(3000);
        await Assert.That(s.Inter).IsEqualTo(2000);
        await Assert.That(s.FastInter).IsEqualTo(500);
        await Assert.That(s.DownInter).IsEqualTo(10000);
        await Assert.That(s.Fall).IsEqualTo(4);
        await Assert.That(s.Rise).IsEqualTo(1);
        await Assert.That(s.CheckAddr).IsEqualTo("127.0.0.9");
        await Assert.That(s.CheckAddrPort).IsEqualTo(8443);
        await Assert.That(s.CheckPort).IsEqualTo(9443);
        await Assert.That(s.CheckSsl).IsTrue();
        await Assert.That(s.CheckSni).IsEqualTo("health.example");
        var s2 = c.Proxies[0].Servers[1];
        await Assert.That(s2.CheckSsl).IsFalse();
        await Assert.That(s2.NoCheckSsl).IsTrue();
    }

    [Test]
    [Arguments("server s1 10.0.0.1:443 check fastinter 0", "'server be/s1' : 'fastinter' expects a delay as argument.")]
    [Arguments("server s1 10.0.0.1:443 check addr intake.example", "'server be/s1' : 'addr' : 'intake.example' is not an IPv4 or IPv6 address")]
    [Arguments("server s1 10.0.0.1:443 check fastintr 1s", "'server be/s1' : unknown keyword 'fastintr'; did you mean 'fastinter' maybe ?")]
    public async Task Bad_check_keywords_cite_file_and_line(string serverLine, string message)
    {
        using var f = new CfgFixture();
        var loaded = f.Load(CfgFixture.Head + "backend be\n    " + serverLine + "\n");
        await Assert.That(loaded).IsNull();
        await Assert.That(f.Diagnostics).Contains($"config : {f.At(7)} : {message}");
    }

    [Test]
    public async Task Spread_checks_is_a_percentage_up_to_50()
    {
        using var f = new CfgFixture();
        await Assert.That(f.Load("global\n    spread-checks 51\n")).IsNull();
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(2)} : 'spread-checks' needs a positive numeric value between 0 and 50.");
    }
}
