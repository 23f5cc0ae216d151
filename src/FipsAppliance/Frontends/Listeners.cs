using FipsAppliance.Runtime;

namespace FipsAppliance.Frontends;

/// <summary>What a reload did to the listening sockets.</summary>
internal readonly record struct ListenerChange(int Kept, int Opened, int Closed);

/// <summary>
/// Every listening socket of the process, keyed by address:port: they belong to the process, not
/// to a configuration, so a reload that keeps an address keeps its socket. Taking a new
/// configuration is two steps so that nothing is half-applied: <see cref="Prepare"/> binds the
/// addresses the new model has and the process does not (any failure closes what it opened and
/// changes nothing), then <see cref="Commit"/> points every listener at its new frontend — kept
/// sockets never stop accepting — and closes the addresses the new model no longer has.
/// </summary>
internal sealed class Listeners(ProcessContext process) : IDisposable
{
    private readonly Dictionary<BindKey, Listener> _open = [];

    public sealed class Plan
    {
        internal readonly List<(Listener Listener, Frontend Frontend)> Serve = [];
        internal readonly List<Listener> Opened = [];
        internal readonly List<Listener> Close = [];
    }

    public int Count => _open.Count;

    /// <summary>Binds what <paramref name="model"/> needs and the process lacks. Null and HAProxy's message on failure.</summary>
    public Plan? Prepare(ProxyRuntime model, out string? error)
    {
        error = null;
        var plan = new Plan();
        var wanted = new Dictionary<BindKey, Frontend>();
        try
        {
            foreach (var frontend in model.FrontendList)
            {
                foreach (var bind in frontend.Config.Binds)
                {
                    if (!Listener.TryResolve(bind, frontend.Name, out var key, out error)
                        || !Bind(key, frontend, wanted, plan, ref error))
                    {
                        Abandon(plan);
                        return null;
                    }
                }
            }
        }
        catch
        {
            // Whatever failed, nothing this plan opened stays bound.
            Abandon(plan);
            throw;
        }
        foreach (var (key, listener) in _open)
            if (!wanted.ContainsKey(key)) plan.Close.Add(listener);
        return plan;
    }

    private bool Bind(BindKey key, Frontend frontend, Dictionary<BindKey, Frontend> wanted, Plan plan, ref string? error)
    {
        if (wanted.ContainsKey(key))
        {
            // Two binds of one configuration on the same address: what bind(2) says without SO_REUSEPORT.
            error = $"Starting frontend {frontend.Name}: cannot bind socket (Address already in use) [{key}]";
            return false;
        }
        wanted[key] = frontend;
        if (_open.TryGetValue(key, out var kept))
        {
            plan.Serve.Add((kept, frontend));
            return true;
        }
        var listener = Listener.Open(key, frontend.Name, process, out error);
        if (listener is null) return false;
        plan.Opened.Add(listener);
        plan.Serve.Add((listener, frontend));
        return true;
    }

    /// <summary>Switches to the prepared plan: from here on, accepted connections go to its frontends.</summary>
    public ListenerChange Commit(Plan plan)
    {
        foreach (var l in plan.Opened) _open[l.Key] = l;
        foreach (var (listener, frontend) in plan.Serve) listener.Serve(frontend);
        foreach (var l in plan.Close)
        {
            _open.Remove(l.Key);
            l.Dispose();
        }
        return new ListenerChange(plan.Serve.Count - plan.Opened.Count, plan.Opened.Count, plan.Close.Count);
    }

    /// <summary>A prepared plan that will not be applied (the reload failed later): closes what it opened.</summary>
    public static void Abandon(Plan plan)
    {
        foreach (var l in plan.Opened) l.Dispose();
    }

    /// <summary>Stops accepting everywhere (SIGTERM): new connections are refused, accepted ones go on.</summary>
    public void Dispose()
    {
        foreach (var l in _open.Values) l.Dispose();
        _open.Clear();
    }
}
