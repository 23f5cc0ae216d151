using FipsAppliance.Backends.Dns;
using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Backends;

/// <summary>`init-addr` methods in order, the first that gives an address winning (HAProxy's srv_iterate_initaddr).</summary>
public class InitAddrTests
{
    [Test]
    public async Task Libc_gives_localhost_its_address()
    {
        var log = new ListLogger();
        var line = TestModel.Line("s1", "localhost", 8443);
        line.InitAddr = ["last", "libc", "none"];
        var b = TestModel.Backend(log, "be", line);
        InitAddr.Assign([b], [], log);
        await Assert.That(b.Servers[0].Address).IsIn("127.0.0.1:8443", "[::1]:8443");
        await Assert.That(b.Servers[0].Status).IsEqualTo(ServerStatus.Up);
    }

    [Test]
    public async Task None_starts_without_an_address_in_maintenance_by_resolution()
    {
        var log = new ListLogger();
        var line = TestModel.Line("s1", "intake.example");
        line.InitAddr = ["last", "none"];
        var b = TestModel.Backend(log, "be", line);
        InitAddr.Assign([b], [], log);
        await Assert.That(StatsFacts.ServerStatusWord(b.Servers[0])).IsEqualTo("MAINT (resolution)");
        await Assert.That(log.Lines.Count).IsEqualTo(0);
    }

    [Test]
    public async Task An_ip_literal_method_is_taken_in_its_turn()
    {
        var log = new ListLogger();
        var line = TestModel.Line("s1", "intake.example", 443);
        line.InitAddr = ["last", "10.9.9.9", "none"];
        var b = TestModel.Backend(log, "be", line);
        InitAddr.Assign([b], [], log);
        await Assert.That(b.Servers[0].Address).IsEqualTo("10.9.9.9:443");
    }

    [Test]
    public async Task No_address_and_no_none_stops_the_start_with_haproxys_lines()
    {
        var log = new ListLogger();
        var line = TestModel.Line("s1", "intake.example", line: 9);
        line.InitAddr = ["last"];
        var b = TestModel.Backend(log, "b1", line);
        var e = Assert.Throws<InitAddrException>(() => InitAddr.Assign([b], [], log));
        await Assert.That(e.Message).IsEqualTo("config : Failed to initialize server(s) addr.");
        await Assert.That(log.Lines).IsEquivalentTo(new[] { "[ALERT] config : [t.cfg:9] : 'server b1/s1' : no method found to resolve address 'intake.example'." });
    }
}
