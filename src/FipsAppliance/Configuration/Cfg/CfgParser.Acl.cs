using System.Text;

namespace FipsAppliance.Configuration.Cfg;

internal sealed partial class CfgParser
{
    private static readonly string[] Criteria = ["path", "path_beg", "path_end"];

    private static void Acl(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 3) { p.Alert($"'acl' expects an ACL name and a criterion."); return; }
        string name = a[1];
        if (name.StartsWith('{') || FirstInvalidAclChar(name) is not null)
        {
            p.Alert($"ACL name '{name}' contains invalid character '{FirstInvalidAclChar(name) ?? '{'}'.");
            return;
        }
        var acl = p.ParseAclExpression(name, a.AsSpan(2), $"ACL '{name}'");
        if (acl is not null) s.Acls.Add(acl);
    }

    private static char? FirstInvalidAclChar(string name)
    {
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')) return c;
        return null;
    }

    /// <summary>`criterion [-i] [--] pattern...` as in an `acl` line or inside `{ }`.</summary>
    private Keys? ParseAclExpression(string name, ReadOnlySpan<string> words, string context)
    {
        string criterion = words[0];
        string? value = criterion switch { "path" => "Path", "path_beg" => "PathBeg", "path_end" => "PathEnd", _ => null };
        if (value is null)
        {
            string hint = Suggest(criterion, Criteria);
            Alert($"error detected while parsing {context} : unknown fetch method '{criterion}' in ACL expression '{criterion}'{(hint.Length > 0 ? hint : ".")}");
            return null;
        }
        var acl = new Keys { ["Name"] = name, ["Criterion"] = value, ["File"] = File, ["Line"] = Num(Line) };
        int i = 1;
        for (; i < words.Length && words[i].StartsWith('-'); i++)
        {
            if (words[i] == "--") { i++; break; }
            if (words[i] == "-i") { acl["IgnoreCase"] = "true"; continue; }
            Alert($"error detected while parsing {context} : flag '{words[i]}' is not supported by datadog-fips-proxy (only -i and --).");
            return null;
        }
        int n = 0;
        for (; i < words.Length; i++) acl[$"Patterns:{n++}"] = words[i];
        if (n == 0) Warning($"{context} has no pattern and will never match.");
        return acl;
    }

    private static void UseBackend(CfgParser p, CfgSection s, string[] a)
    {
        if (a.Length < 2) { p.Alert($"'{a[0]}' expects a backend_name."); return; }
        var rule = new Keys { ["Backend"] = a[1], ["File"] = p.File, ["Line"] = Num(p.Line) };
        if (a.Length > 2)
        {
            if (a[2] is not ("if" or "unless"))
            {
                p.Alert($"unexpected keyword '{a[2]}' after switching rule, only 'if' and 'unless' are allowed.");
                return;
            }
            if (a[2] == "unless") rule["Unless"] = "true";
            var condition = p.ParseCondition(s, a.AsSpan(3), "switching rule");
            if (condition is null) return;
            rule["Condition"] = condition;
        }
        s.UseBackends.Add(rule);
    }

    /// <summary>
    /// HAProxy's condition grammar: terms ANDed by juxtaposition, `||`/`or` between alternatives,
    /// `!` negates the next term, `{ ... }` is an anonymous ACL. Normalised as UseBackendRule.Condition
    /// documents. Named ACLs must be declared before use, as in HAProxy.
    /// </summary>
    private string? ParseCondition(CfgSection s, ReadOnlySpan<string> words, string context)
    {
        var sb = new StringBuilder();
        bool negate = false, expectTerm = true;
        if (words.Length == 0) { Alert($"error detected while parsing {context} : missing condition after 'if'/'unless'."); return null; }
        for (int i = 0; i < words.Length; i++)
        {
            string w = words[i];
            if (w is "||" or "or")
            {
                if (expectTerm) { Alert($"error detected while parsing {context} : missing term before '{w}'."); return null; }
                sb.Append(" ||");
                expectTerm = true;
                continue;
            }
            if (w == "!") { negate = !negate; continue; }
            string term;
            if (w == "{")
            {
                int close = -1;
                for (int j = i + 1; j < words.Length; j++) if (words[j] == "}") { close = j; break; }
                if (close < 0) { Alert($"error detected while parsing {context} : missing closing '}}' in condition."); return null; }
                if (close == i + 1) { Alert($"error detected while parsing {context} : empty anonymous ACL '{{ }}'."); return null; }
                term = $"{{anon-{Line}-{++s.AnonymousAcls}}}";
                var acl = ParseAclExpression(term, words[(i + 1)..close], context);
                if (acl is null) return null;
                s.Acls.Add(acl);
                i = close;
            }
            else
            {
                while (w.StartsWith('!')) { negate = !negate; w = w[1..]; }
                if (!s.Acls.Exists(x => x["Name"] == w))
                {
                    Alert($"error detected while parsing {context} : no such ACL : '{w}'.");
                    return null;
                }
                term = w;
            }
            if (sb.Length > 0) sb.Append(' ');
            if (negate) sb.Append('!');
            sb.Append(term);
            negate = false;
            expectTerm = false;
        }
        if (expectTerm) { Alert($"error detected while parsing {context} : missing term at end of condition."); return null; }
        return sb.ToString();
    }
}
