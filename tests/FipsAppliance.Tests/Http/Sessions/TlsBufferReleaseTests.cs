using FipsAppliance.Tests.Infrastructure;
using FipsAppliance.Upstream;
using static FipsAppliance.Tests.Http.Sessions.SessionBasicsTests;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>
/// An intake connection gives OpenSSL's record buffers back while no record is in flight
/// (SSL_MODE_RELEASE_BUFFERS, see <see cref="TlsBufferRelease"/>). The mode is read back from the
/// live SSL object, so a .NET that renames the field it is reached through fails here.
/// </summary>
public class TlsBufferReleaseTests
{
    [Test]
    public async Task A_pooled_intake_connection_has_its_record_buffers_released()
    {
        var ca = new TestCa();
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach(), ca);
        await using var h = new SessionHarness(up, ca: ca);
        await using (var client = await h.ConnectAsync())
        {
            // Larger than one TLS record each way, so both buffers were in use.
            await client.SendAsync($"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n{new string('a', 40_000)}");
            var r = await client.ReadFinalResponseAsync();
            await Assert.That(r?.Status).IsEqualTo(200);
        }
        await h.UntilSessionsEndAsync();
        await Assert.That(h.Server.Pool.IdleCount).IsEqualTo(1);
        using var idle = h.Server.Pool.TryTake();
        await Assert.That(idle?.Tls).IsNotNull();
        await Assert.That(TlsBufferRelease.IsSet(idle!.Tls!)).IsTrue();
    }
}
