using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace FipsAppliance.Backends.Dns;

/// <summary>The outcome of one name resolution, in HAProxy's `hold` vocabulary.</summary>
internal enum DnsStatus { Valid, Nx, Refused, Timeout, Other }

/// <summary>
/// A minimal DNS stub for the `resolvers` section: A or AAAA questions over UDP to the section's
/// nameservers in turn, `timeout retry` per try and `resolve_retries` tries. No recursion of its
/// own and no cache beyond what the caller keeps: the nameservers do the work, as with HAProxy.
/// </summary>
internal static class DnsClient
{
    private const ushort TypeA = 1, TypeAaaa = 28, ClassIn = 1;

    public static async Task<(DnsStatus Status, IPAddress[] Addresses)> ResolveAsync(
        string name, bool ipv6, IReadOnlyList<IPEndPoint> nameservers, int retries, int timeoutMs, int payloadSize)
    {
        if (nameservers.Count == 0) return (DnsStatus.Other, []);
        var status = DnsStatus.Timeout;
        for (int attempt = 0; attempt < Math.Max(1, retries); attempt++)
        {
            var ns = nameservers[attempt % nameservers.Count];
            ushort id = (ushort)Random.Shared.Next(ushort.MaxValue);
            var query = BuildQuery(id, name, ipv6 ? TypeAaaa : TypeA);
            using var socket = new Socket(ns.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            using var cts = new CancellationTokenSource(timeoutMs);
            try
            {
                await socket.ConnectAsync(ns, cts.Token);
                await socket.SendAsync(query, SocketFlags.None, cts.Token);
                var buffer = new byte[Math.Max(512, payloadSize)];
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                    if (n < 12 || BinaryPrimitives.ReadUInt16BigEndian(buffer) != id) continue; // not our answer
                    var (s, addresses) = Parse(buffer.AsSpan(0, n), ipv6 ? TypeAaaa : TypeA);
                    if (s is DnsStatus.Valid or DnsStatus.Nx) return (s, addresses);
                    status = s;
                    break;
                }
            }
            catch (OperationCanceledException) { status = DnsStatus.Timeout; }
            catch (SocketException e) { status = e.SocketErrorCode == SocketError.ConnectionRefused ? DnsStatus.Refused : DnsStatus.Other; }
        }
        return (status, []);
    }

    private static byte[] BuildQuery(ushort id, string name, ushort type)
    {
        var labels = name.TrimEnd('.').Split('.');
        int length = 12 + 1 + 4 + labels.Sum(l => l.Length + 1);
        var q = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(q, id);
        q[2] = 0x01;                                   // RD: ask the nameserver to recurse
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(4), 1);  // one question
        int p = 12;
        foreach (var l in labels)
        {
            q[p++] = (byte)l.Length;
            foreach (char c in l) q[p++] = (byte)c;
        }
        q[p++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(p), type);
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(p + 2), ClassIn);
        return q;
    }

    internal static (DnsStatus, IPAddress[]) Parse(ReadOnlySpan<byte> m, ushort wanted)
    {
        int rcode = m[3] & 0x0f;
        if (rcode == 3) return (DnsStatus.Nx, []);
        if (rcode == 5) return (DnsStatus.Refused, []);
        if (rcode != 0) return (DnsStatus.Other, []);
        int qd = BinaryPrimitives.ReadUInt16BigEndian(m[4..]);
        int an = BinaryPrimitives.ReadUInt16BigEndian(m[6..]);
        int p = 12;
        for (int i = 0; i < qd; i++) { p = SkipName(m, p) + 4; }
        var result = new List<IPAddress>();
        for (int i = 0; i < an && p < m.Length; i++)
        {
            p = SkipName(m, p);
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(m[p..]);
            int rdLength = BinaryPrimitives.ReadUInt16BigEndian(m[(p + 8)..]);
            p += 10;
            if (type == wanted && (rdLength == 4 || rdLength == 16)) result.Add(new IPAddress(m.Slice(p, rdLength)));
            p += rdLength;
        }
        return (DnsStatus.Valid, [.. result]);
    }

    private static int SkipName(ReadOnlySpan<byte> m, int p)
    {
        while (p < m.Length)
        {
            byte len = m[p];
            if (len == 0) return p + 1;
            if ((len & 0xc0) == 0xc0) return p + 2;   // compression pointer ends the name
            p += len + 1;
        }
        return p;
    }
}
