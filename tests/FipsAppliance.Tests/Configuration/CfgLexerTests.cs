using FipsAppliance.Configuration.Cfg;

namespace FipsAppliance.Tests.Configuration;

// Expected values were taken from haproxy 2.6.12 itself (`.notice` lines under `haproxy -c`).
public class CfgLexerTests
{
    private static readonly Dictionary<string, string> Env = new() { ["FOO"] = "127.0.0.1", ["BAR"] = "x  y" };

    private static List<string>? Split(string line, out string? error) =>
        CfgLexer.Split(line, new CfgLexer.Context(n => Env.TryGetValue(n, out var v) ? v : null, "f.cfg", 7, "frontend"), out error);

    private static string Words(string line) => string.Join("|", Split(line, out var e) ?? throw new InvalidOperationException(e));

    [Test]
    [Arguments("  bind   :80  ", "bind|:80")]
    [Arguments("log global # a comment", "log|global")]
    [Arguments("a\\ b c", "a b|c")]
    [Arguments("a'b c'd \"e f\"g", "ab cd|e fg")]
    [Arguments("x \"\" y", "x||y")]
    [Arguments("x \"a\\\"b\\\\c\\#d\\$e\\x41\\tz\"", "x|a\"b\\c#d$eA\tz")]
    [Arguments("x \\1 '\\n'", "x|\\1|\\n")]
    [Arguments("x \"#not a comment\" \\#neither", "x|#not a comment|#neither")]
    public async Task Splits_words_like_haproxy(string line, string expected)
    {
        await Assert.That(Words(line)).IsEqualTo(expected);
    }

    [Test]
    [Arguments("x \"${FOO}\"", "x|127.0.0.1")]
    [Arguments("x \"$FOO.\"", "x|127.0.0.1.")]
    [Arguments("x '${FOO}'", "x|${FOO}")]
    [Arguments("x ${FOO}", "x|${FOO}")]
    [Arguments("x \"<${UNDEF}>\"", "x|<>")]
    [Arguments("x \"${FOO-def}|${UNDEF-def}\"", "x|127.0.0.1|def")]
    [Arguments("x \"${BAR[*]}\" z", "x|x|y|z")]
    [Arguments("x \"${BAR}\"", "x|x  y")]
    [Arguments("x \"${.LINE} ${.FILE} ${.SECTION}\"", "x|7 f.cfg frontend")]
    public async Task Expands_variables_inside_double_quotes_only(string line, string expected)
    {
        await Assert.That(Words(line)).IsEqualTo(expected);
    }

    [Test]
    [Arguments("x \"abc", "unmatched quote at position 3")]
    [Arguments("x 'abc", "unmatched quote at position 3")]
    [Arguments("x \"${FOO\"", "unmatched brace in environment variable name at position 5")]
    [Arguments("x \"$1\"", "forbidden first char in environment variable name at position 5")]
    [Arguments("x \\xZ1", "truncated or invalid hexadecimal sequence at position 3")]
    [Arguments("x \"${.NOPE}\"", "unsupported internal variable name '.NOPE' at position 6")]
    [Arguments("ca-file a\0b", "NUL character at position 10")]
    [Arguments("ca-file \"a\\x00b\"", "NUL character from a hexadecimal sequence at position 11")]
    public async Task Reports_lexical_errors_with_position(string line, string expected)
    {
        var words = Split(line, out var error);
        await Assert.That(words).IsNull();
        await Assert.That(error).IsEqualTo(expected);
    }

    [Test]
    [Arguments("${FOO}:9804", "127.0.0.1:9804")]
    [Arguments("$FOO:1", "127.0.0.1:1")]
    [Arguments("${UNDEF}:9804", ":9804")]
    [Arguments("${FOO-1.2.3.4}:1", "127.0.0.1-1.2.3.4}:1")]
    [Arguments("plain:1", "plain:1")]
    public async Task Address_expansion_matches_env_expand(string text, string expected)
    {
        await Assert.That(CfgLexer.EnvExpand(text, n => Env.TryGetValue(n, out var v) ? v : null)).IsEqualTo(expected);
    }
}
