using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using FipsAppliance.Backends;
using FipsAppliance.Configuration;
using FipsAppliance.Fips;
using FipsAppliance.Frontends;
using FipsAppliance.Http;
using FipsAppliance.Logging;
using FipsAppliance.Runtime;
using FipsAppliance.Tests.BlackBox;
using FipsAppliance.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Tests.Http.Sessions;

/// <summary>
/// HTTP sessions in-process (Kestrel's in-memory transport idea): a listener on 127.0.0.1 whose
/// accepted sockets each run an <see cref="HttpSession"/> of one frontend and one backend whose
/// server is a <see cref="ScriptedUpstream"/>, on a model timer driven by a <see cref="ManualClock"/>.
/// Access lines and warnings are captured. Each fault is a fast test with no process and no sleep.
/// </summary>
internal sealed class SessionHarness : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Task _accepting;
    private readonly ConcurrentQueue<HttpSession> _sessions = new();
    private readonly List<Task> _running = [];
    private readonly TempDir _dir = new();
    private readonly ProcessContext _process;
    private readonly ILoggerFactory _accessLogs;

    public SessionHarness(ScriptedUpstream upstream, ProxyTimeouts? timeouts = null, TestCa? ca = null,
        Action<ProxySection>? frontend = null, Action<ProxySection>? backend = null, int? serverPort = null, bool accessLog = true)
    {
        Upstream = upstream;
        Timeouts = timeouts ?? new ProxyTimeouts { Client = 5000, Server = 5000, Connect = 5000 };
        var line = new ServerLine { Name = "s1", Address = "127.0.0.1", Port = serverPort ?? upstream.Port, Ssl = upstream.Tls };
        TlsPolicy? tls = null;
        if (upstream.Tls)
        {
            line.CaFile = (ca ?? throw new ArgumentNullException(nameof(ca))).WriteRoot(_dir.Path);
            line.Sni = $"str({ScriptedUpstream.HostName})";
            line.VerifyHost = ScriptedUpstream.HostName;
            tls = new TlsPolicies(new GlobalSection()).For(line);
        }
        var be = new ProxySection { Name = "be", Kind = ProxyKind.Backend, Mode = ProxyMode.Http, Retries = 0, Timeouts = Timeouts, Servers = [line] };
        backend?.Invoke(be);
        Backend = new Backend(be, new ListLogger(Warnings));
        Server = new Server(Backend, line, tls);
        Backend.Servers = [Server];
        // As ProxyRuntime starts them: the address init-addr found, then the start-up states.
        Server.SetInitialAddress(IPAddress.Loopback);
        Server.InitState();
        Backend.InitState();
        var fe = new ProxySection
        {
            Name = "fe", Kind = ProxyKind.Frontend, Mode = ProxyMode.Http, DefaultBackend = "be", Timeouts = Timeouts,
            Options = new ProxyOptions { HttpLog = true },
        };
        frontend?.Invoke(fe);
        // No ProxyRuntime: the session uses its frontend's config, routing and counters only.
        Frontend = new Frontend(fe, new Routing(fe, n => n == "be" ? Backend : null), runtime: null!);
        _process = new ProcessContext(new ListLogger(Warnings, line => FailLogging?.Invoke(line) == true), maxConn: 1000);
        _accessLogs = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(AccessLines)));
        Context = new ProxyContext(_process, accessLog ? AccessLog.To(_accessLogs, fe.Name) : AccessLog.None);
        Timer = new SessionTimer(Clock, now => Server.Pool.Purge(now));

        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = AcceptAsync();
    }

    public ScriptedUpstream Upstream { get; }
    public ProxyTimeouts Timeouts { get; }
    public ManualClock Clock { get; } = new();
    public SessionTimer Timer { get; }
    public Backend Backend { get; }
    public Server Server { get; }
    public Frontend Frontend { get; }
    internal ProxyContext Context { get; }
    public int Port { get; }
    public ConcurrentQueue<string> AccessLines { get; } = new();
    public ConcurrentQueue<string> Warnings { get; } = new();
    private readonly ConcurrentQueue<Exception> _crashes = new();

    /// <summary>A session's warning for which this is true throws from the logger: a bug inside a session, on purpose.</summary>
    public Func<string, bool>? FailLogging { get; set; }

    /// <summary>
    /// The exceptions sessions ended with (ProxyRuntime logs them), taken by a test that caused
    /// them on purpose; any left at dispose fail the test.
    /// </summary>
    public Exception[] TakeCrashes()
    {
        var all = new List<Exception>();
        while (_crashes.TryDequeue(out var e)) all.Add(e);
        return [.. all];
    }
    internal IReadOnlyCollection<HttpSession> Sessions => _sessions;
    /// <summary>The session of the first connection.</summary>
    internal HttpSession Session => _sessions.TryPeek(out var s) ? s : throw new InvalidOperationException("no session yet");

    public Task<RawHttp> ConnectAsync() => RawHttp.ConnectAsync(Port);

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            client.NoDelay = true;
            var session = new HttpSession(client, Frontend, Context, Timer);
            _sessions.Enqueue(session);
            Context.ConnectionOpened();
            Frontend.Counters.SessionOpened();
            lock (_running) _running.Add(RunAsync(session));
        }
    }

    private async Task RunAsync(HttpSession session)
    {
        try { await session.RunAsync(); }
        catch (Exception e) { _crashes.Enqueue(e); }
        finally
        {
            Frontend.Counters.SessionClosed();
            Context.ConnectionClosed();
        }
    }

    /// <summary>Waits (bounded, real time) until <paramref name="condition"/> holds.</summary>
    public static async Task Until(Func<bool> condition, string what, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline) throw new TimeoutException("waited in vain for: " + what);
            await Task.Delay(5);
        }
    }

    /// <summary>Waits until the first session waits on <paramref name="wait"/>.</summary>
    internal Task UntilWaiting(Wait wait) => Until(() => _sessions.TryPeek(out var s) && s.CurrentWait == wait, $"session waiting on {wait}");

    /// <summary>Waits until every session has ended.</summary>
    public async Task UntilSessionsEndAsync()
    {
        Task[] all;
        lock (_running) all = [.. _running];
        await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>The access lines so far, once <paramref name="count"/> have been written (bounded wait).</summary>
    public async Task<string[]> AccessLinesAsync(int count)
    {
        await Until(() => AccessLines.Count >= count, $"{count} access lines (have: {string.Join(" | ", AccessLines)})");
        return [.. AccessLines];
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _accepting;
        try { await UntilSessionsEndAsync(); } catch (TimeoutException) { }
        Timer.Dispose();
        _accessLogs.Dispose();
        _process.Dispose();
        _dir.Dispose();
        if (TakeCrashes() is { Length: > 0 } crashes) throw new AggregateException("sessions crashed", crashes);
    }

    private sealed class ListLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);
        public void Dispose() { }
    }

    private sealed class ListLogger(ConcurrentQueue<string> lines, Func<string, bool>? fail = null) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = formatter(state, exception);
            lines.Enqueue(line);
            if (fail?.Invoke(line) == true) throw new InvalidOperationException("test: the logger failed on: " + line);
        }
    }
}
