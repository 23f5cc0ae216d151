using System.Net.Sockets;
using FipsAppliance.Frontends;

namespace FipsAppliance.Tests.Lifecycle;

/// <summary>accept() failures are said at most once a second, with their count, and once more on recovery.</summary>
public class AcceptErrorsTests
{
    [Test]
    public async Task Says_the_first_failure_at_once_then_at_most_once_a_second_with_a_count()
    {
        long now = 10_000;
        var log = new ListLogger();
        var errors = new AcceptErrors(log, () => now);

        errors.Failed("fe", SocketError.TooManyOpenSockets, "Too many open files");
        for (int i = 0; i < 9; i++) { now += 100; errors.Failed("fe", SocketError.TooManyOpenSockets, "Too many open files"); }
        await Assert.That(log.Entries.Count).IsEqualTo(1);
        await Assert.That(log.Entries[0].Message).Contains("reached the file descriptor limit");
        await Assert.That(log.Entries[0].Message).Contains("1 time(s)");

        now += 100;   // a second after the first line
        errors.Failed("fe", SocketError.TooManyOpenSockets, "Too many open files");
        await Assert.That(log.Entries.Count).IsEqualTo(2);
        await Assert.That(log.Entries[1].Message).Contains("10 time(s)");

        now += 50;
        errors.Succeeded("fe");
        await Assert.That(log.Entries.Count).IsEqualTo(3);
        await Assert.That(log.Entries[2].Message).Contains("accept() works again after 11 failure(s)");
        errors.Succeeded("fe");
        await Assert.That(log.Entries.Count).IsEqualTo(3);
    }

    [Test]
    [Arguments(SocketError.ConnectionAborted)]
    [Arguments(SocketError.ConnectionReset)]
    [Arguments(SocketError.Interrupted)]
    public async Task A_connection_reset_in_the_backlog_is_not_a_listener_failure(SocketError error)
    {
        await Assert.That(AcceptErrors.IsTransient(error)).IsTrue();
    }

    [Test]
    public async Task Running_out_of_descriptors_is_a_listener_failure()
    {
        await Assert.That(AcceptErrors.IsTransient(SocketError.TooManyOpenSockets)).IsFalse();
        await Assert.That(AcceptErrors.IsTransient(SocketError.NoBufferSpaceAvailable)).IsFalse();
    }
}
