using System.Net.Sockets;
using System.Text;
using FipsAppliance.Tests.Infrastructure;
using static FipsAppliance.Tests.Http.Sessions.SessionBasicsTests;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>
/// A bug inside a session (an exception nobody expected) still ends the request the way HAProxy
/// ends an internal error: a 500 if the client has no byte of a response yet, a reset if it has,
/// and an access line with termination 'I'. The exception itself still ends the session.
/// </summary>
public class InternalErrorTests
{
    [Test]
    public async Task A_bug_before_the_response_answers_500_and_closes()
    {
        var ca = new TestCa();
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(), ca);
        await using var h = new SessionHarness(up, ca: ca);
        // The connect path's certificate check throws what Connector does not expect.
        h.Server.Tls!.Options.RemoteCertificateValidationCallback = (_, _, _, _) => throw new InvalidOperationException("test: a bug in the handshake");
        await using var client = await h.ConnectAsync();
        await client.SendAsync(Get("/bug"));

        var r = await client.ReadFinalResponseAsync();
        await Assert.That(r?.Status).IsEqualTo(500);
        await Assert.That(r!.Complete).IsTrue();
        await Assert.That(r.Header("connection")).IsEqualTo("close");
        await Assert.That(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5))).IsTrue();
        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains(" 500 ");
        await Assert.That(lines[0]).Contains(" ID-- ");
        await h.UntilSessionsEndAsync();
        var crashes = h.TakeCrashes();
        await Assert.That(crashes.Length).IsEqualTo(1);
        await Assert.That(crashes[0].Message).IsEqualTo("test: a bug in the handshake");
        await Assert.That(h.Frontend.Counters.CurrentSessions).IsEqualTo(0L);
    }

    [Test]
    public async Task A_bug_after_the_response_began_resets_the_client()
    {
        await using var up = new ScriptedUpstream(async c =>
        {
            await c.ReadRequestAsync();
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + new string('x', 10));
            await c.CloseAsync();
        });
        await using var h = new SessionHarness(up);
        h.FailLogging = line => line.Contains("in the middle of the response", StringComparison.Ordinal);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(System.Net.IPAddress.Loopback, h.Port);
        await client.SendAsync(Encoding.ASCII.GetBytes(Get("/bug")));

        // The head and the 10 bytes arrive, then a reset: never a clean end that could pass for a response.
        var received = new MemoryStream();
        var buffer = new byte[4096];
        SocketError ended = SocketError.Success;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int n;
            while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0) received.Write(buffer, 0, n);
        }
        catch (SocketException e) { ended = e.SocketErrorCode; }
        await Assert.That(Encoding.ASCII.GetString(received.ToArray())).StartsWith("HTTP/1.1 200 OK\r\n");
        await Assert.That(ended).IsEqualTo(SocketError.ConnectionReset);
        var lines = await h.AccessLinesAsync(1);
        await Assert.That(lines[0]).Contains(" ID-- ");
        await h.UntilSessionsEndAsync();
        await Assert.That(h.TakeCrashes().Length).IsEqualTo(1);
    }
}
