namespace FipsAppliance.Configuration.Cfg;

// The parse-time model: each section is a bag of configuration keys relative to where it will sit
// in the provider's Data ("Mode", "Timeouts:Client", ...), plus lists of such bags for the
// repeated lines. Keeping the parse result as keys makes HAProxy's parse-time inheritance a copy
// of dictionaries (defaults -> proxy, default-server -> server) and makes the provider's Data a
// plain flattening with indexes.

/// <summary>Configuration keys of one object, relative to its place in the tree.</summary>
internal sealed class Keys : Dictionary<string, string>
{
    public Keys() : base(StringComparer.Ordinal) { }
    public Keys(Keys other) : base(other, StringComparer.Ordinal) { }
}

internal enum SectionKind { Global, Defaults, Frontend, Backend, Listen, Resolvers }

internal sealed class CfgSection(SectionKind kind, string name, string file, int line)
{
    public SectionKind Kind { get; } = kind;
    public string Name { get; } = name;
    public string File { get; } = file;
    public int Line { get; } = line;

    public Keys Values { get; set; } = new();
    public List<Keys> Binds { get; } = [];
    public List<Keys> Logs { get; set; } = [];
    public List<Keys> Acls { get; } = [];
    public List<Keys> UseBackends { get; } = [];
    public List<Keys> Servers { get; } = [];
    public List<Keys> Nameservers { get; } = [];
    public List<Keys> StatsSockets { get; } = [];
    /// <summary>`default-server` settings in force for the next `server` line.</summary>
    public Keys DefaultServer { get; set; } = new();
    public int AnonymousAcls { get; set; }

    public bool HasFrontendCapability => Kind is SectionKind.Frontend or SectionKind.Listen or SectionKind.Defaults;
    public bool HasBackendCapability => Kind is SectionKind.Backend or SectionKind.Listen or SectionKind.Defaults;

    public string KindWord => Kind switch
    {
        SectionKind.Frontend => "frontend",
        SectionKind.Backend => "backend",
        SectionKind.Listen => "listen",
        SectionKind.Defaults => "defaults",
        SectionKind.Resolvers => "resolvers",
        _ => "global",
    };

    /// <summary>A proxy starts as a copy of the `defaults` section in force (HAProxy's init_new_proxy + copy of defproxy).</summary>
    public void InheritFrom(CfgSection defaults)
    {
        Values = new Keys(defaults.Values);
        Logs = defaults.Logs.Select(l => new Keys(l)).ToList();
        DefaultServer = new Keys(defaults.DefaultServer);
    }
}
