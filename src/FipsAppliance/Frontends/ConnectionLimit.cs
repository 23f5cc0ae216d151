namespace FipsAppliance.Frontends;

/// <summary>
/// A count of connections with a ceiling (`maxconn`); waiting for a slot happens before accept(),
/// so past the ceiling new connections wait in the kernel's backlog instead of being accepted and
/// dropped (HAProxy does the same). The ceiling may change (a reload with another global
/// `maxconn`); connections over a lowered ceiling finish, new ones wait until the count is under it.
/// </summary>
internal sealed class ConnectionLimit(int max)
{
    private int _count;
    private int _max = max;
    private readonly Lock _gate = new();
    // One signal for every waiter: only accept loops wait (one per listening socket), so waking
    // them all on a release costs little and keeps this free of a waiter queue.
    private TaskCompletionSource? _released;

    public int Max
    {
        get => Volatile.Read(ref _max);
        set { Volatile.Write(ref _max, value); Wake(); }
    }

    public int Count => Volatile.Read(ref _count);

    public bool TryAcquire()
    {
        while (true)
        {
            int c = Volatile.Read(ref _count);
            if (c >= Volatile.Read(ref _max)) return false;
            if (Interlocked.CompareExchange(ref _count, c + 1, c) == c) return true;
        }
    }

    public ValueTask WaitAsync(CancellationToken cancel) =>
        TryAcquire() ? ValueTask.CompletedTask : new ValueTask(WaitSlowAsync(cancel));

    private async Task WaitSlowAsync(CancellationToken cancel)
    {
        while (true)
        {
            Task released;
            lock (_gate)
            {
                if (TryAcquire()) return;
                released = (_released ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            await released.WaitAsync(cancel).ConfigureAwait(false);
        }
    }

    public void Release()
    {
        Interlocked.Decrement(ref _count);
        Wake();
    }

    private void Wake()
    {
        if (Volatile.Read(ref _released) is null) return;
        TaskCompletionSource? released;
        lock (_gate)
        {
            released = _released;
            _released = null;
        }
        released?.TrySetResult();
    }
}
