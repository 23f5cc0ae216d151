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

    private LocalDns(RunningProcess process, int port) { _process = process; Port = port; }

    public int Port { get; }
    public string Output => _process.Output;

    public static async Task<LocalDns> StartAsync(bool answer = true)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: install dnsmasq-base (build.sh deps does)");
        for (int attempt = 0; ; attempt++)
        {
            var port = Ports.Free();
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

    /// <summary>Whether dnsmasq has been asked for <paramref name="host"/> (the relay resolved it).</summary>
    public bool WasAskedFor(string host) => Output.Contains(" " + host + " from ", StringComparison.Ordinal);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
