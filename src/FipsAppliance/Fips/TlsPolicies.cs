using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using FipsAppliance.Configuration;

namespace FipsAppliance.Fips;

/// <summary>
/// The TLS policies of one live model: one <see cref="TlsPolicy"/> per server line, and the trust
/// anchors of each CA file, loaded once per path and shared by every server of the model that
/// names it. Owned by whoever builds the model (ProxyRuntime), never static: what a model builds
/// from its cfg is the model's and goes with it, so a reload builds a new set and a CA file an
/// admin replaced before the reload is read again, while the old model's connections keep the
/// anchors they started with.
/// </summary>
public sealed class TlsPolicies(GlobalSection global)
{
    private readonly ConcurrentDictionary<ServerLine, TlsPolicy> _byServer = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<string, Lazy<X509Certificate2Collection>> _trustByPath = new(StringComparer.Ordinal);

    public GlobalSection Global { get; } = global;

    /// <summary>The policy for a server line (built once per ServerLine object, then shared).</summary>
    public TlsPolicy For(ServerLine server) =>
        _byServer.TryGetValue(server, out var built) ? built : _byServer.GetOrAdd(server, new TlsPolicy(server, Global, this));

    /// <summary>
    /// The trust anchors of a PEM CA bundle, loaded once per path for this model. Read when the
    /// model is built, never during a handshake (which runs on a socket event thread).
    /// </summary>
    public X509Certificate2Collection Trust(string caFile)
    {
        string path = Path.GetFullPath(caFile);
        var lazy = _trustByPath.GetOrAdd(path, p => new Lazy<X509Certificate2Collection>(() => TlsPolicy.LoadPem(p)));
        try
        {
            return lazy.Value;
        }
        catch (TlsPolicyException)
        {
            // Not cached: the file may be fixed before the next attempt.
            _trustByPath.TryRemove(new KeyValuePair<string, Lazy<X509Certificate2Collection>>(path, lazy));
            throw;
        }
    }
}
