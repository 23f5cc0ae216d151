using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using FipsAppliance.Configuration;

namespace FipsAppliance.Fips;

/// <summary>
/// `tls-probe host:port`: one TLS connection under the policy in force, explained. The handshake
/// is done twice: once straight through libssl (the only way to see the negotiated key-exchange
/// group and OpenSSL's own verify reason; .NET exposes neither), once through SslStream with the
/// <see cref="TlsPolicy"/> the relay uses, and the two must agree.
/// </summary>
public static partial class TlsProbe
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    public static int Run(string hostPort, string? caFile, string? sni, GlobalSection? global, TextWriter output)
    {
        if (!TrySplit(hostPort, out string host, out int port))
        {
            output.WriteLine($"tls-probe: '{hostPort}' is not <host>:<port>");
            return 1;
        }
        var server = new ServerLine
        {
            Name = "tls-probe",
            Address = host,
            Port = port,
            Ssl = true,
            Verify = VerifyMode.Required,
            CaFile = Path.GetFullPath(caFile ?? TlsPolicy.DefaultCaFile),
            Sni = sni is null ? null : $"str({sni})",
        };
        TlsPolicy policy;
        try
        {
            policy = new TlsPolicies(global ?? new GlobalSection()).For(server);
        }
        catch (TlsPolicyException e)
        {
            output.WriteLine($"tls-probe {hostPort}: FAILED: {e.Message}");
            return 1;
        }

        output.WriteLine($"tls-probe {host}:{port}");
        output.WriteLine($"  policy:     {TlsPolicy.ProtocolText(policy.Protocols)}, ciphers {policy.OpenSslCipherList ?? "(OpenSSL default)"}, suites {policy.OpenSslCiphersuites ?? "(OpenSSL default)"}");
        output.WriteLine($"  sni:        {policy.Sni ?? "(none: IP literal)"}");
        output.WriteLine($"  verify:     name {policy.ExpectedName}, ca-file {policy.CaFile}");
        output.WriteLine($"  resumption: {(policy.ResumesSessions ? "yes (the process-wide SSL_CTX and its session cache)" : "no: " + policy.NoResumptionReason)}");
        foreach (string w in policy.Warnings) output.WriteLine($"  warning:    {w}");

        var openssl = OpenSslHandshake(host, port, policy, output);
        var dotnet = SslStreamHandshake(host, port, policy);
        if (openssl.Ok && dotnet.Ok)
        {
            bool agree = openssl.Protocol == dotnet.Protocol && openssl.CipherStandardName == dotnet.Cipher;
            output.WriteLine(agree
                ? $"  relay path: SslStream under the relay's TlsPolicy agreed ({dotnet.Protocol}, {dotnet.Cipher})"
                : $"  relay path: SslStream under the relay's TlsPolicy negotiated {dotnet.Protocol}, {dotnet.Cipher} (libssl: {openssl.Protocol}, {openssl.CipherStandardName})");
            output.WriteLine("OK");
            return 0;
        }
        if (openssl.Ok)
            output.WriteLine($"  relay path: SslStream under the relay's TlsPolicy FAILED: {dotnet.Error}");
        else if (dotnet.Ok)
            output.WriteLine($"  relay path: SslStream under the relay's TlsPolicy succeeded ({dotnet.Protocol}, {dotnet.Cipher}) although libssl failed");
        else
            output.WriteLine($"  relay path: SslStream under the relay's TlsPolicy failed too: {dotnet.Error}");
        output.WriteLine($"FAILED: {(openssl.Ok ? dotnet.Error : openssl.Error)}");
        return 1;
    }

    private static bool TrySplit(string hostPort, out string host, out int port)
    {
        host = "";
        port = 0;
        int colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), out port) || port is < 1 or > 65535) return false;
        host = hostPort[..colon].Trim('[', ']');
        return host.Length > 0;
    }

    private sealed record Outcome(bool Ok, string Error, string Protocol = "", string CipherStandardName = "", string Cipher = "");

    /// <summary>A connected TCP socket, or the reason there is none (refused, timed out, no address).</summary>
    private static Socket? Connect(string host, int port, out string error)
    {
        error = "";
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host, out var ip) ? [ip] : Dns.GetHostAddresses(host);
        }
        catch (SocketException e)
        {
            error = $"cannot resolve {host}: {e.Message}";
            return null;
        }
        foreach (var address in addresses.Take(4))
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                var connect = socket.ConnectAsync(address, port);
                if (!connect.Wait(ConnectTimeout))
                {
                    error = $"connect to {address}:{port} timed out after {ConnectTimeout.TotalSeconds:0} s";
                    socket.Dispose();
                    continue;
                }
                socket.NoDelay = true;
                return socket;
            }
            catch (AggregateException e) when (e.InnerException is SocketException se)
            {
                error = se.SocketErrorCode == SocketError.ConnectionRefused
                    ? $"connection refused by {address}:{port}"
                    : $"connect to {address}:{port} failed: {se.Message}";
                socket.Dispose();
            }
        }
        if (error.Length == 0) error = $"no address for {host}";
        return null;
    }

    private static Outcome OpenSslHandshake(string host, int port, TlsPolicy policy, TextWriter output)
    {
        using var socket = Connect(host, port, out string connectError);
        if (socket is null) return new Outcome(false, connectError);
        output.WriteLine($"  connected:  {socket.RemoteEndPoint}");
        // libssl does blocking I/O on the fd itself. .NET leaves the fd O_NONBLOCK after an async
        // connect whatever Socket.Blocking says, so the flag is cleared (and the timeouts, which
        // bound SSL_connect against a silent server, are set) on the fd directly.
        if (!Posix.MakeBlocking((int)socket.Handle, HandshakeTimeout))
            return new Outcome(false, $"cannot switch the socket to blocking mode (errno {Marshal.GetLastPInvokeError()})");

        LibCrypto.ERR_clear_error();
        nint ctx = LibSsl.SSL_CTX_new(LibSsl.TLS_client_method());
        if (ctx == 0) return new Outcome(false, "OpenSSL: " + string.Join("; ", LibCrypto.DrainErrors()));
        nint ssl = 0;
        try
        {
            LibSsl.SetMinProto(ctx, (policy.Protocols & SslProtocols.Tls12) != 0 ? LibSsl.TLS1_2_VERSION : LibSsl.TLS1_3_VERSION);
            LibSsl.SetMaxProto(ctx, (policy.Protocols & SslProtocols.Tls13) != 0 ? LibSsl.TLS1_3_VERSION : LibSsl.TLS1_2_VERSION);
            if (policy.OpenSslCipherList is { } list && LibSsl.SSL_CTX_set_cipher_list(ctx, list) != 1)
                return new Outcome(false, $"OpenSSL rejects the cipher list '{list}': {string.Join("; ", LibCrypto.DrainErrors())}");
            if (policy.OpenSslCiphersuites is { } suites && LibSsl.SSL_CTX_set_ciphersuites(ctx, suites) != 1)
                return new Outcome(false, $"OpenSSL rejects the ciphersuites '{suites}': {string.Join("; ", LibCrypto.DrainErrors())}");
            if (LibSsl.SSL_CTX_load_verify_locations(ctx, policy.CaFile, null) != 1)
                return new Outcome(false, $"OpenSSL cannot load the ca-file {policy.CaFile}: {string.Join("; ", LibCrypto.DrainErrors())}");
            LibSsl.SSL_CTX_set_verify(ctx, LibSsl.SSL_VERIFY_PEER, 0);

            ssl = LibSsl.SSL_new(ctx);
            if (ssl == 0) return new Outcome(false, "OpenSSL: " + string.Join("; ", LibCrypto.DrainErrors()));
            if (policy.Sni is { } name) LibSsl.SetSni(ssl, name);
            if (policy.ExpectedName is { } expected) LibSsl.SSL_set1_host(ssl, expected);
            LibSsl.SSL_set_fd(ssl, (int)socket.Handle);

            int rc = LibSsl.SSL_connect(ssl);
            if (rc != 1)
            {
                int err = LibSsl.SSL_get_error(ssl, rc);
                long verify = LibSsl.SSL_get_verify_result(ssl);
                var errors = LibCrypto.DrainErrors();
                string why;
                if (verify != 0)
                    why = $"certificate verification failed: {LibCrypto.Str(LibCrypto.X509_verify_cert_error_string((nint)verify))} (verify error {verify}; expected name {policy.ExpectedName})";
                else if (errors.Count > 0)
                    why = $"handshake failed: {string.Join("; ", errors)}" + (errors.Any(e => e.Contains("alert handshake failure", StringComparison.Ordinal))
                        ? $"; the server shares no protocol version, cipher suite or key-exchange group with this policy (groups offered: {FipsBootstrap.Current?.Tls.Groups ?? "see fips-status"})"
                        : "");
                else if (err == LibSsl.SSL_ERROR_SYSCALL)
                    why = "handshake failed: the server closed the connection or did not answer in time";
                else
                    why = $"handshake failed (SSL_get_error {err})";
                return new Outcome(false, why);
            }

            string protocol = LibCrypto.Str(LibSsl.SSL_get_version(ssl)) ?? "?";
            nint cipher = LibSsl.SSL_get_current_cipher(ssl);
            string cipherName = LibCrypto.Str(LibSsl.SSL_CIPHER_get_name(cipher)) ?? "?";
            string standard = LibCrypto.Str(LibSsl.SSL_CIPHER_standard_name(cipher)) ?? cipherName;
            int group = LibSsl.NegotiatedGroup(ssl);
            string groupName = LibCrypto.Str(LibSsl.SSL_group_to_name(ssl, group)) ?? "?";
            string groupSn = LibCrypto.Str(LibCrypto.OBJ_nid2sn(group)) ?? "?";
            output.WriteLine($"  protocol:   {protocol}");
            output.WriteLine($"  cipher:     {standard} (OpenSSL name {cipherName})");
            output.WriteLine($"  group:      {groupName}{(groupSn != groupName && groupSn != "?" ? $" ({groupSn})" : "")}");
            output.WriteLine("  verified chain:");
            nint chain = LibSsl.SSL_get0_verified_chain(ssl);
            int n = chain == 0 ? 0 : LibCrypto.OPENSSL_sk_num(chain);
            for (int i = 0; i < n && i < 16; i++)
            {
                using var cert = X509CertificateLoader.LoadCertificate(LibCrypto.X509Der(LibCrypto.OPENSSL_sk_value(chain, i)));
                output.WriteLine($"    {i} subject:   {cert.Subject}");
                output.WriteLine($"      issuer:    {cert.Issuer}");
                output.WriteLine($"      not after: {cert.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z");
            }
            LibSsl.SSL_shutdown(ssl);
            return new Outcome(true, "", protocol, standard, cipherName);
        }
        finally
        {
            LibCrypto.ERR_clear_error();
            if (ssl != 0) LibSsl.SSL_free(ssl);
            LibSsl.SSL_CTX_free(ctx);
        }
    }

    private static Outcome SslStreamHandshake(string host, int port, TlsPolicy policy)
    {
        using var socket = Connect(host, port, out string connectError);
        if (socket is null) return new Outcome(false, connectError);
        using var stream = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            using var cts = new CancellationTokenSource(HandshakeTimeout);
            stream.AuthenticateAsClientAsync(policy.Options, cts.Token).GetAwaiter().GetResult();
            string protocol = stream.SslProtocol switch
            {
                SslProtocols.Tls12 => "TLSv1.2",
                SslProtocols.Tls13 => "TLSv1.3",
                var p => p.ToString(),
            };
            return new Outcome(true, "", protocol, stream.NegotiatedCipherSuite.ToString(), stream.NegotiatedCipherSuite.ToString());
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            return new Outcome(false, TlsPolicy.DescribeFailure(stream, e));
        }
    }

    private static unsafe partial class Posix
    {
        private const int F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0x800;
        private const int SOL_SOCKET = 1, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21;

        [LibraryImport("libc", SetLastError = true)]
        private static partial int fcntl(int fd, int cmd, int arg);

        [LibraryImport("libc", SetLastError = true)]
        private static partial int setsockopt(int fd, int level, int name, void* value, uint length);

        public static bool MakeBlocking(int fd, TimeSpan timeout)
        {
            int flags = fcntl(fd, F_GETFL, 0);
            if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) return false;
            long* tv = stackalloc long[2];
            tv[0] = (long)timeout.TotalSeconds;
            tv[1] = 0;
            return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) == 0
                && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, 16) == 0;
        }
    }
}
