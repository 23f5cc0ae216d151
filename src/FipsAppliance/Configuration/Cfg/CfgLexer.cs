using System.Text;

namespace FipsAppliance.Configuration.Cfg;

/// <summary>
/// Splits one cfg line into words the way HAProxy 2.6's parse_line() does for configuration files
/// (PARSE_OPT_ENV | DQUOTE | SQUOTE | BKSLASH | SHARP | WORD_EXPAND). Behaviour checked against
/// haproxy 2.6.12 with `.notice` lines:
/// - blanks separate words; `#` outside quotes starts a comment;
/// - "..." expands `$VAR`, `${VAR}`, `${VAR-default}` and `${VAR[*]}` (one word per blank-separated
///   part); an undefined variable is the empty string, silently;
/// - '...' keeps everything literal; quotes glue to neighbouring text (a'b c'd is one word "ab cd");
/// - outside quotes `$` is literal for the lexer (address parsers expand it later, see EnvExpand);
/// - backslash escapes `\ `, `\\`, `\#`, `\'`, `\"`, `\$` (in double quotes), `\t`, `\n`, `\r`, `\xHH`;
///   any other `\c` stays as is; no escapes inside single quotes.
/// - a NUL byte, written or from `\x00`, is an error (ours: HAProxy's C strings would cut the word there).
/// - `${.LINE}`, `${.FILE}`, `${.SECTION}` are the pseudo-variables.
/// </summary>
internal static class CfgLexer
{
    public readonly record struct Context(Func<string, string?> GetEnv, string File, int Line, string Section);

    /// <summary>Returns the words, or null with <paramref name="error"/> set (HAProxy's wording).</summary>
    public static List<string>? Split(string line, in Context ctx, out string? error)
    {
        error = null;
        // A NUL byte makes no sense in any word and .NET's path APIs throw on it (found by fuzzing).
        int nul = line.IndexOf('\0');
        if (nul >= 0)
        {
            error = $"NUL character at position {nul + 1}";
            return null;
        }
        var words = new List<string>();
        var cur = new StringBuilder();
        bool squote = false, dquote = false, inWord = false;
        int quotePos = -1;
        int i = 0;
        while (i < line.Length)
        {
            char c = line[i];
            if (c is '\n' or '\r') break;
            if (c == '#' && !squote && !dquote) break;
            if (c == '"' && !squote)
            {
                dquote = !dquote; quotePos = dquote ? i : -1; inWord = true; i++;
                continue;
            }
            if (c == '\'' && !dquote)
            {
                squote = !squote; quotePos = squote ? i : -1; inWord = true; i++;
                continue;
            }
            if (c == '\\' && !squote)
            {
                char next = i + 1 < line.Length ? line[i + 1] : '\0';
                switch (next)
                {
                    case ' ' or '\\' or '#' or '\'' or '"': cur.Append(next); i += 2; break;
                    case 't': cur.Append('\t'); i += 2; break;
                    case 'n': cur.Append('\n'); i += 2; break;
                    case 'r': cur.Append('\r'); i += 2; break;
                    case '$' when dquote: cur.Append('$'); i += 2; break;
                    case 'x':
                        if (i + 3 >= line.Length || !Uri.IsHexDigit(line[i + 2]) || !Uri.IsHexDigit(line[i + 3]))
                        {
                            error = $"truncated or invalid hexadecimal sequence at position {i + 1}";
                            return null;
                        }
                        byte value = Convert.ToByte(line.Substring(i + 2, 2), 16);
                        if (value == 0)
                        {
                            error = $"NUL character from a hexadecimal sequence at position {i + 1}";
                            return null;
                        }
                        cur.Append((char)value);
                        i += 4;
                        break;
                    default: cur.Append('\\'); i++; break;
                }
                inWord = true;
                continue;
            }
            if (char.IsWhiteSpace(c) && !squote && !dquote)
            {
                while (i < line.Length && char.IsWhiteSpace(line[i])) i++;
                if (inWord) { words.Add(cur.ToString()); cur.Clear(); inWord = false; }
                continue;
            }
            if (c == '$' && dquote)
            {
                if (!ExpandVariable(line, ref i, ctx, cur, words, out error)) return null;
                inWord = true;
                continue;
            }
            cur.Append(c);
            inWord = true;
            i++;
        }
        if (quotePos >= 0)
        {
            error = $"unmatched quote at position {quotePos + 1}";
            return null;
        }
        if (inWord) words.Add(cur.ToString());
        return words;
    }

    private static bool ExpandVariable(string line, ref int i, in Context ctx, StringBuilder cur, List<string> words, out string? error)
    {
        error = null;
        i++; // '$'
        int brace = -1;
        if (i < line.Length && line[i] == '{') brace = i++;
        if (i >= line.Length || !(char.IsAsciiLetter(line[i]) || line[i] == '_' || line[i] == '.'))
        {
            error = $"forbidden first char in environment variable name at position {i + 1}";
            return false;
        }
        int start = i;
        if (line[i] == '.') i++;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_')) i++;
        string name = line[start..i];
        string? value;
        if (name[0] == '.')
        {
            value = name switch
            {
                ".LINE" => ctx.Line.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ".FILE" => ctx.File,
                ".SECTION" => ctx.Section,
                _ => null,
            };
            if (value is null)
            {
                error = $"unsupported internal variable name '{name}' at position {start + 1}";
                return false;
            }
        }
        else value = ctx.GetEnv(name);

        bool wordExpand = false;
        if (brace >= 0 && i < line.Length && line[i] == '[')
        {
            if (i + 2 < line.Length && line[i + 1] == '*' && line[i + 2] == ']') { wordExpand = true; i += 3; }
            else
            {
                error = $"unsupported expansion modifier at position {i + 1}";
                return false;
            }
        }
        if (brace >= 0)
        {
            if (i < line.Length && line[i] == '-')
            {
                int close = line.IndexOf('}', i);
                if (close < 0)
                {
                    error = $"unmatched brace in environment variable name at position {brace + 1}";
                    return false;
                }
                value ??= line[(i + 1)..close];
                i = close;
            }
            if (i >= line.Length || line[i] != '}')
            {
                error = $"unmatched brace in environment variable name at position {brace + 1}";
                return false;
            }
            i++;
        }
        if (value is null) return true;
        if (!wordExpand)
        {
            cur.Append(value);
            return true;
        }
        for (int k = 0; k < value.Length; k++)
        {
            if (char.IsWhiteSpace(value[k]))
            {
                words.Add(cur.ToString()); cur.Clear();
                while (k + 1 < value.Length && char.IsWhiteSpace(value[k + 1])) k++;
            }
            else cur.Append(value[k]);
        }
        return true;
    }

    /// <summary>
    /// HAProxy's env_expand(), applied by its address parser (str2sa_range) to `bind`, `server`,
    /// `log` and `nameserver` addresses: `$NAME` and `${NAME}` anywhere, names of [A-Za-z0-9_],
    /// undefined = empty. No `-default` here: 2.6 leaves `${A-x}` as value-of-A then "-x}".
    /// </summary>
    public static string EnvExpand(string text, Func<string, string?> getEnv)
    {
        int dollar = text.IndexOf('$');
        if (dollar < 0) return text;
        var sb = new StringBuilder();
        int i = 0;
        while (dollar >= 0)
        {
            sb.Append(text, i, dollar - i);
            int beg = dollar + 1;
            bool brace = beg < text.Length && text[beg] == '{';
            if (brace) beg++;
            int end = beg;
            while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) end++;
            sb.Append(getEnv(text[beg..end]) ?? "");
            i = end;
            if (brace && end < text.Length && text[end] == '}') i++;
            dollar = text.IndexOf('$', i);
        }
        sb.Append(text, i, text.Length - i);
        return sb.ToString();
    }
}
