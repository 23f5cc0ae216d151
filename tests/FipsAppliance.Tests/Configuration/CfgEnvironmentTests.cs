using FipsAppliance.Configuration;

namespace FipsAppliance.Tests.Configuration;

public class CfgEnvironmentTests
{
    private const string Cfg = "global\n    presetenv DD_FIPS_LOCAL_ADDRESS 127.0.0.9\n    setenv PORT_BASE 98\n" + CfgFixture.Head +
        "listen stats\n    bind ${DD_FIPS_LOCAL_ADDRESS}:9803\n    bind \"${DD_FIPS_LOCAL_ADDRESS}:${PORT_BASE}18\"\n    bind 127.0.0.1:8080\n    stats enable\n";

    private static string Binds(LoadedConfig c) => string.Join(",", c.Proxy.Proxies[0].Binds.Select(b => $"{b.Address}:{b.Port}"));

    [Test]
    public async Task Presetenv_applies_when_nothing_else_sets_the_local_address()
    {
        using var f = new CfgFixture();
        var c = f.Load(Cfg);
        await Assert.That(Binds(c!)).IsEqualTo("127.0.0.9:9803,127.0.0.9:9818,127.0.0.1:8080");
    }

    [Test]
    public async Task Ini_beats_presetenv_and_environment_beats_ini()
    {
        using var f = new CfgFixture();
        const string ini = "[ports]\nlocal_address = 127.0.0.5\n";
        var fromIni = f.Load(Cfg, ini: ini);
        await Assert.That(Binds(fromIni!)).StartsWith("127.0.0.5:9803");
        await Assert.That(fromIni!.Appliance.Ports.LocalAddress).IsEqualTo("127.0.0.5");
        var fromEnv = f.Load(Cfg, env: new() { ["DD_FIPS_LOCAL_ADDRESS"] = "127.0.0.7" }, ini: ini);
        await Assert.That(Binds(fromEnv!)).StartsWith("127.0.0.7:9803");
        await Assert.That(fromEnv!.Appliance.Ports.LocalAddress).IsEqualTo("127.0.0.7");
    }

    [Test]
    public async Task Port_range_start_moves_only_the_9803_to_9818_binds()
    {
        using var f = new CfgFixture();
        var c = f.Load(Cfg, env: new() { ["DD_FIPS_PORT_RANGE_START"] = "10803" }, ini: "[ports]\nrange_start = 20000\n");
        await Assert.That(Binds(c!)).IsEqualTo("127.0.0.9:10803,127.0.0.9:10818,127.0.0.1:8080");
        await Assert.That(f.Diagnostics).Contains("[NOTICE]   ");
        await Assert.That(f.Diagnostics).Contains("DD_FIPS_PORT_RANGE_START=10803: 2 bind(s) in 9803-9818 moved to 10803-10818.");
        var fromIni = f.Load(Cfg, ini: "[ports]\nrange_start = 20000\n");
        await Assert.That(Binds(fromIni!)).IsEqualTo("127.0.0.9:20000,127.0.0.9:20015,127.0.0.1:8080");
    }

    [Test]
    public async Task Ini_binds_snake_case_keys_and_resolves_relative_paths()
    {
        using var f = new CfgFixture();
        var c = f.Load(Cfg, ini: "[fips]\nopenssl_conf = ssl/openssl.cnf\nmodule = /opt/fips.so\nmodule_conf = /opt/fipsmodule.cnf\n[log]\nformat = journald\n");
        await Assert.That(c!.Appliance.Fips.OpenSslConf).IsEqualTo(Path.Combine(f.Directory, "ssl", "openssl.cnf"));
        await Assert.That(c.Appliance.Fips.Module).IsEqualTo("/opt/fips.so");
        await Assert.That(c.Appliance.Fips.ModuleConf).IsEqualTo("/opt/fipsmodule.cnf");
        await Assert.That(c.Appliance.Log.Format).IsEqualTo(LogFormat.Journald);
    }

    [Test]
    [Arguments("[ports]\nrange_start = abc\n", "appliance settings")]
    [Arguments("[ports]\nrange_start = 65530\n", "port range start 65530")]
    [Arguments("[log]\nformat = fancy\n", "appliance settings")]
    [Arguments("not an ini line\n", "parsing [")]
    public async Task Rejects_bad_ini_values(string ini, string expected)
    {
        using var f = new CfgFixture();
        var c = f.Load(Cfg, ini: ini);
        await Assert.That(c).IsNull();
        await Assert.That(f.Diagnostics).Contains("[ALERT]");
        await Assert.That(f.Diagnostics).Contains(expected);
    }

    [Test]
    public async Task Unknown_ini_key_warns()
    {
        using var f = new CfgFixture();
        var c = f.Load(Cfg, ini: "[fips]\nopenssl_cnf = /x\n");
        await Assert.That(c).IsNotNull();
        await Assert.That(f.Diagnostics).Contains("unknown setting 'fips:openssl_cnf' ignored");
    }

    [Test]
    public async Task Setenv_does_not_touch_the_process_environment()
    {
        using var f = new CfgFixture();
        f.Load(Cfg);
        await Assert.That(Environment.GetEnvironmentVariable("PORT_BASE")).IsNull();
    }
}
