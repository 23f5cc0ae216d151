using System.Net;
using System.Net.Sockets;
using FipsAppliance.Frontends;
using FipsAppliance.Logging;
using FipsAppliance.Upstream;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Runtime;

/// <summary>
/// What belongs to the process and outlives a reload: the lifecycle logger, the
/// process-wide connection slots (global `maxconn`, which guards the file descriptors every
/// model shares), %ac, the idle pools' descriptor thresholds, accept-error reporting, and the
/// stdout/stderr log writers. Owned by the daemon; models reach it through their <see cref="ProxyContext"/>.
/// </summary>
internal sealed class ProcessContext : IDisposable
{
    private readonly Dictionary<string, StreamSink> _streams = [];
    private readonly SinkDropReports _streamReports;
    private readonly Func<string, Stream>? _openStream;
    private long _active;

    public ProcessContext(ILogger log, int maxConn, Func<string, Stream>? openStream = null)
    {
        Log = log;
        Slots = new(maxConn);
        AcceptErrors = new(log);
        PoolFds = new(() => ActiveConnections);
        _streamReports = new(log);
        _openStream = openStream;
    }

    public ILogger Log { get; }
    /// <summary>Global maxconn: one slot per client connection of any model.</summary>
    public ConnectionLimit Slots { get; }
    public AcceptErrors AcceptErrors { get; }
    /// <summary>When idle server connections must give their descriptors back (`tune.pool-*-fd-ratio`), for every model.</summary>
    public PoolFdThresholds PoolFds { get; }

    /// <summary>Client connections open now, all models (HAProxy's %ac).</summary>
    public long ActiveConnections => Volatile.Read(ref _active);
    public void ConnectionOpened() => Interlocked.Increment(ref _active);
    public void ConnectionClosed() => Interlocked.Decrement(ref _active);

    /// <summary>The writer for `log stdout` / `log stderr`, one per stream for the whole process.</summary>
    public LogSink Stream(string name)
    {
        lock (_streams)
        {
            if (!_streams.TryGetValue(name, out var sink))
            {
                var stream = _openStream?.Invoke(name) ?? (name == "stderr" ? Console.OpenStandardError() : Console.OpenStandardOutput());
                sink = new StreamSink(name, stream);
                _streams[name] = sink;
            }
            return sink;
        }
    }

    /// <summary>
    /// Says how many access lines the stdout/stderr writers dropped: here, once for the process,
    /// since every live model writes through them (the first drop at once, then at most once a minute).
    /// </summary>
    public void ReportStreamDrops(bool force = false)
    {
        long now = Environment.TickCount64;
        lock (_streams)
        {
            foreach (var sink in _streams.Values) _streamReports.Report(sink, now, force);
        }
    }

    /// <summary>Waits (bounded) for the stdout/stderr writers to empty, before exit.</summary>
    public void FlushStreams(TimeSpan timeout)
    {
        lock (_streams) foreach (var s in _streams.Values) s.Flush(timeout);
    }

    public void Dispose()
    {
        lock (_streams) foreach (var s in _streams.Values) s.Dispose();
    }
}

/// <summary>
/// What every session of one live model shares: the loggers, the model's access log and stats,
/// and through <see cref="Process"/> the process-wide connection count. Sessions get it through
/// their constructor and read no statics, so two models alive together during a reload never
/// share state by accident.
/// </summary>
internal sealed class ProxyContext(ProcessContext process, AccessLog accessLog)
{
    public ProcessContext Process { get; } = process;
    public ILogger Log => Process.Log;
    public Http.StatsService? Stats { get; set; }
    public AccessLog AccessLog { get; } = accessLog;

    /// <summary>Client connections open now, all frontends of every model (HAProxy's %ac).</summary>
    public long ActiveConnections => Process.ActiveConnections;
    public void ConnectionOpened() => Process.ConnectionOpened();
    public void ConnectionClosed() => Process.ConnectionClosed();

    /// <summary>The client's address and port (HAProxy's %ci:%cp).</summary>
    public static (string Address, int Port) Peer(Socket s) => Address(s, remote: true);

    /// <summary>The address and port the client connected to (HAProxy's %fi:%fp).</summary>
    public static (string Address, int Port) Local(Socket s) => Address(s, remote: false);

    private static (string Address, int Port) Address(Socket s, bool remote)
    {
        try
        {
            if ((remote ? s.RemoteEndPoint : s.LocalEndPoint) is IPEndPoint ep)
                return (ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4().ToString() : ep.Address.ToString(), ep.Port);
        }
        catch (ObjectDisposedException) { }
        catch (SocketException) { }
        return ("-", 0);
    }
}
