using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FipsAppliance.Tests.Infrastructure;

/// <summary>
/// A certificate authority made per test run (never a fixed key in the repo): a root, and leaf
/// certificates it signs for the intake host names. PEM files only: PKCS#12 cannot be loaded under
/// FIPS (PKCS12KDF is not in the provider).
/// </summary>
public sealed class TestCa
{
    public X509Certificate2 Root { get; }
    private readonly ECDsa _rootKey;

    public TestCa(string name = "FipsAppliance Test Root CA")
    {
        _rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}, O=FipsAppliance tests", _rootKey, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        Root = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public string RootPem => Root.ExportCertificatePem();

    /// <summary>A server certificate (P-256 by default) for the given DNS names / IP addresses.</summary>
    public Leaf Issue(IEnumerable<string> names, ECCurve? curve = null)
    {
        var key = ECDsa.Create(curve ?? ECCurve.NamedCurves.nistP256);
        var list = names.ToList();
        var req = new CertificateRequest($"CN={list[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in list)
        {
            if (IPAddress.TryParse(n, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(n);
        }
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var cert = req.Create(Root, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
        return new Leaf(cert.CopyWithPrivateKey(key), key);
    }

    /// <summary>Writes ca.pem (root), and for a leaf cert.pem / key.pem, into a directory.</summary>
    public string WriteRoot(string dir, string file = "ca.pem")
    {
        var p = Path.Combine(dir, file);
        File.WriteAllText(p, RootPem);
        return p;
    }

    public sealed class Leaf(X509Certificate2 certificate, ECDsa key)
    {
        public X509Certificate2 Certificate { get; } = certificate;
        public string CertPem => Certificate.ExportCertificatePem();
        public string KeyPem => key.ExportPkcs8PrivateKeyPem();

        public (string cert, string key) Write(string dir, string stem = "server")
        {
            var c = Path.Combine(dir, stem + ".crt");
            var k = Path.Combine(dir, stem + ".key");
            File.WriteAllText(c, CertPem);
            File.WriteAllText(k, KeyPem);
            return (c, k);
        }
    }
}
