using FipsAppliance.Configuration;

namespace FipsAppliance.Tests.Configuration;

/// <summary>
/// `http-reuse` and the server's idle-pool keywords (`pool-max-conn`, `pool-purge-delay`,
/// `pool-low-conn`): bound with HAProxy 2.6's defaults, inherited from defaults, and refused in
/// HAProxy's words (checked with `haproxy -c`).
/// </summary>
public class ReuseKeywordTests
{
    [Test]
    public async Task Binds_http_reuse_and_the_pool_keywords_with_haproxys_defaults()
    {
        using var f = new CfgFixture();
        var c = f.Valid(CfgFixture.Head + """
            backend plain
                server s1 10.0.0.1:443
            backend tuned
                http-reuse always
                default-server pool-purge-delay 10s
                server s1 10.0.0.1:443 pool-max-conn 0 pool-low-conn 2
                server s2 10.0.0.2:443 pool-max-conn -1 pool-purge-delay 0
            """);
        var plain = c.Proxies[0];
        await Assert.That(plain.HttpReuse).IsEqualTo(HttpReuse.Safe);
        await Assert.That(plain.Servers[0].PoolMaxConn).IsEqualTo(-1);
        await Assert.That(plain.Servers[0].PoolPurgeDelay).IsEqualTo(5000);
        await Assert.That(plain.Servers[0].PoolLowConn).IsEqualTo(0);

        var tuned = c.Proxies[1];
        await Assert.That(tuned.HttpReuse).IsEqualTo(HttpReuse.Always);
        await Assert.That(tuned.Servers[0].PoolMaxConn).IsEqualTo(0);
        await Assert.That(tuned.Servers[0].PoolPurgeDelay).IsEqualTo(10_000);
        await Assert.That(tuned.Servers[0].PoolLowConn).IsEqualTo(2);
        await Assert.That(tuned.Servers[1].PoolMaxConn).IsEqualTo(-1);
        await Assert.That(tuned.Servers[1].PoolPurgeDelay).IsEqualTo(0);
    }

    [Test]
    public async Task Http_reuse_is_inherited_from_defaults_and_ignored_on_a_frontend()
    {
        using var f = new CfgFixture();
        var c = f.Valid(CfgFixture.Head.Replace("    mode http\n", "    mode http\n    http-reuse never\n", StringComparison.Ordinal) + """
            frontend fe
                bind 127.0.0.1:9804
                http-reuse aggressive
                default_backend be
            backend be
                server s1 10.0.0.1:443
            """);
        await Assert.That(c.Proxies.Single(p => p.Name == "be").HttpReuse).IsEqualTo(HttpReuse.Never);
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(9)} : 'http-reuse' ignored because frontend 'fe' has no backend capability.");
    }

    [Test]
    [Arguments("http-reuse sometimes", "parsing [cfg:7] : 'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.")]
    [Arguments("http-reuse", "parsing [cfg:7] : 'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.")]
    [Arguments("http-reuse safe x", "parsing [cfg:7] : 'http-reuse safe' cannot handle unexpected argument 'x'.")]
    [Arguments("server s1 10.0.0.1:443 pool-max-conn -2", "[cfg:7] : 'server be/s1' : 'pool-max-conn' must be >= -1.")]
    [Arguments("server s1 10.0.0.1:443 pool-max-conn", "[cfg:7] : 'server be/s1' : 'pool-max-conn' expects an argument.")]
    [Arguments("server s1 10.0.0.1:443 pool-purge-delay x", "[cfg:7] : 'server be/s1' : unexpected character 'x' in argument to <pool-purge-delay>.")]
    [Arguments("server s1 10.0.0.1:443 pool-purge-delay -1", "[cfg:7] : 'server be/s1' : unexpected character '-' in argument to <pool-purge-delay>.")]
    // Stricter than HAProxy, which reads these as numbers (atoi) and takes them silently.
    [Arguments("server s1 10.0.0.1:443 pool-max-conn x", "[cfg:7] : 'server be/s1' : 'pool-max-conn' expects an integer argument.")]
    [Arguments("server s1 10.0.0.1:443 pool-low-conn -1", "[cfg:7] : 'server be/s1' : 'pool-low-conn' expects an integer argument >= 0.")]
    public async Task Refuses_in_haproxys_words(string line, string expected)
    {
        using var f = new CfgFixture();
        await Assert.That(f.Load(CfgFixture.Head + "backend be\n    " + line + "\n")).IsNull();
        await Assert.That(f.Diagnostics.Replace(f.At(7), "[cfg:7]")).Contains(expected);
    }
}
