using System.Net;
using System.Net.Sockets;
using FipsAppliance.Configuration;
using FipsAppliance.Runtime;

namespace FipsAppliance.Frontends;

/// <summary>An address:port a listening socket is bound to: how listeners are kept across a reload.</summary>
internal readonly record struct BindKey(IPAddress Address, int Port)
{
    public override string ToString() =>
        (Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString()) + ":" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// One listening socket of the process and its accept loop. It belongs to the process, not to a
/// configuration: a reload that keeps the address keeps the socket (no connection is refused while
/// the new configuration takes over) and only points it at the new model's frontend. Accepted
/// connections always go to the frontend current at accept time.
/// </summary>
internal sealed class Listener : IDisposable
{
    private readonly Socket _socket;
    private readonly ProcessContext _process;
    private readonly CancellationTokenSource _stop = new();
    private Frontend? _frontend;
    // Cancelled when the listener is pointed at another frontend, so that a wait for a slot of the
    // old (draining) frontend gives way to the new one.
    private CancellationTokenSource _frontendChanged = new();
    private Task? _acceptLoop;

    private Listener(BindKey key, Socket socket, ProcessContext process)
    {
        Key = key;
        _socket = socket;
        _process = process;
    }

    public BindKey Key { get; }
    public Frontend? Frontend => Volatile.Read(ref _frontend);

    /// <summary>The address a `bind` line names, resolved (host names through libc, at bind time like HAProxy).</summary>
    public static bool TryResolve(BindLine b, string frontend, out BindKey key, out string? error)
    {
        error = null;
        IPAddress address;
        if (b.Address is "" or "*" or "0.0.0.0") address = IPAddress.Any;
        else if (b.Address is "::") address = IPAddress.IPv6Any;
        else if (IPAddress.TryParse(b.Address.Trim('[', ']'), out var ip)) address = ip;
        else
        {
            try { address = Dns.GetHostAddresses(b.Address)[0]; }
            catch (Exception e) when (e is SocketException or IndexOutOfRangeException)
            {
                key = default;
                error = $"Starting frontend {frontend}: cannot resolve bind address '{b.Address}' [{b.File}:{b.Line}]";
                return false;
            }
        }
        key = new BindKey(address, b.Port);
        return true;
    }

    /// <summary>Binds and listens (not accepting yet). On failure returns null and HAProxy's message.</summary>
    public static Listener? Open(BindKey key, string frontend, ProcessContext process, out string? error)
    {
        error = null;
        Socket? socket = null;
        try
        {
            // Inside the try: socket() itself fails when the process is out of descriptors (EMFILE).
            socket = new Socket(key.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            // Like HAProxy: SO_REUSEADDR so a restart does not wait out TIME_WAIT, but no
            // SO_REUSEPORT, so a port another process holds is an error, not a silent share.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (key.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.Bind(new IPEndPoint(key.Address, key.Port));
            socket.Listen(1024);
        }
        catch (SocketException e)
        {
            socket?.Dispose();
            string why = e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "Address already in use",
                SocketError.AccessDenied => "Permission denied",
                SocketError.AddressNotAvailable => "Cannot assign requested address",
                SocketError.TooManyOpenSockets => "Too many open files",
                _ => e.Message,
            };
            string shown = key.Address.Equals(IPAddress.IPv6Any) ? ":::" + key.Port : key.ToString();
            error = $"Starting frontend {frontend}: cannot bind socket ({why}) [{shown}]";
            return null;
        }
        return new Listener(key, socket, process);
    }

    /// <summary>Points the listener at a (new) frontend; the first call starts accepting.</summary>
    public void Serve(Frontend frontend)
    {
        var previous = Interlocked.Exchange(ref _frontend, frontend);
        if (previous is null)
        {
            _acceptLoop = Task.Run(AcceptLoopAsync);
            return;
        }
        if (previous == frontend) return;
        var changed = Interlocked.Exchange(ref _frontendChanged, new CancellationTokenSource());
        changed.Cancel();
        changed.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await AcceptUntilStoppedAsync();
            }
            catch (Exception e)
            {
                // A listener must not die silently on a bug: say it loudly and keep accepting.
                _process.AcceptErrors.Crashed(Key.ToString(), e);
                try { await Task.Delay(AcceptErrors.RetryMilliseconds, _stop.Token); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private async Task AcceptUntilStoppedAsync()
    {
        var stop = _stop.Token;
        var slots = _process.Slots;
        while (!stop.IsCancellationRequested)
        {
            // A process slot first (global maxconn, which also guards the file descriptors), then
            // one of the frontend's: past either ceiling connections wait in the kernel's backlog.
            try { await slots.WaitAsync(stop); }
            catch (OperationCanceledException) { return; }
            var frontend = await TakeFrontendSlotAsync(stop);
            if (frontend is null)
            {
                slots.Release();
                if (stop.IsCancellationRequested) return;
                continue;   // the frontend changed while waiting: wait for the new one's slot
            }
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException
                                      or SocketException { SocketErrorCode: SocketError.OperationAborted })
            {
                frontend.Limit?.Release();
                slots.Release();
                return;
            }
            catch (SocketException e)
            {
                frontend.Limit?.Release();
                slots.Release();
                if (AcceptErrors.IsTransient(e.SocketErrorCode)) continue;
                _process.AcceptErrors.Failed(frontend.Name, e.SocketErrorCode, e.Message);
                // Retry later, never at once: an fd comes back when a connection closes, and a
                // tight retry loop would only burn CPU and fill the log (issue 7).
                try { await Task.Delay(AcceptErrors.RetryMilliseconds, stop); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            _process.AcceptErrors.Succeeded(frontend.Name);

            // A reload may have switched frontends during accept(): the connection goes to the
            // current one, whose slot it then needs instead.
            var current = Volatile.Read(ref _frontend)!;
            if (current != frontend)
            {
                frontend.Limit?.Release();
                frontend = current;
                if (frontend.Limit is { } limit)
                {
                    try { await limit.WaitAsync(stop); }
                    catch (OperationCanceledException)
                    {
                        client.Dispose();
                        slots.Release();
                        return;
                    }
                }
            }
            frontend.Runtime.StartSession(frontend, client);
        }
    }

    /// <summary>A slot of the current frontend; null when stopping or when the frontend changed meanwhile.</summary>
    private async ValueTask<Frontend?> TakeFrontendSlotAsync(CancellationToken stop)
    {
        var frontend = Volatile.Read(ref _frontend)!;
        if (frontend.Limit is not { } limit || limit.TryAcquire()) return frontend;
        var changed = Volatile.Read(ref _frontendChanged);
        if (Volatile.Read(ref _frontend) != frontend) return null;
        CancellationTokenSource linked;
        try { linked = CancellationTokenSource.CreateLinkedTokenSource(stop, changed.Token); }
        catch (ObjectDisposedException) { return null; }
        using (linked)
        {
            try
            {
                await limit.WaitAsync(linked.Token);
                return frontend;
            }
            catch (OperationCanceledException) { return null; }
        }
    }

    /// <summary>
    /// Stops accepting and closes the socket; connections already accepted go on. Connections the
    /// kernel completed but the loop had not accepted yet (clients that already sent their
    /// request) are taken first and served like the others, instead of being reset by the close.
    /// </summary>
    public void Dispose()
    {
        _stop.Cancel();
        if (Volatile.Read(ref _frontend) is { } frontend) AcceptBacklog(frontend);
        _socket.Dispose();
    }

    private void AcceptBacklog(Frontend frontend)
    {
        try
        {
            _socket.Blocking = false;
            while (true)
            {
                if (!_process.Slots.TryAcquire()) return;
                if (frontend.Limit is { } limit && !limit.TryAcquire())
                {
                    _process.Slots.Release();
                    return;
                }
                Socket client;
                try
                {
                    client = _socket.Accept();
                }
                catch (SocketException)
                {
                    // Nothing (more) waiting: EAGAIN.
                    frontend.Limit?.Release();
                    _process.Slots.Release();
                    return;
                }
                frontend.Runtime.StartSession(frontend, client);
            }
        }
        catch (ObjectDisposedException) { }
    }

    /// <summary>Waits (bounded) for the accept loop to notice it was stopped.</summary>
    public Task Stopped => _acceptLoop ?? Task.CompletedTask;
}
