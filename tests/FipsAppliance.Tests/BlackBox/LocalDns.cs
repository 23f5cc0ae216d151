using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.BlackBox;

/// <summary>
/// dnsmasq on 127.0.0.1:&lt;free port&gt; answering every `*.ddog-gov.com` name with 127.0.0.1 (or,
/// with <c>answer: false</c>, answering nothing useful: no upstream, no address), so the relay's
/// `resolvers` section never reaches the machine's DNS. Killed on dispose.
/// </summary>
public sealed class LocalDns : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/dnsmasq";
    private readonly RunningProcess _process;

    private readonly TempDir? _hosts;

    private LocalDns(RunningProcess process, int port, TempDir? hosts = null) { _process = process; Port = port; _hosts = hosts; }

    public int Port { get; }
    public string Output => _process.Output;

    public static async Task<LocalDns> StartAsync(bool answer = true)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: install dnsmasq-base (build.sh deps does)");
        for (int attempt = 0; ; attempt++)
        {
            var port = Ports.FreeRange(1);
            List<string> args =
            [
                "--no-daemon", "--conf-file=/dev/null", $"--port={port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--log-queries", "--log-facility=-",
                // root drops to `nobody` by default; staying root avoids depending on that user existing.
                "--user=root",
            ];
            if (answer) args.Add("--address=/ddog-gov.com/127.0.0.1");
            var process = new RunningProcess(Binary, args);
            if (await process.WaitForOutputAsync("started", TimeSpan.FromSeconds(5)) && !process.HasExited)
                return new LocalDns(process, port);
            var output = process.Output;
            await process.DisposeAsync();
            // The port was free for TCP when asked; UDP or a race can still take it: try another.
            if (attempt >= 3) throw new InvalidOperationException("dnsmasq did not start:\n" + output);
        }
    }

    /// <summary>
    /// dnsmasq answering from a hosts directory it watches (`--hostsdir`), so a test can change the
    /// records while it runs (<see cref="SetRecords"/>); names of ddog-gov.com it does not list are NXDOMAIN.
    /// </summary>
    public static async Task<LocalDns> StartAsync(IReadOnlyDictionary<string, string[]> records)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: install dnsmasq-base (build.sh deps does)");
        var hosts = new TempDir();
        Directory.CreateDirectory(hosts.Combine("d"));
        WriteHosts(hosts, records);
        for (int attempt = 0; ; attempt++)
        {
            var port = Ports.FreeRange(1);
            List<string> args =
            [
                "--no-daemon", "--conf-file=/dev/null", $"--port={port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--log-queries", "--log-facility=-", "--user=root",
                $"--hostsdir={hosts.Combine("d")}", "--local=/ddog-gov.com/",
            ];
            var process = new RunningProcess(Binary, args);
            if (await process.WaitForOutputAsync("started", TimeSpan.FromSeconds(5)) && !process.HasExited)
                return new LocalDns(process, port, hosts);
            var output = process.Output;
            await process.DisposeAsync();
            if (attempt >= 3)
            {
                hosts.Dispose();
                throw new InvalidOperationException("dnsmasq did not start:\n" + output);
            }
        }
    }

    /// <summary>Replaces every record (dnsmasq rereads the directory on its own); waits (bounded) until it has.</summary>
    public async Task SetRecordsAsync(IReadOnlyDictionary<string, string[]> records)
    {
        if (_hosts is null) throw new InvalidOperationException("this dnsmasq answers from --address, not a hosts directory");
        int reads = Count(Output, "read " + _hosts.Combine("d"));
        WriteHosts(_hosts, records);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Count(Output, "read " + _hosts.Combine("d")) <= reads && DateTime.UtcNow < deadline) await Task.Delay(20);
    }

    private static int Count(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    // Written beside the watched directory, then moved in: dnsmasq never reads half a file.
    private static void WriteHosts(TempDir hosts, IReadOnlyDictionary<string, string[]> records)
    {
        var text = string.Concat(records.SelectMany(r => r.Value.Select(ip => $"{ip} {r.Key}\n")));
        var temp = hosts.File("hosts.tmp", text);
        File.Move(temp, hosts.Combine("d/hosts"), overwrite: true);
    }

    /// <summary>Whether dnsmasq has been asked for <paramref name="host"/> (the relay resolved it).</summary>
    public bool WasAskedFor(string host) => Output.Contains(" " + host + " from ", StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _hosts?.Dispose();
    }
}
