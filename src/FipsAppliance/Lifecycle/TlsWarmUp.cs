using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FipsAppliance.Fips;

namespace FipsAppliance.Lifecycle;

/// <summary>
/// One TLS handshake inside the process before READY=1: the first handshake of a process pays for
/// OpenSSL's lazy set-up (provider algorithm fetches, SSL_CTX, the shim's tables), measured at
/// about 350 ms on this kind of machine (shared/reference/openssl-fips-dotnet.md); done here, it
/// is not paid by the Agent's first request. Client and server are both in the process, over
/// loopback, with a throw-away P-256 certificate; the client side uses the protocols and suites
/// of a real server's policy. Failure only costs the warm-up: the daemon starts anyway.
/// </summary>
internal static class TlsWarmUp
{
    public static async Task<TimeSpan> RunAsync(TlsPolicy? policy, TimeSpan timeout)
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
        return Stopwatch.GetElapsedTime(started);
    }
}
