using FipsAppliance.Tests.BlackBox;

namespace FipsAppliance.Tests.Http.Sessions;

public class SessionBasicsTests
{
    internal static string Get(string path, string extra = "") => $"GET {path} HTTP/1.1\r\nHost: x\r\n{TestIntake.TestIdHeader}: {path}\r\n{extra}\r\n";

    [Test]
    public async Task Relays_requests_and_keeps_one_server_connection()
    {
        await using var up = new ScriptedUpstream(ScriptedUpstream.AnswerEach());
        await using var h = new SessionHarness(up);
        await using var c = await h.ConnectAsync();
        for (int i = 0; i < 3; i++)
        {
            await c.SendAsync(Get("/r" + i));
            var r = await c.ReadFinalResponseAsync();
            await Assert.That(r?.Status).IsEqualTo(200);
            await Assert.That(r!.Header("X-Answer-To")).IsEqualTo("/r" + i);
        }
        await Assert.That(up.Connections).IsEqualTo(1);
        var lines = await h.AccessLinesAsync(3);
        await Assert.That(lines[0]).Contains("fe be/s1 ");
        await Assert.That(lines[0]).Contains(" 200 ");
        await Assert.That(lines[0]).Contains(" ---- ");
        await Assert.That(lines[0]).EndsWith("\"GET /r0 HTTP/1.1\"");
    }
}
