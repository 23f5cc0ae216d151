using System.Buffers.Binary;
using System.Net;
using FipsAppliance.Backends.Dns;

namespace FipsAppliance.Tests.Backends;

/// <summary>Builds DNS answers byte by byte, right or wrong on purpose.</summary>
internal sealed class DnsAnswerBuilder
{
    private readonly List<byte> _b = [];

    public DnsAnswerBuilder(ushort id, ushort flags = 0x8180, int qd = 1, int an = 0, int ns = 0, int ar = 0)
    {
        U16(id); U16(flags); U16(qd); U16(an); U16(ns); U16(ar);
    }

    public int Length => _b.Count;
    public DnsAnswerBuilder U16(int v) { _b.Add((byte)(v >> 8)); _b.Add((byte)v); return this; }
    public DnsAnswerBuilder U32(uint v) { U16((int)(v >> 16)); U16((int)(v & 0xffff)); return this; }
    public DnsAnswerBuilder Bytes(params byte[] bytes) { _b.AddRange(bytes); return this; }

    public DnsAnswerBuilder Name(string name)
    {
        foreach (var label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            _b.Add((byte)label.Length);
            _b.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }
        _b.Add(0);
        return this;
    }

    public DnsAnswerBuilder Pointer(int offset) { _b.Add((byte)(0xc0 | (offset >> 8))); _b.Add((byte)offset); return this; }

    public DnsAnswerBuilder Question(string name, ushort type = DnsMessage.TypeA, ushort cls = DnsMessage.ClassIn) =>
        Name(name).U16(type).U16(cls);

    /// <summary>An A record whose owner is a pointer to the question name (offset 12).</summary>
    public DnsAnswerBuilder A(string ip, int owner = 12, ushort cls = DnsMessage.ClassIn)
    {
        Pointer(owner).U16(DnsMessage.TypeA).U16(cls).U32(60).U16(4);
        return Bytes(IPAddress.Parse(ip).GetAddressBytes());
    }

    public byte[] ToArray() => [.. _b];
}

public class DnsMessageTests
{
    private const string Host = "metrics.agent.ddog-gov.com";
    private static readonly byte[] QName = DnsMessage.EncodeName(Host)!;

    private static DnsAnswer? Parse(byte[] m, ushort id = 0x1234, ushort type = DnsMessage.TypeA) => DnsMessage.Parse(m, id, QName, type);

    [Test]
    public async Task Reads_a_records_of_the_name_asked()
    {
        var m = new DnsAnswerBuilder(0x1234, an: 2).Question(Host).A("10.0.0.1").A("10.0.0.2").ToArray();
        var a = Parse(m);
        await Assert.That(a?.Status).IsEqualTo(DnsStatus.Valid);
        await Assert.That(string.Join(",", a!.Value.Addresses.Select(x => x.ToString()))).IsEqualTo("10.0.0.1,10.0.0.2");
    }

    [Test]
    public async Task A_record_cut_short_is_an_error_not_a_crash()
    {
        // The case: the header says one answer, the bytes end inside it (the daemon aborted with exit 134).
        var whole = new DnsAnswerBuilder(0x1234, an: 1).Question(Host).A("10.0.0.1").ToArray();
        for (int cut = whole.Length - 1; cut > 12; cut--)
        {
            var a = Parse(whole[..cut]);
            if (a is { } answer)
            {
                await Assert.That(answer.Status).IsEqualTo(DnsStatus.Other);
                await Assert.That(answer.Addresses.Length).IsEqualTo(0);
            }
        }
    }

    [Test]
    public async Task Compression_pointer_loops_are_refused()
    {
        var header = new DnsAnswerBuilder(0x1234, an: 1).Question(Host);
        int at = header.Length;
        var self = header.Pointer(at).U16(1).U16(1).U32(60).U16(4).Bytes(1, 2, 3, 4).ToArray();
        await Assert.That(Parse(self)?.Status).IsEqualTo(DnsStatus.Other);

        var b = new DnsAnswerBuilder(0x1234, an: 1).Question(Host);
        int first = b.Length;
        b.Bytes(1, (byte)'x').Pointer(first + 4);   // label, then a pointer forwards
        b.Bytes(1, (byte)'y').Pointer(first);       // ... which points back: a cycle
        var cycle = b.U16(1).U16(1).U32(60).U16(4).Bytes(1, 2, 3, 4).ToArray();
        await Assert.That(Parse(cycle)?.Status).IsEqualTo(DnsStatus.Other);
    }

    [Test]
    public async Task Answers_to_another_id_or_question_are_not_ours()
    {
        var good = new DnsAnswerBuilder(0x1234, an: 1).Question(Host).A("10.0.0.1").ToArray();
        await Assert.That(Parse(good, id: 0x4321)).IsNull();
        await Assert.That(Parse(good, type: DnsMessage.TypeAaaa)).IsNull();
        await Assert.That(Parse(new DnsAnswerBuilder(0x1234, an: 1).Question("evil.example").A("6.6.6.6").ToArray())).IsNull();
        await Assert.That(Parse(new DnsAnswerBuilder(0x1234, an: 1).Question(Host, cls: 3).A("6.6.6.6").ToArray())).IsNull();
        await Assert.That(Parse(new DnsAnswerBuilder(0x1234, flags: 0x0100, an: 1).Question(Host).A("6.6.6.6").ToArray())).IsNull();  // a query, not a response
        await Assert.That(Parse(new DnsAnswerBuilder(0x1234, qd: 0, an: 1).A("6.6.6.6").ToArray())).IsNull();
        // Mixed case is the same name (DNS names are case-insensitive).
        await Assert.That(Parse(new DnsAnswerBuilder(0x1234, an: 1).Question(Host.ToUpperInvariant()).A("10.0.0.1").ToArray())?.Status).IsEqualTo(DnsStatus.Valid);
    }

    [Test]
    public async Task Records_for_other_names_are_ignored_cname_targets_are_followed()
    {
        var b = new DnsAnswerBuilder(0x1234, an: 4).Question(Host);
        // metrics.agent... CNAME edge.example ; edge.example A 10.0.0.7 ; other.example A 6.6.6.6 ; Host A (class CH) 6.6.6.7
        b.Pointer(12).U16(DnsMessage.TypeCname).U16(1).U32(60).U16(14).Name("edge.example");
        int edge = b.Length - 14;
        b.Pointer(edge).U16(1).U16(1).U32(60).U16(4).Bytes(10, 0, 0, 7);
        b.Name("other.example").U16(1).U16(1).U32(60).U16(4).Bytes(6, 6, 6, 6);
        b.A("6.6.6.7", cls: 3);
        var a = Parse(b.ToArray());
        await Assert.That(a?.Status).IsEqualTo(DnsStatus.Valid);
        await Assert.That(string.Join(",", a!.Value.Addresses.Select(x => x.ToString()))).IsEqualTo("10.0.0.7");
    }

    [Test]
    public async Task Status_words_truncation_and_oversized_counts()
    {
        await Assert.That(Parse(new DnsAnswerBuilder(0x1234, flags: 0x8183).Question(Host).ToArray())?.Status).IsEqualTo(DnsStatus.Nx);
        await Assert.That(Parse(new DnsAnswerBuilder(0x1234, flags: 0x8185).Question(Host).ToArray())?.Status).IsEqualTo(DnsStatus.Refused);
        await Assert.That(Parse(new DnsAnswerBuilder(0x1234, flags: 0x8182).Question(Host).ToArray())?.Status).IsEqualTo(DnsStatus.Other);
        var tc = Parse(new DnsAnswerBuilder(0x1234, flags: 0x8380, an: 1).Question(Host).A("10.0.0.1").ToArray());
        await Assert.That(tc?.Truncated).IsTrue();
        await Assert.That(tc?.Addresses.Length).IsEqualTo(0);
        var huge = Parse(new DnsAnswerBuilder(0x1234, an: 65535).Question(Host).A("10.0.0.1").ToArray());
        await Assert.That(huge?.Status).IsEqualTo(DnsStatus.Other);
        // A valid answer with no record of the type asked: valid and empty (the resolvers then try the other family).
        var empty = Parse(new DnsAnswerBuilder(0x1234).Question(Host).ToArray());
        await Assert.That(empty?.Status).IsEqualTo(DnsStatus.Valid);
        await Assert.That(empty?.Addresses.Length).IsEqualTo(0);
    }

    [Test]
    public async Task Query_has_one_question_and_announces_the_payload_size_in_edns0()
    {
        var q = DnsMessage.BuildQuery(0xbeef, "Metrics.Agent.DDOG-gov.com.", DnsMessage.TypeA, 1232)!;
        await Assert.That(BinaryPrimitives.ReadUInt16BigEndian(q)).IsEqualTo((ushort)0xbeef);
        await Assert.That(BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(4))).IsEqualTo((ushort)1);
        await Assert.That(BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(10))).IsEqualTo((ushort)1);
        int opt = 12 + QName.Length + 4;
        await Assert.That(q[opt]).IsEqualTo((byte)0);
        await Assert.That(BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(opt + 1))).IsEqualTo(DnsMessage.TypeOpt);
        await Assert.That(BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(opt + 3))).IsEqualTo((ushort)1232);
        await Assert.That(DnsMessage.BuildQuery(1, "a..b", 1, 512)).IsNull();
        await Assert.That(DnsMessage.BuildQuery(1, new string('a', 64) + ".com", 1, 512)).IsNull();
    }

    /// <summary>
    /// Fuzz-style: tens of thousands of random and mutated answers (truncated, bytes flipped, counts
    /// inflated, pointers aimed anywhere, IDs changed, pure noise). The parser must never throw and
    /// never return an address whose four bytes are not in the message it was given.
    /// </summary>
    [Test]
    public async Task Random_and_mutated_answers_never_throw_and_never_invent_an_address()
    {
        var rnd = new Random(20260504);
        int parsed = 0, withAddresses = 0;
        for (int i = 0; i < 60_000; i++)
        {
            byte[] m = i % 10 == 0 ? RandomBytes(rnd) : Mutate(rnd, Seed(rnd));
            ushort id = i % 7 == 0 ? (ushort)rnd.Next(65536) : (ushort)0x1234;
            ushort type = i % 5 == 0 ? DnsMessage.TypeAaaa : DnsMessage.TypeA;
            DnsAnswer? a;
            try
            {
                a = DnsMessage.Parse(m, id, QName, type);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"iteration {i}: {e.GetType().Name} on {Convert.ToHexString(m)}", e);
            }
            if (a is not { } answer) continue;
            parsed++;
            if (answer.Addresses.Length > 0) withAddresses++;
            foreach (var address in answer.Addresses)
            {
                var bytes = address.GetAddressBytes();
                if (m.AsSpan().IndexOf(bytes) < 0)
                    throw new InvalidOperationException($"iteration {i}: {address} is not in {Convert.ToHexString(m)}");
            }
        }
        // The corpus must exercise the parser's depths, not only its first check.
        await Assert.That(parsed).IsGreaterThan(10_000);
        await Assert.That(withAddresses).IsGreaterThan(1_000);
    }

    private static byte[] RandomBytes(Random rnd)
    {
        var b = new byte[rnd.Next(0, 600)];
        rnd.NextBytes(b);
        if (b.Length >= 2) { b[0] = 0x12; b[1] = 0x34; }
        return b;
    }

    /// <summary>Well-formed answers of several shapes, the mutations' starting points.</summary>
    private static byte[] Seed(Random rnd)
    {
        int n = rnd.Next(0, 6);
        var b = new DnsAnswerBuilder(0x1234, an: n + 1).Question(Host);
        int owner = 12;
        if (rnd.Next(3) == 0)
        {
            b.Pointer(12).U16(DnsMessage.TypeCname).U16(1).U32(60).U16(5).Name("e.x");
            owner = b.Length - 5;
        }
        else b.A("192.0.2.1");
        for (int k = 0; k < n; k++)
        {
            if (rnd.Next(4) == 0)
                b.Pointer(owner).U16(DnsMessage.TypeAaaa).U16(1).U32(60).U16(16).Bytes(IPAddress.Parse($"2001:db8::{k + 1}").GetAddressBytes());
            else b.A($"198.51.100.{k + 1}", owner);
        }
        if (rnd.Next(2) == 0) b.Bytes(0).U16(DnsMessage.TypeOpt).U16(1232).U32(0).U16(0);
        return b.ToArray();
    }

    private static byte[] Mutate(Random rnd, byte[] m)
    {
        int kind = rnd.Next(8);
        switch (kind)
        {
            case 0: return m[..rnd.Next(0, m.Length)];                         // truncated anywhere
            case 1:                                                             // bytes flipped
                for (int k = rnd.Next(1, 6); k > 0; k--) m[rnd.Next(m.Length)] = (byte)rnd.Next(256);
                return m;
            case 2:                                                             // counts inflated
                BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), (ushort)rnd.Next(0, 65536));
                BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(4), (ushort)rnd.Next(0, 3));
                return m;
            case 3:                                                             // a pointer aimed anywhere
            {
                int at = rnd.Next(12, m.Length - 1);
                int to = rnd.Next(0, m.Length + 20);
                m[at] = (byte)(0xc0 | (to >> 8));
                m[at + 1] = (byte)to;
                return m;
            }
            case 4:                                                             // lengths inflated
            {
                int at = rnd.Next(12, m.Length);
                m[at] = (byte)rnd.Next(40, 256);
                return m;
            }
            case 5: return [.. m, .. RandomBytes(rnd)];                        // trailing noise
            case 6:                                                             // flags: TC, rcodes, opcode
                m[2] = (byte)rnd.Next(256);
                m[3] = (byte)rnd.Next(256);
                return m;
            default: return m;                                                  // as is
        }
    }
}
