using System.Globalization;

namespace FipsAppliance.Configuration.Cfg;

/// <summary>Where a keyword may appear in a proxy section (HAProxy's PR_CAP_* bits).</summary>
[Flags]
internal enum Where { Defaults = 1, Frontend = 2, Backend = 4, Proxy = Frontend | Backend, All = Defaults | Frontend | Backend }

/// <summary>One row of a section's keyword table: a new directive is one row plus one function.</summary>
internal sealed record Keyword(string Name, Where Where, string Help, Action<CfgParser, CfgSection, string[]> Parse,
    bool IgnoredWithoutCapability = false);

/// <summary>
/// Reads a cfg file section by section, dispatching each line to its section's keyword table, and
/// resolves at parse time what HAProxy resolves there (defaults, default-server, server-template,
/// default-path). Every problem is reported and parsing goes on, so one run shows them all.
/// </summary>
internal sealed partial class CfgParser
{
    private static readonly string[] SectionWords = ["global", "defaults", "frontend", "backend", "listen", "resolvers"];
    private static readonly string[] UnsupportedSections =
        ["peers", "userlist", "program", "mailers", "cache", "http-errors", "ring", "fcgi-app", "dynamic-update", "traces"];

    private readonly CfgDiagnostics _diag;
    private readonly CfgEnvironment _env;
    private readonly string _cfgDirectory;

    public CfgParser(CfgDiagnostics diag, CfgEnvironment env, string cfgPath)
    {
        _diag = diag;
        _env = env;
        File = cfgPath;
        _cfgDirectory = Path.GetDirectoryName(Path.GetFullPath(cfgPath)) ?? "/";
        DefaultPathBase = Directory.GetCurrentDirectory();
        Global = new CfgSection(SectionKind.Global, "", cfgPath, 0);
        CurrentDefaults = new CfgSection(SectionKind.Defaults, "", cfgPath, 0);
    }

    public string File { get; }
    public int Line { get; private set; }
    public CfgSection Global { get; }
    public List<CfgSection> Proxies { get; } = [];
    public List<CfgSection> Resolvers { get; } = [];
    public Dictionary<string, CfgSection> NamedDefaults { get; } = new(StringComparer.Ordinal);
    public CfgSection CurrentDefaults { get; private set; }
    /// <summary>Relative file names (ca-file) resolve against this; `default-path` changes it (HAProxy's default: current directory).</summary>
    public string DefaultPathBase { get; set; }
    public string CfgDirectory => _cfgDirectory;
    public string? CaBase { get; set; }
    /// <summary>`ssl-server-verify`: the verify mode of servers that do not say.</summary>
    public string DefaultVerify { get; set; } = "Required";
    public List<string> GlobalServerSslWords { get; } = [];
    public CfgEnvironment Env => _env;
    public Func<string, string?> GetEnv => _env.Get;

    public void Alert(string message) => _diag.Alert(File, Line, message);
    public void AlertAt(string message) => _diag.AlertAt(File, Line, message);
    public void AlertText(string text) => _diag.AlertText(text);
    public void Warning(string message) => _diag.Warning(File, Line, message);
    public void WarningText(string text) => _diag.WarningText(text);

    public void ParseFile()
    {
        string[] lines;
        try
        {
            lines = System.IO.File.ReadAllLines(File);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _diag.AlertText($"Cannot open configuration file/directory {File} : {Reason(e)}");
            return;
        }
        ParseLines(lines);
    }

    public void ParseLines(IReadOnlyList<string> lines)
    {
        CfgSection? section = null;
        bool skipping = false;
        for (int n = 0; n < lines.Count; n++)
        {
            Line = n + 1;
            string sectionName = section?.KindWord ?? "";
            var words = CfgLexer.Split(lines[n], new CfgLexer.Context(GetEnv, File, Line, sectionName), out string? error);
            if (words is null)
            {
                Alert($"{error}");
                continue;
            }
            if (words.Count == 0) continue;
            string first = words[0];

            if (Array.IndexOf(SectionWords, first) >= 0)
            {
                skipping = false;
                section = OpenSection(first, words);
                continue;
            }
            if (Array.IndexOf(UnsupportedSections, first) >= 0)
            {
                Alert($"'{first}' sections are not supported by datadog-fips-proxy; the section is ignored.");
                skipping = true;
                section = null;
                continue;
            }
            if (skipping) continue;
            if (section is null)
            {
                Alert($"unknown keyword '{first}' out of section.");
                continue;
            }
            var args = words.ToArray();
            switch (section.Kind)
            {
                case SectionKind.Global: Dispatch(GlobalKeywords, section, args); break;
                case SectionKind.Resolvers: Dispatch(ResolversKeywords, section, args); break;
                default: DispatchProxy(section, args); break;
            }
        }
    }

    // A throwaway section takes the lines of a header in error, so they are still checked.
    private CfgSection OpenSection(string word, List<string> words)
    {
        if (word == "global")
        {
            if (words.Count > 1) Alert($"'global' cannot handle unexpected argument '{words[1]}'.");
            return Global;
        }

        string name = words.Count > 1 ? words[1] : "";
        var kind = word switch
        {
            "defaults" => SectionKind.Defaults,
            "frontend" => SectionKind.Frontend,
            "backend" => SectionKind.Backend,
            "listen" => SectionKind.Listen,
            _ => SectionKind.Resolvers,
        };
        var section = new CfgSection(kind, name, File, Line);

        if (kind != SectionKind.Defaults && name.Length == 0)
            Alert($"'{word}' expects an <id> argument");
        else if (FirstInvalidNameChar(name) is char bad)
            Alert($"character '{bad}' is not permitted in '{word}' name '{name}'.");

        int next = 2;
        if (kind == SectionKind.Defaults && name == "from") { name = ""; next = 1; }
        // A new defaults section starts from HAProxy's built-in values ("reset by the next
        // 'defaults' section", configuration.txt section 4) unless it names one with `from`.
        CfgSection? from = kind == SectionKind.Defaults ? null : CurrentDefaults;
        if (words.Count > next && kind != SectionKind.Resolvers)
        {
            if (words[next] == "from" && words.Count > next + 1)
            {
                if (!NamedDefaults.TryGetValue(words[next + 1], out from))
                    Alert($"defaults section '{words[next + 1]}' not found for {word} '{name}'.");
                if (words.Count > next + 2) Alert($"'{word}' cannot handle unexpected argument '{words[next + 2]}'.");
            }
            else Alert($"'{word}' cannot handle unexpected argument '{words[next]}'.");
        }
        else if (words.Count > next)
            Alert($"'{word}' cannot handle unexpected argument '{words[next]}'.");

        if (kind == SectionKind.Resolvers)
        {
            var dup = Resolvers.Find(r => r.Name == name);
            if (dup is not null)
                AlertText($"Parsing [{File}:{Line}]: resolvers '{name}' has the same name as another resolvers section declared at {dup.File}:{dup.Line}.");
            Resolvers.Add(section);
            return section;
        }

        if (from is not null) section.InheritFrom(from);
        if (kind == SectionKind.Defaults)
        {
            CurrentDefaults = section;
            if (name.Length > 0) NamedDefaults[name] = section;
            return section;
        }

        // Same name twice is an error only between proxies sharing a capability.
        foreach (var other in Proxies)
        {
            if (other.Name != name) continue;
            bool clash = (section.HasFrontendCapability && other.HasFrontendCapability)
                         || (section.HasBackendCapability && other.HasBackendCapability);
            if (clash)
            {
                AlertText($"Parsing [{File}:{Line}]: {word} '{name}' has the same name as {other.KindWord} '{other.Name}' declared at {other.File}:{other.Line}.");
                break;
            }
        }
        section.Values["Name"] = name;
        section.Values["Kind"] = kind.ToString();
        section.Values["File"] = File;
        section.Values["Line"] = Line.ToString(CultureInfo.InvariantCulture);
        Proxies.Add(section);
        return section;
    }

    private static char? FirstInvalidNameChar(string name)
    {
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')) return c;
        return null;
    }

    private void Dispatch(Keyword[] table, CfgSection section, string[] args)
    {
        foreach (var kw in table)
        {
            if (kw.Name == args[0])
            {
                kw.Parse(this, section, args);
                return;
            }
        }
        string where = section.Kind == SectionKind.Global ? "'global' section" : $"'{section.KindWord}' section";
        Alert($"unknown keyword '{args[0]}' in {where}{Suggest(args[0], table.Select(k => k.Name))}");
    }

    private void DispatchProxy(CfgSection section, string[] args)
    {
        Keyword? found = null;
        foreach (var kw in ProxyKeywords)
            if (kw.Name == args[0]) { found = kw; break; }
        if (found is null)
        {
            Alert($"unknown keyword '{args[0]}' in '{section.KindWord}' section{Suggest(args[0], ProxyKeywords.Select(k => k.Name))}");
            return;
        }
        if (section.Kind == SectionKind.Defaults)
        {
            if ((found.Where & Where.Defaults) == 0)
            {
                Alert($"'{found.Name}' not allowed in {(section.Name.Length == 0 ? "anonymous " : "")}'defaults' section.");
                return;
            }
        }
        else
        {
            Where need = found.Where & Where.Proxy;
            bool ok = (need & Where.Frontend) != 0 && section.HasFrontendCapability
                      || (need & Where.Backend) != 0 && section.HasBackendCapability;
            if (!ok)
            {
                string cap = (need & Where.Frontend) != 0 ? "frontend" : "backend";
                string text = $"'{found.Name}' {(found.IgnoredWithoutCapability ? "ignored" : "not allowed")} because {section.KindWord} '{section.Name}' has no {cap} capability.";
                if (found.IgnoredWithoutCapability) Warning(text); else Alert(text);
                return;
            }
        }
        found.Parse(this, section, args);
    }

    /// <summary>HAProxy's "; did you mean 'x' maybe ?" when a known word is close enough.</summary>
    public static string Suggest(string word, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var k in known)
        {
            int d = Distance(word, k);
            if (d < bestDistance) { bestDistance = d; best = k; }
        }
        int limit = Math.Max(1, word.Length / 3);
        return best is not null && bestDistance <= limit ? $"; did you mean '{best}' maybe ?" : "";
    }

    private static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }

    // ---- shared argument helpers ----

    /// <summary>`'kw' cannot handle unexpected argument 'x'.` when more than <paramref name="count"/> words.</summary>
    public bool TooMany(string[] a, int count, string? keyword = null)
    {
        if (a.Length <= count) return false;
        Alert($"'{keyword ?? a[0]}' cannot handle unexpected argument '{a[count]}'.");
        return true;
    }

    public static string Reason(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        _ => e.Message,
    };

    public static string Num(int v) => v.ToString(CultureInfo.InvariantCulture);

    public static bool TryInt(string s, out int value) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>
    /// HAProxy's parse_time_err(): a number and an optional unit us|ms|s|m|h|d (ms when none).
    /// Returns null and sets <paramref name="error"/> to HAProxy's wording.
    /// </summary>
    public static int? ParseTime(string text, string what, out string? error)
    {
        error = null;
        int i = 0;
        long value = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            value = value * 10 + (text[i] - '0');
            if (value > int.MaxValue) { error = $"timer overflow in argument '{text}' to '{what}' (maximum value is 2147483647 ms or ~24.8 days)"; return null; }
            i++;
        }
        if (i == 0)
        {
            error = text.Length == 0 ? $"'{what}' expects an integer value (in milliseconds)" : $"unexpected character '{text[0]}' in '{what}'";
            return null;
        }
        string unit = text[i..];
        double factor = unit switch
        {
            "" or "ms" => 1, "us" => 0.001, "s" => 1000, "m" => 60_000, "h" => 3_600_000, "d" => 86_400_000, _ => -1,
        };
        if (factor < 0)
        {
            error = $"unexpected character '{unit[0]}' in '{what}'";
            return null;
        }
        double ms = value * factor;
        if (ms > int.MaxValue) { error = $"timer overflow in argument '{text}' to '{what}' (maximum value is 2147483647 ms or ~24.8 days)"; return null; }
        // HAProxy rounds sub-millisecond values up so that a non-zero timeout never becomes 0.
        return (int)Math.Ceiling(ms);
    }

    /// <summary>A relative file name resolved as HAProxy does: `ca-base`, else the `default-path` in force.</summary>
    public string ResolvePath(string path, string? basePath = null)
    {
        if (Path.IsPathRooted(path)) return path;
        return Path.GetFullPath(Path.Combine(basePath ?? DefaultPathBase, path));
    }
}

/// <summary>
/// The environment as the cfg sees it: the process environment overlaid by `setenv`, `presetenv`,
/// `unsetenv`, `resetenv` and the appliance's own settings. An overlay rather than the process
/// environment, so that checking a file (and the tests) leave the process untouched.
/// </summary>
internal sealed class CfgEnvironment
{
    private readonly Dictionary<string, string?> _overlay = new(StringComparer.Ordinal);
    private readonly Func<string, string?> _process;
    private HashSet<string>? _keptByReset;

    public CfgEnvironment(Func<string, string?>? process = null) => _process = process ?? Environment.GetEnvironmentVariable;

    public string? Get(string name)
    {
        if (_overlay.TryGetValue(name, out var v)) return v;
        if (_keptByReset is not null && !_keptByReset.Contains(name)) return null;
        return _process(name);
    }

    public void Set(string name, string value) => _overlay[name] = value;
    public void Unset(string name) => _overlay[name] = null;

    public void Reset(IEnumerable<string> keep)
    {
        var kept = new HashSet<string>(keep, StringComparer.Ordinal);
        foreach (var k in _overlay.Keys.ToList())
            if (!kept.Contains(k)) _overlay[k] = null;
        _keptByReset = kept;
    }
}
