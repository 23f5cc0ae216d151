using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FipsAppliance.Fips;
using FipsAppliance.Upstream;

namespace FipsAppliance.Lifecycle;

/// <summary>
/// One TLS handshake inside the process before READY=1: the first handshake of a process pays for
/// OpenSSL's and the runtime's lazy set-up (SSL_CTX, algorithm fetches, chain building). Measured
/// here (2 busy shared cores, local nginx intake): the first request after start took 74 ms to
/// 1.2 s without it, 3-68 ms with it; the warm-up itself took 81-370 ms, once, at start (not at
/// reload). Client and server are both in the process, over loopback, with a throw-away P-256
/// certificate; the client uses a real server's protocols and suites. (A client-only variant that
/// hangs up after the ClientHello cost 1-4 ms and saved nothing: the cost is past that point.)
/// Failure only costs the warm-up: the daemon starts anyway.
/// The warm-up's client connection also tells whether <see cref="TlsBufferRelease"/> reaches the
/// SSL object on this runtime, so a .NET that moved it is said once at start, not found in a heap.
/// </summary>
internal static class TlsWarmUp
{
    public static async Task<(TimeSpan Took, bool BuffersReleased)> RunAsync(TlsPolicy? policy, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        using var cts = new CancellationTokenSource(timeout);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=warm-up.invalid", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await client.ConnectAsync(listener.LocalEndPoint!, cts.Token);
        using var server = await accept;

        await using var serverStream = new SslStream(new NetworkStream(server, ownsSocket: false));
        await using var clientStream = new SslStream(new NetworkStream(client, ownsSocket: false));
        var serverSide = serverStream.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = policy?.Protocols ?? System.Security.Authentication.SslProtocols.None,
            CipherSuitesPolicy = policy?.Options.CipherSuitesPolicy,
        }, cts.Token);
        var clientSide = clientStream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "warm-up.invalid",
            EnabledSslProtocols = policy?.Protocols ?? System.Security.Authentication.SslProtocols.None,
            CipherSuitesPolicy = policy?.Options.CipherSuitesPolicy,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // The throw-away certificate is trusted for this one handshake only.
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, cts.Token);
        await Task.WhenAll(serverSide, clientSide);
        return (Stopwatch.GetElapsedTime(started), TlsBufferRelease.Apply(clientStream));
    }
}
