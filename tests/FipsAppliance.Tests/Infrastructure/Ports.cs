using System.Net;
using System.Net.Sockets;

namespace FipsAppliance.Tests.Infrastructure;

public static class Ports
{
    /// <summary>A free TCP port on 127.0.0.1 (asked of the kernel, released at once).</summary>
    public static int Free()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>A UDP port on 127.0.0.1 that nothing listens on (asked of the kernel, released at once): datagrams sent there are refused.</summary>
    public static int ClosedUdp()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>
    /// The start of a run of <paramref name="count"/> consecutive free ports (best effort, bounded tries),
    /// below the kernel's ephemeral range (32768-60999 by default): inside it, any test's outgoing
    /// connection could take a port between this check and the relay's bind (seen as a rare
    /// "Address already in use" in full runs). Ranges are handed out from one cursor for the whole
    /// test run, so two tests running at the same time never get overlapping ranges (random starts
    /// did collide: a relay then found another test's relay on one of its 16 ports).
    /// </summary>
    public static int FreeRange(int count)
    {
        const int Low = 10000;
        int high = EphemeralLow();
        for (int attempt = 0; attempt < 200; attempt++)
        {
            int start;
            lock (Gate)
            {
                if (s_next < Low || s_next + count > high) s_next = Low;
                start = s_next;
                s_next += count;
            }
            var held = new List<Socket>();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    held.Add(s);
                    s.Bind(new IPEndPoint(IPAddress.Loopback, start + i));
                }
                return start;
            }
            catch (SocketException) { }
            finally { foreach (var s in held) s.Dispose(); }
        }
        throw new InvalidOperationException("no free port range");
    }

    private static readonly Lock Gate = new();
    // A random first start, so two test runs on one machine (a local run beside CI) rarely meet.
    private static int s_next = Random.Shared.Next(10000, 20000);

    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (int.TryParse(range[0], out int low) && low > 12000) return low;
        }
        catch (IOException) { }
        return 32768;
    }
}
