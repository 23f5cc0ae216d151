using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>
/// Issue 9's steady state: 1 KiB POSTs on keep-alive client connections, each relayed over its
/// session's kept server connection, allocate (next to) nothing per request. Every byte the process
/// allocates counts, so the test runs alone, and its clients and server are blocking sockets on
/// threads of their own that allocate nothing per request themselves. The sessions' continuations
/// run inline on the socket event threads, as in the daemon (<see cref="Infrastructure.TestProcess"/>),
/// and a few connections at once keep both event threads busy, so a request that begins on one
/// and ends on the other does so here too.
/// </summary>
[NotInParallel]
public class SteadyStateAllocationTests
{
    private const int BodyBytes = 1024;
    private const int Connections = 4, WarmUp = 500, Measured = 2000;

    /// <summary>
    /// With an async method per wait, a request here allocated 34–79 bytes (3 runs on 2 cores: the
    /// boxes PoolingAsyncValueTaskMethodBuilder's per-thread cache misses when the wait begins on
    /// one event thread and ends on the other); with the connections' reusable reads, 0.5. The
    /// bound leaves the rest of the process (the test runner, the model timer) 64 KB of noise.
    /// </summary>
    private const double BoundBytesPerRequest = 8;

    // No hop-by-hop field: both heads go through unchanged, so each side knows the bytes to expect.
    private static readonly byte[] Request = Encoding.ASCII.GetBytes(
        $"POST /api/v2/series HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\nContent-Length: {BodyBytes}\r\n\r\n" +
        new string('x', BodyBytes));
    private static readonly byte[] Response = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"u8.ToArray();

    [Test]
    public async Task A_keep_alive_request_over_the_kept_server_connection_allocates_nothing()
    {
        await using var up = new ScriptedUpstream(c => Task.Factory.StartNew(() => Answer(c.Stream), TaskCreationOptions.LongRunning));
        // No log target: the access line is the log writer's business, measured on its own.
        await using var h = new SessionHarness(up, accessLog: false);
        // Connected without async: a socket that never went async stays blocking, whereas .NET
        // emulates a blocking receive on an async one with an operation object per wait.
        var clients = new Socket[Connections];
        for (int i = 0; i < Connections; i++)
        {
            clients[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            clients[i].Connect(IPAddress.Loopback, h.Port);
        }
        try
        {
            await RunAllAsync(clients, WarmUp);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            await RunAllAsync(clients, Measured);
            long after = GC.GetTotalAllocatedBytes(precise: true);
            double perRequest = (after - before) / (double)(Connections * Measured);

            await Assert.That(up.Connections).IsEqualTo(Connections);
            await Assert.That(h.Frontend.Counters.Requests).IsEqualTo((long)(Connections * (WarmUp + Measured)));
            await Assert.That(perRequest).IsLessThan(BoundBytesPerRequest);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    /// <summary>Each connection's requests one after the other, the connections at once, on threads of their own.</summary>
    private static Task RunAllAsync(Socket[] clients, int requests) => Task.WhenAll(clients.Select(c => Task.Factory.StartNew(() =>
    {
        var response = new byte[Response.Length];
        for (int i = 0; i < requests; i++) Exchange(c, response);
    }, TaskCreationOptions.LongRunning)));

    private static void Exchange(Socket client, byte[] response)
    {
        client.Send(Request);
        int read = 0;
        while (read < response.Length)
        {
            int n = client.Receive(response.AsSpan(read));
            if (n == 0) throw new IOException("the relay closed the connection");
            read += n;
        }
        if (!response.AsSpan().SequenceEqual(Response)) throw new InvalidDataException("unexpected response: " + Encoding.ASCII.GetString(response));
    }

    /// <summary>The server: reads each request whole, answers it; blocking, so nothing is allocated per request.</summary>
    private static void Answer(Stream stream)
    {
        var request = new byte[Request.Length];
        while (stream.ReadAtLeast(request, request.Length, throwOnEndOfStream: false) == request.Length)
            stream.Write(Response);
    }
}

