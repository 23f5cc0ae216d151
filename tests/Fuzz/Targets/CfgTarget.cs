using System.Text;
using FipsAppliance.Configuration;
using FipsAppliance.Configuration.Cfg;

namespace FipsAppliance.Fuzz.Targets;

/// <summary>
/// The cfg as user input: CfgLexer.Split on every line, then the whole load (parse, flatten, bind,
/// validate, and --dump-config of a valid result) through ConfigLoader. A crash is: an exception
/// escaping either; the lexer returning neither words nor an error (or both); an `[ALERT]` that does
/// not say `[file:line]` (only the two closing lines may); the "internal error binding" alert,
/// which means the parser let through a value the binder refuses.
/// </summary>
public static class CfgTarget
{
    /// <summary>Longer inputs are skipped: the lexer and parser are per line, and afl's time is better spent on many short files.</summary>
    public const int MaxInput = 4096;

    private static readonly Dictionary<string, string> Environment = new(StringComparer.Ordinal)
    {
        ["DD_FIPS_LOCAL_ADDRESS"] = "127.0.0.1",
        ["WORDS"] = "a  b\tc",
        ["EMPTY"] = "",
        ["PORT"] = "9804",
        ["HOST"] = "intake.example",
    };

    private static string? GetEnv(string name) => Environment.TryGetValue(name, out var v) ? v : null;

    private static readonly string Directory = CreateDirectory();

    private static string CreateDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fips-fuzz-cfg-{System.Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "ca-certificates.crt"), "not read by -c\n");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => System.IO.Directory.Delete(dir, recursive: true);
        return dir;
    }

    public static void Check(ReadOnlySpan<byte> input)
    {
        if (input.Length > MaxInput)
        {
            return;
        }
        string text = Encoding.UTF8.GetString(input);
        string path = Path.Combine(Directory, "fuzz.cfg");

        int number = 0;
        foreach (string line in text.Split('\n'))
        {
            var words = CfgLexer.Split(line, new CfgLexer.Context(GetEnv, path, ++number, "frontend"), out string? error);
            FuzzFailure.Check((words is null) != (error is null), $"lexer on line {number}: words {words is not null}, error {error}");
        }

        File.WriteAllBytes(path, input.ToArray());
        var diagnostics = new StringWriter();
        var loaded = ConfigLoader.Load(path, null, diagnostics, quiet: false, GetEnv);
        if (loaded is not null)
        {
            CfgDump.ToText(loaded);
        }
        foreach (string line in diagnostics.ToString().Split('\n'))
        {
            if (!line.StartsWith("[ALERT]", StringComparison.Ordinal))
            {
                continue;
            }
            FuzzFailure.Check(!line.Contains("internal error binding", StringComparison.Ordinal), line);
            FuzzFailure.Check(line.Contains($"[{path}:", StringComparison.Ordinal)
                || line.EndsWith($"Error(s) found in configuration file : {path}", StringComparison.Ordinal)
                || line.EndsWith("Fatal errors found in configuration.", StringComparison.Ordinal),
                $"an alert without [file:line]: {line}");
        }
    }
}
