using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// `-c` finds the servers' start-up addresses as a start would, as `haproxy -c` does: a name that
/// cannot resolve fails the check (the systemd unit's ExecStartPre and ExecReload run it), not the
/// start or the reload after the check said valid. Both binaries, the same cfg.
/// </summary>
public class CheckCommandTests
{
    private static string Cfg(string serverParams) => $"""
        defaults
            mode http
            timeout client 5s
            timeout server 5s
            timeout connect 5s
        frontend fe
            bind 127.0.0.1:1
            default_backend be
        backend be
            server s1 no-such-host.invalid:443 {serverParams}

        """;

    private static async Task<ProcessResult> CheckAsync(Relay which, string cfg)
    {
        using var dir = new TempDir();
        var path = dir.File("check.cfg", cfg);
        return which == Relay.Ours
            ? await ProcessRunner.RunAsync(Repo.Binary, ["-c", "-f", path])
            : await ProcessRunner.RunAsync(RelayUnderTest.HaProxyBinary, ["-c", "-f", path]);
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task A_server_name_that_cannot_resolve_fails_the_check(Relay which)
    {
        var r = await CheckAsync(which, Cfg(""));
        await Assert.That(r.ExitCode).IsNotEqualTo(0).Because(r.All);
        await Assert.That(r.All).Contains("/check.cfg:10] : 'server be/s1' : could not resolve address 'no-such-host.invalid'.");
        await Assert.That(r.All).Contains("config : Failed to initialize server(s) addr.");
        await Assert.That(r.All).DoesNotContain("Configuration file is valid");
    }

    [Test]
    [Arguments(Relay.Ours)]
    [Arguments(Relay.HaProxy)]
    public async Task Init_addr_none_lets_the_check_pass_without_an_address(Relay which)
    {
        var r = await CheckAsync(which, Cfg("init-addr last,libc,none"));
        await Assert.That(r.ExitCode).IsEqualTo(0).Because(r.All);
        await Assert.That(r.StdOut).Contains("Configuration file is valid");
    }
}
