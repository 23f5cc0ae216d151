using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace FipsAppliance.Backends.Dns;

/// <summary>A nameserver of a `resolvers` section: its name (for "by resolvers/name" log lines) and where it listens.</summary>
internal sealed record DnsServer(string Name, IPEndPoint EndPoint);

/// <summary>The result of one resolution: the status, the addresses, and the nameserver whose answer it is.</summary>
internal readonly record struct DnsResult(DnsStatus Status, IPAddress[] Addresses, DnsServer? AnsweredBy);

/// <summary>
/// A DNS stub for the `resolvers` section: an A or AAAA question to every nameserver of the section
/// at once (HAProxy's way), up to `resolve_retries` tries `timeout retry` apart, the first valid
/// answer winning. Each query has a random ID (from the OS's CSPRNG) and its own connected UDP
/// socket, so a random source port and only the nameserver's packets; anything that is not an
/// answer to that ID and question is dropped and the wait goes on. A truncated answer is asked
/// again over TCP. No recursion and no cache of its own: the nameservers do that, as with HAProxy.
/// Nothing here blocks a thread, holds a lock, or lets an exception out.
/// </summary>
internal static class DnsClient
{
    public static async Task<DnsResult> ResolveAsync(string name, ushort qtype, IReadOnlyList<DnsServer> nameservers,
        int retries, int timeoutRetryMs, int payloadSize, CancellationToken stop)
    {
        if (nameservers.Count == 0) return new(DnsStatus.Other, [], null);
        var qname = DnsMessage.EncodeName(name);
        if (qname is null) return new(DnsStatus.Other, [], null);
        var worst = DnsStatus.Timeout;
        for (int attempt = 0; attempt < Math.Max(1, retries) && !stop.IsCancellationRequested; attempt++)
        {
            long tryStart = Environment.TickCount64;
            using var tryEnd = CancellationTokenSource.CreateLinkedTokenSource(stop);
            tryEnd.CancelAfter(Math.Max(1, timeoutRetryMs));
            var pending = new List<Task<(DnsServer Server, DnsAnswer Answer)>>(nameservers.Count);
            foreach (var ns in nameservers) pending.Add(QueryAsync(ns, qname, qtype, payloadSize, tryEnd.Token));
            bool definite = true;
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny(pending);
                pending.Remove(done);
                var (server, answer) = await done;   // QueryAsync never throws
                if (answer.Status == DnsStatus.Valid && answer.Addresses.Length > 0)
                {
                    tryEnd.Cancel();                      // the others are not needed
                    await Task.WhenAll(pending);
                    return new(DnsStatus.Valid, answer.Addresses, server);
                }
                worst = Worse(worst, answer.Status);
                if (answer.Status is not (DnsStatus.Nx or DnsStatus.Valid)) definite = false;
            }
            // Every nameserver said the name has no address (NXDOMAIN, or no record of this type): that is the answer.
            if (definite) return new(worst, [], null);
            // Otherwise wait out `timeout retry` before the next try, as HAProxy spaces its queries.
            long left = timeoutRetryMs - (Environment.TickCount64 - tryStart);
            if (left > 0 && attempt + 1 < retries)
            {
                try { await Task.Delay((int)left, stop); }
                catch (OperationCanceledException) { break; }
            }
        }
        return new(worst, [], null);
    }

    /// <summary>
    /// Which failure to report when no nameserver gave addresses: a name that does not exist (or
    /// has no record of this type: Valid with no address, HAProxy's "no expected record") beats a
    /// refusal, which beats any other error, which beats silence.
    /// </summary>
    private static DnsStatus Worse(DnsStatus sofar, DnsStatus now)
    {
        static int Rank(DnsStatus s) => s switch { DnsStatus.Valid => 5, DnsStatus.Nx => 4, DnsStatus.Refused => 3, DnsStatus.Other => 2, _ => 1 };
        return Rank(now) > Rank(sofar) ? now : sofar;
    }

    /// <summary>One query to one nameserver over UDP (then TCP if truncated); never throws.</summary>
    private static async Task<(DnsServer, DnsAnswer)> QueryAsync(DnsServer ns, byte[] qname, ushort qtype, int payloadSize, CancellationToken cancel)
    {
        ushort id = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
        var query = DnsMessage.BuildQuery(id, NameText(qname), qtype, payloadSize);
        if (query is null) return (ns, new DnsAnswer(DnsStatus.Other, []));
        DnsAnswer? malformed = null;
        try
        {
            using var socket = new Socket(ns.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            // Connected: the kernel drops datagrams from anyone but the nameserver, and an ICMP
            // port-unreachable comes back as "connection refused".
            await socket.ConnectAsync(ns.EndPoint, cancel);
            await socket.SendAsync(query, SocketFlags.None, cancel);
            var buffer = new byte[Math.Clamp(payloadSize, 512, 65535)];
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel);
                if (DnsMessage.Parse(buffer.AsSpan(0, n), id, qname, qtype) is not { } answer) continue;   // not ours
                if (answer.Status == DnsStatus.Other && !answer.Truncated)
                {
                    // Broken (or forged with our ID): a well-formed answer may still follow within the try.
                    malformed = answer;
                    continue;
                }
                if (!answer.Truncated) return (ns, answer);
                return (ns, await QueryTcpAsync(ns, qname, qtype, payloadSize, cancel));
            }
        }
        catch (OperationCanceledException) { return (ns, malformed ?? new DnsAnswer(DnsStatus.Timeout, [])); }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused) { return (ns, new DnsAnswer(DnsStatus.Refused, [])); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { return (ns, new DnsAnswer(DnsStatus.Other, [])); }
    }

    /// <summary>The same question over TCP (RFC 7766: two-byte length before each message), for an answer too big for UDP.</summary>
    private static async Task<DnsAnswer> QueryTcpAsync(DnsServer ns, byte[] qname, ushort qtype, int payloadSize, CancellationToken cancel)
    {
        ushort id = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
        var query = DnsMessage.BuildQuery(id, NameText(qname), qtype, payloadSize)!;
        using var socket = new Socket(ns.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(ns.EndPoint, cancel);
        var framed = new byte[2 + query.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await socket.SendAsync(framed, SocketFlags.None, cancel);
        var lengthBytes = new byte[2];
        while (true)
        {
            if (!await ReadExactlyAsync(socket, lengthBytes, cancel)) return new DnsAnswer(DnsStatus.Other, []);
            int length = BinaryPrimitives.ReadUInt16BigEndian(lengthBytes);
            var message = new byte[length];
            if (!await ReadExactlyAsync(socket, message, cancel)) return new DnsAnswer(DnsStatus.Other, []);
            if (DnsMessage.Parse(message, id, qname, qtype) is { } answer)
                return answer.Truncated ? new DnsAnswer(DnsStatus.Other, []) : answer;
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancel)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancel);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    private static string NameText(byte[] wire)
    {
        var parts = new List<string>();
        int p = 0;
        while (p < wire.Length && wire[p] != 0)
        {
            parts.Add(System.Text.Encoding.ASCII.GetString(wire, p + 1, wire[p]));
            p += 1 + wire[p];
        }
        return string.Join('.', parts);
    }
}
