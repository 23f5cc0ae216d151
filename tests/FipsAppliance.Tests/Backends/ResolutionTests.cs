using System.Net;
using FipsAppliance.Backends;
using FipsAppliance.Backends.Dns;
using FipsAppliance.Backends.Health;
using FipsAppliance.Configuration;
using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Backends;

/// <summary>
/// Addresses from DNS onto a server-template's slots, and maintenance by resolution, in the words
/// haproxy 2.6.12 printed for the same sequence (dnsmasq answers changed under it; see the reference).
/// </summary>
public class ResolutionTests
{
    private static (ListLogger Log, Backend Backend, Resolution Resolution) Template(int slots, ResolverHold hold)
    {
        var log = new ListLogger();
        var lines = Enumerable.Range(1, slots).Select(i => TestModel.Line("m" + i, address: "a.test.example", port: 18900, template: "m")).ToArray();
        var b = TestModel.Backend(log, "b1", lines);
        var section = new ResolversSection { Name = "dns", Hold = hold, Nameservers = [new Nameserver { Name = "n1", Address = "127.0.0.1", Port = 53 }] };
        var resolvers = new ResolversRuntime(section, log);
        var resolution = resolvers.Add("a.test.example", false, b.Servers);
        TestModel.Start(b);
        return (log, b, resolution);
    }

    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    [Test]
    public async Task Slots_get_addresses_and_leave_maintenance_with_haproxys_lines()
    {
        var (log, b, r) = Template(3, new ResolverHold());
        r.Apply([Ip("127.0.0.2"), Ip("127.0.0.3")], "dns/n1");

        await Assert.That(log.Lines).IsEquivalentTo(new[]
        {
            "[WARNING] b1/m1 changed its IP from (none) to 127.0.0.2 by dns/n1.",
            "[WARNING] Server b1/m1 ('a.test.example') is UP/READY (resolves again).",
            "[WARNING] Server b1/m1 administratively READY thanks to valid DNS answer.",
            "[WARNING] b1/m2 changed its IP from (none) to 127.0.0.3 by DNS cache.",
            "[WARNING] Server b1/m2 ('a.test.example') is UP/READY (resolves again).",
            "[WARNING] Server b1/m2 administratively READY thanks to valid DNS answer.",
        }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
        await Assert.That(b.Servers[0].Address).IsEqualTo("127.0.0.2:18900");
        await Assert.That(StatsFacts.ServerStatusWord(b.Servers[2])).IsEqualTo("MAINT (resolution)");
        await Assert.That(b.UsableCount).IsEqualTo(2);
    }

    [Test]
    public async Task An_address_gone_from_answers_is_kept_for_hold_obsolete_then_the_slot_has_no_ip()
    {
        var (log, b, r) = Template(2, new ResolverHold { Obsolete = 60_000 });
        r.Apply([Ip("127.0.0.2"), Ip("127.0.0.3")], "dns/n1");
        int before = log.Lines.Count;
        r.Apply([Ip("127.0.0.3")], "dns/n1");
        await Assert.That(log.Lines.Count).IsEqualTo(before);     // .2 is still listed: kept
        await Assert.That(b.Servers[0].Address).IsEqualTo("127.0.0.2:18900");

        var (log2, b2, r2) = Template(2, new ResolverHold { Obsolete = 0 });
        r2.Apply([Ip("127.0.0.2"), Ip("127.0.0.3")], "dns/n1");
        Thread.Sleep(5);
        r2.Apply([Ip("127.0.0.3")], "dns/n1");
        await Assert.That(log2.Lines[^1]).IsEqualTo(
            "[WARNING] Server b1/m1 is going DOWN for maintenance (No IP for server ). 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
        await Assert.That(b2.Servers[0].Address).IsEqualTo("");
        await Assert.That(b2.Servers[1].Address).IsEqualTo("127.0.0.3:18900");
    }

    [Test]
    public async Task Failures_keep_the_last_good_addresses_for_the_hold_then_maintenance()
    {
        var (log, b, r) = Template(1, new ResolverHold { Timeout = 60_000, Nx = 0 });
        r.Apply([Ip("127.0.0.2")], "dns/n1");
        int before = log.Lines.Count;

        r.Fail(DnsStatus.Timeout);                                   // DNS server gone, within hold timeout
        await Assert.That(log.Lines.Count).IsEqualTo(before);
        await Assert.That(b.PickServer()).IsEqualTo(b.Servers[0]);

        Thread.Sleep(5);
        r.Fail(DnsStatus.Nx);                                        // hold nx 0: past it at once
        await Assert.That(log.Lines.Skip(before)).IsEquivalentTo(new[]
        {
            "[WARNING] Server b1/m1 is going DOWN for maintenance (DNS NX status). 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
            "[ALERT] backend 'b1' has no server available!",
        }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
        // The address is kept for when the name resolves again: no "changed its IP" then.
        await Assert.That(b.Servers[0].Address).IsEqualTo("127.0.0.2:18900");
        r.Apply([Ip("127.0.0.2")], "dns/n1");
        await Assert.That(log.Lines[^2]).IsEqualTo("[WARNING] Server b1/m1 ('a.test.example') is UP/READY (resolves again).");
    }

    [Test]
    public async Task A_down_server_entering_maintenance_says_it_was_down()
    {
        var (log, b, r) = Template(1, new ResolverHold { Obsolete = 0 });
        r.Apply([Ip("127.0.0.2")], "dns/n1");
        b.Servers[0].OnCheckResult(new CheckResult(CheckStatus.L4Connection, "Connection refused", 0));
        Thread.Sleep(5);
        r.Apply([Ip("127.0.0.4")], "dns/n1");
        // .2 left the answers and no other slot holds .4: the slot takes it, and stays DOWN until its checks say otherwise.
        await Assert.That(log.Lines[^1]).IsEqualTo("[WARNING] b1/m1 changed its IP from 127.0.0.2 to 127.0.0.4 by dns/n1.");
        await Assert.That(StatsFacts.ServerStatusWord(b.Servers[0])).IsEqualTo("DOWN");   // checks decide again

        var (log2, b2, r2) = Template(2, new ResolverHold { Obsolete = 0 });
        r2.Apply([Ip("127.0.0.2"), Ip("127.0.0.3")], "dns/n1");
        b2.Servers[0].OnCheckResult(new CheckResult(CheckStatus.L4Connection, "Connection refused", 0));
        Thread.Sleep(5);
        r2.Apply([Ip("127.0.0.3")], "dns/n1");
        await Assert.That(log2.Lines[^1]).IsEqualTo("[WARNING] Server b1/m1 was DOWN and now enters maintenance (No IP for server ).");
    }
}
