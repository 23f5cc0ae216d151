using FipsAppliance.Fips;
using FipsAppliance.Configuration;

namespace FipsAppliance.Backends.Health;

/// <summary>
/// The health checks of one live model: one <see cref="HealthCheck"/> per server with `check`, all
/// driven by one <see cref="CheckScheduler"/>. Belongs to the model (a reload builds another, this
/// one stops with <see cref="Dispose"/>); nothing here is static.
/// </summary>
internal sealed class HealthChecks : IDisposable
{
    /// <summary>HAProxy's SRV_CHK_INTER_THRES: intervals below it do not set the start-up spread.</summary>
    private const int SpreadThresholdMs = 1000;

    private readonly List<HealthCheck> _checks = [];
    private readonly CheckScheduler _scheduler;
    private readonly CancellationTokenSource _stop = new();
    private readonly int _spreadPercent;
    private bool _started;

    public HealthChecks(IReadOnlyList<Backend> backends, GlobalSection global, TlsPolicies tls, TimeProvider? time = null)
    {
        _scheduler = new CheckScheduler(time);
        _spreadPercent = global.SpreadChecks;
        foreach (var backend in backends)
        {
            foreach (var server in backend.Servers)
            {
                if (!server.Config.Check) continue;
                var check = new HealthCheck(server, _scheduler, HealthCheck.TlsOptions(server, tls), _spreadPercent, _stop.Token);
                server.Check = check;
                _checks.Add(check);
            }
        }
    }

    public int Count => _checks.Count;

    /// <summary>
    /// Starts every check, spread over time as HAProxy's start_checks does: check number i of n
    /// first runs at i/n of the smallest interval (among those of 1 s or more), so 80 servers
    /// checked every 10 s start 125 ms apart and stay apart; `spread-checks` adds its jitter.
    /// </summary>
    public void Start()
    {
        if (_started || _checks.Count == 0) return;
        _started = true;
        int minInter = 0;
        foreach (var c in _checks)
        {
            int inter = c.Server.CurrentInterval();
            if (inter >= SpreadThresholdMs && (minInter == 0 || minInter > inter)) minInter = inter;
        }
        long now = Environment.TickCount64;
        for (int pos = 0; pos < _checks.Count; pos++)
        {
            var c = _checks[pos];
            long spread = c.Jitter(Math.Max(minInter, c.Server.CurrentInterval()));
            _scheduler.Schedule(c, now + spread * pos / _checks.Count);
        }
    }

    /// <summary>Stops every check: no new one starts, the ones in flight are cancelled and not counted.</summary>
    public void Dispose()
    {
        // _stop is not disposed: a check starting on another thread may still link to its token.
        _stop.Cancel();
        _scheduler.Dispose();
    }
}
