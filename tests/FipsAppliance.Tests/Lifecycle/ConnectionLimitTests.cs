using FipsAppliance.Frontends;

namespace FipsAppliance.Tests.Lifecycle;

public class ConnectionLimitTests
{
    [Test]
    public async Task Waits_past_the_ceiling_until_a_slot_is_released()
    {
        var limit = new ConnectionLimit(2);
        await Assert.That(limit.TryAcquire()).IsTrue();
        await Assert.That(limit.TryAcquire()).IsTrue();
        await Assert.That(limit.TryAcquire()).IsFalse();
        var waiting = limit.WaitAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        await Assert.That(waiting.IsCompleted).IsFalse();
        limit.Release();
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.That(limit.Count).IsEqualTo(2);
    }

    [Test]
    public async Task A_lowered_ceiling_lets_connections_finish_and_holds_new_ones()
    {
        var limit = new ConnectionLimit(3);
        for (int i = 0; i < 3; i++) limit.TryAcquire();
        limit.Max = 1;
        limit.Release();
        await Assert.That(limit.TryAcquire()).IsFalse();
        limit.Release();
        limit.Release();
        await Assert.That(limit.TryAcquire()).IsTrue();
        await Assert.That(limit.TryAcquire()).IsFalse();
    }

    [Test]
    public async Task A_raised_ceiling_wakes_a_waiter()
    {
        var limit = new ConnectionLimit(1);
        limit.TryAcquire();
        var waiting = limit.WaitAsync(CancellationToken.None).AsTask();
        limit.Max = 2;
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.That(limit.Count).IsEqualTo(2);
    }

    [Test]
    public async Task A_cancelled_wait_takes_no_slot()
    {
        var limit = new ConnectionLimit(1);
        limit.TryAcquire();
        using var cts = new CancellationTokenSource();
        var waiting = limit.WaitAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.That(async () => await waiting).Throws<OperationCanceledException>();
        await Assert.That(limit.Count).IsEqualTo(1);
    }
}
