using System.Text;
using FipsAppliance.Backends;
using FipsAppliance.Configuration;

namespace FipsAppliance.Frontends;

/// <summary>
/// A frontend's `use_backend ... if|unless <cond>` rules and its `default_backend`, compiled once
/// against the live backends. Evaluated per request on the request path's bytes, without allocating.
/// </summary>
internal sealed class Routing
{
    private readonly Rule[] _rules;

    public Routing(ProxySection frontend, Func<string, Backend?> findBackend)
    {
        var acls = new Dictionary<string, List<Acl>>(StringComparer.Ordinal);
        foreach (var a in frontend.Acls)
        {
            if (!acls.TryGetValue(a.Name, out var list)) acls[a.Name] = list = [];
            list.Add(new Acl(a));
        }
        var rules = new List<Rule>();
        foreach (var u in frontend.UseBackends)
        {
            var backend = findBackend(u.Backend)
                ?? throw new InvalidOperationException($"use_backend: no backend '{u.Backend}' [{u.File}:{u.Line}]");
            rules.Add(new Rule(backend, u.Unless, Parse(u.Condition, acls)));
        }
        _rules = [.. rules];
        // A listen section is its own default backend.
        Default = frontend.DefaultBackend is { } d ? findBackend(d) : frontend.Kind == ProxyKind.Listen ? findBackend(frontend.Name) : null;
    }

    public Backend? Default { get; }

    /// <summary>True when some rule needs the request (so mode tcp can skip parsing entirely).</summary>
    public bool HasRules => _rules.Length > 0;

    public Backend? Route(ReadOnlySpan<byte> path)
    {
        foreach (var r in _rules)
            if (r.Matches(path)) return r.Backend;
        return Default;
    }

    // Condition: OR of AND groups of (possibly negated) ACL names, as normalised by the parser:
    // "a !b || c". Lines sharing an ACL name are ORed.
    private static Term[][] Parse(string condition, Dictionary<string, List<Acl>> acls)
    {
        var groups = new List<Term[]>();
        foreach (var alt in condition.Split("||", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var terms = new List<Term>();
            foreach (var word in alt.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                bool negate = word.StartsWith('!');
                string name = negate ? word[1..] : word;
                if (!acls.TryGetValue(name, out var list))
                    throw new InvalidOperationException($"condition refers to unknown ACL '{name}'");
                terms.Add(new Term([.. list], negate));
            }
            groups.Add([.. terms]);
        }
        return [.. groups];
    }

    private sealed record Rule(Backend Backend, bool Unless, Term[][] AnyOf)
    {
        public bool Matches(ReadOnlySpan<byte> path)
        {
            bool any = false;
            foreach (var all in AnyOf)
            {
                bool ok = true;
                foreach (var t in all)
                    if (!t.Matches(path)) { ok = false; break; }
                if (ok) { any = true; break; }
            }
            return any != Unless;
        }
    }

    private sealed record Term(Acl[] Acls, bool Negate)
    {
        public bool Matches(ReadOnlySpan<byte> path)
        {
            bool m = false;
            foreach (var a in Acls)
                if (a.Matches(path)) { m = true; break; }
            return m != Negate;
        }
    }

    private sealed class Acl
    {
        private readonly AclCriterion _criterion;
        private readonly bool _ignoreCase;
        private readonly byte[][] _patterns;

        public Acl(AclLine line)
        {
            _criterion = line.Criterion;
            _ignoreCase = line.IgnoreCase;
            _patterns = [.. line.Patterns.Select(Encoding.UTF8.GetBytes)];
        }

        public bool Matches(ReadOnlySpan<byte> path)
        {
            foreach (var p in _patterns)
            {
                bool m = _criterion switch
                {
                    AclCriterion.Path => path.Length == p.Length && Equal(path, p),
                    AclCriterion.PathBeg => path.Length >= p.Length && Equal(path[..p.Length], p),
                    AclCriterion.PathEnd => path.Length >= p.Length && Equal(path[^p.Length..], p),
                    _ => false,
                };
                if (m) return true;
            }
            return false;
        }

        private bool Equal(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
            _ignoreCase ? Ascii.EqualsIgnoreCase(a, b) : a.SequenceEqual(b);
    }
}
