using System.Net.Sockets;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Fips;

/// <summary>An `openssl s_server -www` on 127.0.0.1 (system OpenSSL, default providers), killed on dispose.</summary>
public sealed class OpenSslServer : IAsyncDisposable
{
    private readonly RunningProcess _process;
    public int Port { get; }
    public string HostPort => $"127.0.0.1:{Port}";

    private OpenSslServer(RunningProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public static async Task<OpenSslServer> StartAsync(string cert, string key, params string[] extra)
    {
        int port = Ports.FreeRange(1);
        var process = new RunningProcess("openssl",
            ["s_server", "-cert", cert, "-key", key, "-accept", $"127.0.0.1:{port}", "-www", "-quiet", .. extra],
            new Dictionary<string, string?> { ["OPENSSL_CONF"] = null });
        var server = new OpenSslServer(process, port);
        // Ready when it accepts: bounded to 5 s.
        for (int i = 0; i < 100; i++)
        {
            if (process.HasExited) break;
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        string output = process.Output;
        await server.DisposeAsync();
        throw new InvalidOperationException("openssl s_server did not start: " + output);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
