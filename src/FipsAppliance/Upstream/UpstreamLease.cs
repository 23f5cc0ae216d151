using FipsAppliance.Backends;
using FipsAppliance.Configuration;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Upstream;

/// <summary>
/// The server connections of one HTTP session (HAProxy's `http-reuse`): a request takes the
/// session's own connection if it is still clean, else an idle one of the server the balance
/// picks as the backend's `http-reuse` allows (safe, the default: not for the session's first
/// request; aggressive: for the first only one that carried two requests or more; always: any;
/// never: none), else a new one. After the request a clean connection stays with the session,
/// idle with its read armed; anything else is closed. When the session ends its connection goes
/// to the server's pool, which keeps it or not (<see cref="UpstreamPool.Return"/>).
///
/// "Clean" means provably so: the response was complete, nothing was buffered beyond it, and
/// nothing arrived while it was idle (<see cref="UpstreamConnection.GoIdle"/>).
/// </summary>
internal sealed class UpstreamLease(Func<long> nowMs)
{
    /// <summary>The session's own connection, idle between its requests.</summary>
    private UpstreamConnection? _kept;

    /// <summary>The connection leased to the request in progress.</summary>
    public UpstreamConnection? Current { get; private set; }

    /// <summary>
    /// A connection for a request to <paramref name="backend"/>. <see cref="ConnectResult.Retries"/>
    /// and the failure come from the connector; a reused connection reports no handshake.
    /// </summary>
    public async ValueTask<ConnectResult> AcquireAsync(Backend backend, bool firstRequest, ILogger log)
    {
        if (Current is not null) throw new InvalidOperationException("a connection is already leased");
        if (_kept is { } kept)
        {
            _kept = null;
            if (kept.Server.Backend == backend && kept.Server.IsUsable && kept.TryLease())
                return Leased(kept, reused: true);
            if (kept.IsIdle && kept.Server.Backend != backend) kept.Server.Pool.Return(kept, nowMs());
            else Close(kept);
        }
        // An idle connection has carried one request at least; "reused before" means two.
        int? minRequests = backend.Config.HttpReuse switch
        {
            HttpReuse.Never => null,
            HttpReuse.Safe => firstRequest ? null : 0,
            HttpReuse.Aggressive => firstRequest ? 2 : 0,
            _ => 0,
        };
        if (minRequests is int min && backend.PickServer() is { } server && server.Pool.TryTake(min) is { } idle)
            return Leased(idle, reused: true);

        var result = await Connector.ConnectAsync(backend, log, CancellationToken.None);
        if (result.Connection is { } fresh)
        {
            fresh.Server.Pool.Opened();
            Leased(fresh, reused: false);
        }
        return result;
    }

    private ConnectResult Leased(UpstreamConnection c, bool reused)
    {
        Current = c;
        Interlocked.Increment(ref c.Server.ActiveConnections);
        if (reused) Interlocked.Increment(ref c.Server.Counters.ConnectionReuses);
        return new ConnectResult(c, ConnectError.None, null, c.Server);
    }

    /// <summary>
    /// The request is over. <paramref name="clean"/>: the response was complete and nothing followed
    /// it, so the connection stays with the session (its read armed); otherwise it is closed.
    /// </summary>
    public void Release(bool clean)
    {
        var c = Current;
        if (c is null) return;
        Current = null;
        Interlocked.Decrement(ref c.Server.ActiveConnections);
        c.Requests++;
        if (clean && !c.IsDisposed && c.Length == 0)
        {
            c.ReleaseBuffer();
            c.GoIdle();
            _kept = c;
        }
        else Close(c);
    }

    /// <summary>The session ends: its idle connection goes to its server's pool, anything else is closed.</summary>
    public void EndSession()
    {
        Release(clean: false);
        if (_kept is { } kept)
        {
            _kept = null;
            if (kept.IsIdle) kept.Server.Pool.Return(kept, nowMs());
            else Close(kept);
        }
    }

    /// <summary>Closes the request's connection now (a timeout); the session's flow releases it afterwards.</summary>
    public void Abort() => Current?.Dispose();

    private static void Close(UpstreamConnection c)
    {
        c.ReleaseBuffer();
        c.Dispose();
        c.Server.Pool.Closed();
    }
}
