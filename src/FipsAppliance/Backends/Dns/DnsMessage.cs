using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace FipsAppliance.Backends.Dns;

/// <summary>The outcome of one name resolution, in HAProxy's `hold` vocabulary.</summary>
internal enum DnsStatus { Valid, Nx, Refused, Timeout, Other }

/// <summary>What an answer to our question said. <see cref="Truncated"/>: TC set, ask again over TCP.</summary>
internal readonly record struct DnsAnswer(DnsStatus Status, IPAddress[] Addresses, bool Truncated = false);

/// <summary>
/// DNS messages as RFC 1035 (and 6891 for EDNS0) lay them out: the query we send, and the parse of
/// an answer, which trusts nothing in it. Every length and offset is checked against the message;
/// a name may only point backwards (so pointer chains end) and is at most 255 bytes; an answer
/// counts only if it is a response to our ID and echoes our one question (name, type, class); an
/// address counts only from an IN record whose owner is the name asked or a CNAME target reached
/// from it. A message that fails any check is either not ours (ignored, <c>null</c>) or, once it
/// has matched our question, malformed (<see cref="DnsStatus.Other"/>). Nothing here throws.
/// </summary>
internal static class DnsMessage
{
    public const ushort TypeA = 1, TypeCname = 5, TypeAaaa = 28, TypeOpt = 41, ClassIn = 1;
    public const int HeaderLength = 12;
    public const int MaxNameLength = 255;
    /// <summary>More CNAME links than this in one answer is a loop or an abuse.</summary>
    private const int MaxCnameLinks = 16;
    /// <summary>Enough for every intake; more addresses than this in one answer are ignored.</summary>
    public const int MaxAddresses = 64;

    private const byte FlagQr = 0x80, FlagTc = 0x02, FlagRd = 0x01;

    /// <summary>
    /// The query: one question, recursion desired, and an EDNS0 OPT record announcing
    /// <paramref name="payloadSize"/> (HAProxy's `accepted_payload_size`, which it always announces).
    /// Null when <paramref name="name"/> is not a valid DNS name (empty label, label over 63, name over 255).
    /// </summary>
    public static byte[]? BuildQuery(ushort id, string name, ushort type, int payloadSize)
    {
        var qname = EncodeName(name);
        if (qname is null) return null;
        var q = new byte[HeaderLength + qname.Length + 4 + 11];
        BinaryPrimitives.WriteUInt16BigEndian(q, id);
        q[2] = FlagRd;
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(4), 1);    // QDCOUNT
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(10), 1);   // ARCOUNT: the OPT record
        int p = HeaderLength;
        qname.CopyTo(q, p);
        p += qname.Length;
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(p), type);
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(p + 2), ClassIn);
        p += 4;
        // OPT: root name, TYPE 41, CLASS = UDP payload size, TTL = extended RCODE/version/flags 0, RDLEN 0.
        q[p] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(p + 1), TypeOpt);
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(p + 3), (ushort)Math.Clamp(payloadSize, 512, 65535));
        return q;
    }

    /// <summary>A name in wire form (lower-case), or null if it is not a valid DNS name.</summary>
    public static byte[]? EncodeName(string name)
    {
        var trimmed = name.EndsWith('.') ? name[..^1] : name;
        if (trimmed.Length == 0 || trimmed.Length > 253) return null;
        var wire = new byte[trimmed.Length + 2];
        int p = 0;
        foreach (var label in trimmed.Split('.'))
        {
            if (label.Length is 0 or > 63) return null;
            wire[p++] = (byte)label.Length;
            foreach (char c in label)
            {
                if (c <= ' ' || c > '~') return null;
                wire[p++] = (byte)char.ToLowerInvariant(c);
            }
        }
        wire[p] = 0;
        return wire;
    }

    /// <summary>
    /// Parses <paramref name="m"/> as the answer to query <paramref name="id"/> for
    /// <paramref name="qname"/> (wire form, as <see cref="EncodeName"/> gives) and <paramref name="qtype"/>.
    /// Null: not an answer to that question (wrong ID, not a response, another question, too short);
    /// the caller keeps waiting for the real one.
    /// </summary>
    public static DnsAnswer? Parse(ReadOnlySpan<byte> m, ushort id, ReadOnlySpan<byte> qname, ushort qtype)
    {
        if (m.Length < HeaderLength) return null;
        if (BinaryPrimitives.ReadUInt16BigEndian(m) != id) return null;
        byte flags = m[2];
        if ((flags & FlagQr) == 0 || (flags & 0x78) != 0) return null;       // a response to a standard QUERY
        if (BinaryPrimitives.ReadUInt16BigEndian(m[4..]) != 1) return null;   // exactly our one question, echoed
        int p = HeaderLength;
        var name = new NameBuffer();
        if (!ReadName(m, ref p, ref name) || !name.EqualsWire(qname)) return null;
        if (p + 4 > m.Length) return null;
        if (BinaryPrimitives.ReadUInt16BigEndian(m[p..]) != qtype || BinaryPrimitives.ReadUInt16BigEndian(m[(p + 2)..]) != ClassIn) return null;
        p += 4;

        // It is the answer to our question from here on: what is wrong with it is the server's error.
        if ((flags & FlagTc) != 0) return new DnsAnswer(DnsStatus.Other, [], Truncated: true);
        switch (m[3] & 0x0f)
        {
            case 0: break;
            case 3: return new DnsAnswer(DnsStatus.Nx, []);
            case 5: return new DnsAnswer(DnsStatus.Refused, []);
            default: return new DnsAnswer(DnsStatus.Other, []);
        }

        int count = BinaryPrimitives.ReadUInt16BigEndian(m[6..]);
        // Every record is at least 11 bytes: a count the message cannot hold is a lie.
        if (count > (m.Length - p) / 11) return new DnsAnswer(DnsStatus.Other, []);
        var records = new List<(string Owner, ushort Type, int Data, int Length)>(Math.Min(count, 64));
        for (int i = 0; i < count; i++)
        {
            var owner = new NameBuffer();
            if (!ReadName(m, ref p, ref owner) || p + 10 > m.Length) return new DnsAnswer(DnsStatus.Other, []);
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(m[p..]);
            ushort cls = BinaryPrimitives.ReadUInt16BigEndian(m[(p + 2)..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(m[(p + 8)..]);
            p += 10;
            if (length > m.Length - p) return new DnsAnswer(DnsStatus.Other, []);
            if (cls == ClassIn && (type == qtype || type == TypeCname)) records.Add((owner.ToString(), type, p, length));
            p += length;
        }

        // The names that stand for ours: the question, then every CNAME target reached from it.
        var names = new List<string>(2) { NameBuffer.FromWire(qname) };
        for (int link = 0; link < MaxCnameLinks; link++)
        {
            bool grew = false;
            foreach (var r in records)
            {
                if (r.Type != TypeCname || !names.Contains(r.Owner)) continue;
                int q = r.Data;
                var target = new NameBuffer();
                // The target must be a well-formed name lying inside its RDATA.
                if (!ReadName(m, ref q, ref target) || q > r.Data + r.Length) return new DnsAnswer(DnsStatus.Other, []);
                var t = target.ToString();
                if (names.Contains(t)) continue;
                names.Add(t);
                grew = true;
            }
            if (!grew) break;
        }

        int size = qtype == TypeAaaa ? 16 : 4;
        var addresses = new List<IPAddress>();
        foreach (var r in records)
        {
            if (r.Type != qtype || r.Length != size || !names.Contains(r.Owner)) continue;
            var address = new IPAddress(m.Slice(r.Data, size));
            if (!addresses.Contains(address)) addresses.Add(address);
            if (addresses.Count == MaxAddresses) break;
        }
        return new DnsAnswer(DnsStatus.Valid, [.. addresses]);
    }

    /// <summary>
    /// Reads the name at <paramref name="p"/> (advancing past it) into <paramref name="name"/>.
    /// Compression pointers must point strictly before the label that holds them, so every chain of
    /// them ends; labels with the reserved 01/10 prefixes are refused; the name stays within 255 bytes.
    /// </summary>
    private static bool ReadName(ReadOnlySpan<byte> m, ref int p, ref NameBuffer name)
    {
        int pos = p;
        int end = -1;             // where the caller's name ends: after the first pointer, or after the root label
        int lowest = pos;         // every pointer must go below this
        while (true)
        {
            if (pos >= m.Length) return false;
            byte len = m[pos];
            if (len == 0)
            {
                if (end < 0) end = pos + 1;
                break;
            }
            switch (len & 0xc0)
            {
                case 0xc0:
                    if (pos + 1 >= m.Length) return false;
                    int target = ((len & 0x3f) << 8) | m[pos + 1];
                    if (end < 0) end = pos + 2;
                    if (target >= lowest) return false;   // forwards or onto itself: a loop
                    lowest = target;
                    pos = target;
                    continue;
                case 0x00:
                    if (pos + 1 + len > m.Length) return false;
                    if (!name.Append(m.Slice(pos + 1, len))) return false;
                    pos += 1 + len;
                    // A pointer is only allowed to land before where this label started.
                    continue;
                default:
                    return false;         // 0x40 / 0x80: extended label types, not in use
            }
        }
        p = end;
        return true;
    }

    /// <summary>A name being read: lower-case, dot-separated, bounded by the 255-byte wire limit.</summary>
    private struct NameBuffer
    {
        private StringBuilder? _text;
        private int _wireLength;

        public bool Append(ReadOnlySpan<byte> label)
        {
            _wireLength += 1 + label.Length;
            if (_wireLength + 1 > MaxNameLength) return false;
            _text ??= new StringBuilder(64);
            if (_text.Length > 0) _text.Append('.');
            foreach (byte b in label)
                _text.Append(b is >= (byte)'A' and <= (byte)'Z' ? (char)(b + 32) : (char)b);
            return true;
        }

        public bool EqualsWire(ReadOnlySpan<byte> wire) => ToString() == FromWire(wire);

        public override string ToString() => _text?.ToString() ?? "";

        public static string FromWire(ReadOnlySpan<byte> wire)
        {
            var sb = new StringBuilder(wire.Length);
            int p = 0;
            while (p < wire.Length && wire[p] != 0)
            {
                int len = wire[p];
                if (sb.Length > 0) sb.Append('.');
                foreach (byte b in wire.Slice(p + 1, Math.Min(len, wire.Length - p - 1)))
                    sb.Append(b is >= (byte)'A' and <= (byte)'Z' ? (char)(b + 32) : (char)b);
                p += 1 + len;
            }
            return sb.ToString();
        }
    }
}
