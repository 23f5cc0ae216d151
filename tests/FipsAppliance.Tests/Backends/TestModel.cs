using System.Collections.Concurrent;
using System.Net;
using FipsAppliance.Backends;
using FipsAppliance.Configuration;
using Microsoft.Extensions.Logging;

namespace FipsAppliance.Tests.Backends;

/// <summary>An ILogger that keeps the lines, with HAProxy's stderr tags, for exact assertions.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>The lines as the daemon's stderr shows them, without the pid: "[WARNING] Server b/s is DOWN, ...".</summary>
    public string Text => string.Join("\n", _lines);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string tag = logLevel switch
        {
            LogLevel.Critical or LogLevel.Error => "[ALERT]",
            LogLevel.Warning => "[WARNING]",
            _ => "[NOTICE]",
        };
        _lines.Enqueue(tag + " " + formatter(state, exception));
    }
}

/// <summary>Backends and servers built by hand, as ProxyRuntime builds them from a cfg.</summary>
internal static class TestModel
{
    public static ServerLine Line(string name, string address = "10.0.0.1", int port = 443, bool check = true, int rise = 2, int fall = 3,
        int inter = 2000, string? template = null, int line = 10) => new()
    {
        Name = name, Address = address, Port = port, Check = check, Rise = rise, Fall = fall, Inter = inter,
        Template = template, File = "t.cfg", Line = line,
    };

    /// <summary>A backend whose servers have their start-up addresses and state (as InitAddr leaves them).</summary>
    public static Backend Backend(ListLogger log, string name, params ServerLine[] lines) =>
        Backend(log, name, new ProxyTimeouts(), lines);

    public static Backend Backend(ListLogger log, string name, ProxyTimeouts timeouts, params ServerLine[] lines)
    {
        var backend = new Backend(new ProxySection { Name = name, Kind = ProxyKind.Backend, Timeouts = timeouts }, log);
        backend.Servers = [.. lines.Select(l => new Server(backend, l, null))];
        return backend;
    }

    public static void Start(Backend backend)
    {
        foreach (var s in backend.Servers)
            if (IPAddress.TryParse(s.Config.Address, out var ip)) s.SetInitialAddress(ip);
        foreach (var s in backend.Servers) s.InitState();
        backend.InitState();
    }
}
