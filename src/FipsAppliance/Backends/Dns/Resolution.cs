using System.Net;

namespace FipsAppliance.Backends.Dns;

/// <summary>
/// One name kept resolved for the servers that share it (the slots of a `server-template`, or one
/// `server`), with HAProxy's rules (src/resolvers.c, src/server.c snr_update_srv_status):
/// - a valid answer refreshes the list of addresses; an address missing from answers stays in the
///   list for `hold obsolete`; each server keeps its address while it is in the list, and a server
///   without one takes the first address no other server of the group has, else goes to
///   maintenance ("No IP for server ");
/// - a failed resolution changes nothing until the last valid answer is older than the `hold` of
///   the failure (nx, refused, timeout, other): the servers keep the last good addresses until then,
///   then go to maintenance by resolution, keeping their address for when the name resolves again.
/// Resolved again every `hold valid` (HAProxy: every `timeout resolve`; see README), every
/// `timeout resolve` while failing, and at once when a layer-4 check failure asks and the last
/// answer is not fresh.
/// </summary>
internal sealed class Resolution
{
    private readonly ResolversRuntime _owner;
    private readonly List<(IPAddress Address, long LastSeen)> _items = [];
    private long _lastValidTicks = Environment.TickCount64;
    private long _lastResolutionTicks;
    private volatile bool _lastValid;
    private bool _failureLogged;
    private TaskCompletionSource _wake = NewWake();

    public Resolution(ResolversRuntime owner, string fqdn, bool preferIpv6, Server[] servers)
    {
        _owner = owner;
        Fqdn = fqdn;
        PreferIpv6 = preferIpv6;
        Servers = servers;
    }

    public string Fqdn { get; }
    public bool PreferIpv6 { get; }
    public Server[] Servers { get; }

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// A layer-4 check failure asks for a fresh answer (HAProxy's resolv_trigger_resolution): at once,
    /// unless the last answer was valid and is younger than `hold valid`.
    /// </summary>
    public void Trigger()
    {
        long age = Environment.TickCount64 - Interlocked.Read(ref _lastResolutionTicks);
        if (_lastValid && age < _owner.Config.Hold.Valid) return;
        Volatile.Read(ref _wake).TrySetResult();
    }

    /// <summary>Keeps the name resolved until <paramref name="stop"/>; nothing a nameserver sends ends it.</summary>
    internal async Task LoopAsync(CancellationToken stop)
    {
        var c = _owner.Config;
        while (!stop.IsCancellationRequested)
        {
            int period = _lastValid ? Math.Max(c.Hold.Valid, c.TimeoutResolve) : c.TimeoutResolve;
            long wait = Interlocked.Read(ref _lastResolutionTicks) + Math.Max(100, period) - Environment.TickCount64;
            if (wait > 0)
            {
                var wake = Volatile.Read(ref _wake).Task;
                using var sleep = CancellationTokenSource.CreateLinkedTokenSource(stop);
                await Task.WhenAny(Task.Delay(TimeSpan.FromMilliseconds(wait), sleep.Token), wake);
                sleep.Cancel();
            }
            if (stop.IsCancellationRequested) return;
            Volatile.Write(ref _wake, NewWake());
            await ResolveOnceAsync(stop);
        }
    }

    /// <summary>One resolution and its effect on the servers; logs (once per run of failures) and never throws.</summary>
    internal async Task ResolveOnceAsync(CancellationToken stop)
    {
        try
        {
            var c = _owner.Config;
            ushort first = PreferIpv6 ? DnsMessage.TypeAaaa : DnsMessage.TypeA;
            var r = await DnsClient.ResolveAsync(Fqdn, first, _owner.Nameservers, c.ResolveRetries, c.TimeoutRetry, c.AcceptedPayloadSize, stop);
            if (r.Status == DnsStatus.Valid && r.Addresses.Length == 0)
            {
                // resolve-prefer is a preference: the other family when the preferred one has no record.
                ushort other = PreferIpv6 ? DnsMessage.TypeA : DnsMessage.TypeAaaa;
                r = await DnsClient.ResolveAsync(Fqdn, other, _owner.Nameservers, c.ResolveRetries, c.TimeoutRetry, c.AcceptedPayloadSize, stop);
            }
            if (stop.IsCancellationRequested) return;
            Interlocked.Exchange(ref _lastResolutionTicks, Environment.TickCount64);
            if (r.Status == DnsStatus.Valid && r.Addresses.Length > 0)
            {
                _lastValid = true;
                if (_failureLogged) ResolversLog.Resolves(_owner.Log, _owner.Name, Fqdn);
                _failureLogged = false;
                Apply(r.Addresses, $"{_owner.Name}/{r.AnsweredBy?.Name}");
            }
            else
            {
                // A valid answer without an address of either family is HAProxy's "no expected record": other.
                var status = r.Status == DnsStatus.Valid ? DnsStatus.Other : r.Status;
                _lastValid = false;
                if (!_failureLogged) ResolversLog.Failing(_owner.Log, _owner.Name, Fqdn, Reason(status));
                _failureLogged = true;
                Fail(status);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (Exception e)
        {
            // A bug, not a DNS answer: say so once per run and keep resolving.
            Interlocked.Exchange(ref _lastResolutionTicks, Environment.TickCount64);
            _lastValid = false;
            if (!_failureLogged) ResolversLog.Crashed(_owner.Log, _owner.Name, Fqdn, e.GetType().Name, e.Message);
            _failureLogged = true;
        }
    }

    /// <summary>A valid answer: refresh the address list, then give each server its address.</summary>
    internal void Apply(IReadOnlyList<IPAddress> addresses, string answeredBy)
    {
        long now = Environment.TickCount64;
        Interlocked.Exchange(ref _lastValidTicks, now);
        foreach (var a in addresses)
        {
            int i = _items.FindIndex(x => x.Address.Equals(a));
            if (i >= 0) _items[i] = (a, now);
            else _items.Add((a, now));
        }
        int obsolete = _owner.Config.Hold.Obsolete;
        _items.RemoveAll(x => now - x.LastSeen > obsolete);

        // Addresses a server keeps (still listed) are taken; the others are free for servers without one.
        var taken = new HashSet<IPAddress>();
        foreach (var s in Servers)
            if (s.EndPoint?.Address is { } a && Listed(a)) taken.Add(a);
        bool first = true;
        foreach (var s in Servers)
        {
            var current = s.EndPoint?.Address;
            if (current is not null && Listed(current))
            {
                if (s.ResolutionMaintenance) s.SetAddressFromDns(current, answeredBy, Fqdn);
                continue;
            }
            IPAddress? free = null;
            foreach (var item in _items)
            {
                if (taken.Contains(item.Address)) continue;
                free = item.Address;
                break;
            }
            if (free is null)
            {
                if (current is not null || !s.ResolutionMaintenance) s.EnterResolutionMaintenance("No IP for server ", clearAddress: true);
                continue;
            }
            taken.Add(free);
            // HAProxy credits the nameserver for the first server it updates, the cache for the others.
            s.SetAddressFromDns(free, first ? answeredBy : "DNS cache", Fqdn);
            first = false;
        }
    }

    private bool Listed(IPAddress a)
    {
        foreach (var item in _items) if (item.Address.Equals(a)) return true;
        return false;
    }

    /// <summary>A failed resolution: nothing until the last valid answer is older than the hold of this failure.</summary>
    internal void Fail(DnsStatus status)
    {
        var hold = _owner.Config.Hold;
        int holdMs = status switch
        {
            DnsStatus.Nx => hold.Nx,
            DnsStatus.Refused => hold.Refused,
            DnsStatus.Timeout => hold.Timeout,
            _ => hold.Other,
        };
        if (Environment.TickCount64 - Interlocked.Read(ref _lastValidTicks) <= holdMs) return;
        foreach (var s in Servers) s.EnterResolutionMaintenance(Reason(status), clearAddress: false);
    }

    /// <summary>HAProxy's words for why a server went to maintenance by resolution.</summary>
    internal static string Reason(DnsStatus status) => status switch
    {
        DnsStatus.Nx => "DNS NX status",
        DnsStatus.Refused => "DNS refused status",
        DnsStatus.Timeout => "DNS timeout status",
        _ => "unspecified DNS error",
    };
}
