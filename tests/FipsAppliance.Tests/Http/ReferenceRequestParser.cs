using System.Text;
using System.Text.RegularExpressions;

namespace FipsAppliance.Tests.Http;

/// <summary>What a parse decided, in plain strings, so the fast parser and the reference compare field by field.</summary>
internal sealed record ParseOutcome(
    string Outcome, int Status, int HeadLength = 0, string Method = "", string Target = "", string Path = "",
    int Version = 0, long ContentLength = -1, bool Chunked = false, bool KeepAlive = false, string Host = "",
    bool Expect = false, string Forwarded = "");

/// <summary>
/// A slow, obviously-correct request head parser: the same rules as Http1Parser written with
/// strings, regular expressions and lists, for differential testing. Only the status code of a
/// rejection is compared, since two correct parsers may notice different faults first.
/// </summary>
internal static class ReferenceRequestParser
{
    private const string TChar = @"[!#$%&'*+\-.^_`|~0-9A-Za-z]";
    private static readonly Regex RequestLine = new(@"^(" + TChar + @"+) ([\x21\x22\x24-\x7E]+) HTTP/([0-9])\.([0-9])\z");
    private static readonly Regex FieldLine = new(@"^(" + TChar + @"+):([^\x00-\x08\x0A-\x1F\x7F]*)\z");
    private static readonly Regex AbsoluteTarget = new(@"^" + TChar + @"+://([^/?]*)(.*)\z");
    private static readonly Regex MethodPrefix = new(@"^" + TChar + @"*\z");
    private static readonly string[] HopByHop = ["connection", "keep-alive", "proxy-connection", "te", "upgrade"];

    private static ParseOutcome Reject(int status) => new("reject", status);

    public static ParseOutcome Parse(string text)
    {
        const int limit = 15360;
        int s = 0;
        while (text.Length - s >= 2 && text[s] == '\r' && text[s + 1] == '\n')
        {
            s += 2;
        }
        if (s < text.Length && text[s] == '\n')
        {
            return Reject(400);
        }
        if (s + 1 < text.Length && text[s] == '\r')
        {
            return Reject(400);
        }

        var lines = new List<string>();
        int pos = s;
        int end;
        while (true)
        {
            int lf = text.IndexOf('\n', pos);
            if (lf < 0)
            {
                if (text.Length >= limit)
                {
                    return Reject(400);
                }
                // Early refusal: the method of the first line, complete or not, must be a token.
                {
                    string partial = lines.Count == 0 ? text[s..] : lines[0];
                    string method = partial.Split(' ')[0];
                    // A CR at the end of an unfinished line may be its CRLF's; a finished line has none left.
                    if (lines.Count == 0 && method.EndsWith('\r'))
                    {
                        method = method[..^1];
                    }
                    if (partial.StartsWith(' ') || !MethodPrefix.IsMatch(method))
                    {
                        return Reject(400);
                    }
                }
                return new ParseOutcome("more", 0);
            }
            if (lf + 1 > limit || lf == pos || text[lf - 1] != '\r')
            {
                return Reject(400);
            }
            string line = text[pos..(lf - 1)];
            pos = lf + 1;
            if (line.Length == 0)
            {
                end = pos;
                break;
            }
            lines.Add(line);
        }

        if (lines[0] == "PRI * HTTP/2.0")
        {
            return Reject(400);
        }
        var m = RequestLine.Match(lines[0]);
        if (!m.Success || m.Groups[3].Value != "1")
        {
            return Reject(400);
        }
        string verb = m.Groups[1].Value;
        string target = m.Groups[2].Value;
        int version = m.Groups[4].Value == "0" ? 10 : 11;
        string path;
        if (target.StartsWith('/'))
        {
            if (verb == "CONNECT")
            {
                return Reject(400);
            }
            path = target.Split('?')[0];
        }
        else if (target == "*")
        {
            if (verb != "OPTIONS")
            {
                return Reject(400);
            }
            path = "";
        }
        else if (verb == "CONNECT")
        {
            path = "";
        }
        else
        {
            var am = AbsoluteTarget.Match(target);
            if (!am.Success)
            {
                return Reject(400);
            }
            string rest = am.Groups[2].Value;
            path = rest.StartsWith('/') ? rest.Split('?')[0] : "";
        }

        var fields = new List<(string Name, string Value)>();
        foreach (string line in lines.Skip(1))
        {
            var fm = FieldLine.Match(line);
            if (!fm.Success)
            {
                return Reject(400);
            }
            fields.Add((fm.Groups[1].Value, fm.Groups[2].Value.Trim(' ', '\t')));
        }
        if (fields.Count > 100)
        {
            return Reject(400);
        }

        long contentLength = -1;
        string? normalizedLength = null;
        var codings = new List<string>();
        bool hasTe = false, close = false, keepAlive = false, expect = false;
        var nominated = new List<string>();
        string host = "";
        int hosts = 0;
        foreach (var (name, value) in fields)
        {
            switch (name.ToLowerInvariant())
            {
                case "content-length":
                    var parts = value.Split(',');
                    foreach (string p in parts)
                    {
                        string t = p.Trim(' ', '\t');
                        if (t.Length == 0 || !t.All(char.IsAsciiDigit) || !long.TryParse(t, out long v))
                        {
                            return Reject(400);
                        }
                        if (contentLength >= 0 && v != contentLength)
                        {
                            return Reject(400);
                        }
                        contentLength = v;
                        normalizedLength ??= parts.Length > 1 ? parts[^1].Trim(' ', '\t') : value;
                    }
                    break;
                case "transfer-encoding":
                    hasTe = true;
                    if (value.Length == 0)
                    {
                        return Reject(400);
                    }
                    foreach (string p in value.Split(','))
                    {
                        string t = p.Trim(' ', '\t');
                        if (t.Length == 0)
                        {
                            return Reject(400);
                        }
                        codings.Add(t.ToLowerInvariant());
                    }
                    break;
                case "host":
                    if (++hosts > 1)
                    {
                        return Reject(400);
                    }
                    host = value;
                    break;
                case "expect":
                    expect |= value.Equals("100-continue", StringComparison.OrdinalIgnoreCase);
                    break;
                case "connection":
                    foreach (string p in value.Split(','))
                    {
                        string t = p.Trim(' ', '\t').ToLowerInvariant();
                        if (t == "close")
                        {
                            close = true;
                        }
                        else if (t == "keep-alive")
                        {
                            keepAlive = true;
                        }
                        else if (t.Length > 0 && t != "upgrade")
                        {
                            nominated.Add(t);
                        }
                    }
                    break;
            }
        }

        bool chunked = false;
        if (hasTe)
        {
            if (codings.Count(c => c == "chunked") > 1)
            {
                return Reject(400);
            }
            if (contentLength >= 0 || codings[^1] != "chunked")
            {
                return Reject(400);
            }
            if (codings.Count > 1)
            {
                return Reject(422);
            }
            chunked = true;
        }
        if (version == 10 && verb is "GET" or "HEAD" or "DELETE" && (contentLength > 0 || chunked))
        {
            return Reject(413);
        }
        if (version == 10 && hasTe)
        {
            return Reject(400);
        }

        var forwarded = new StringBuilder(lines[0]).Append("\r\n");
        bool lengthWritten = false;
        foreach (var (name, value) in fields)
        {
            string lower = name.ToLowerInvariant();
            bool framing = lower is "content-length" or "transfer-encoding" or "host";
            if (HopByHop.Contains(lower) || (!framing && nominated.Contains(lower)))
            {
                continue;
            }
            if (lower == "content-length")
            {
                if (lengthWritten)
                {
                    continue;
                }
                lengthWritten = true;
                forwarded.Append(name).Append(": ").Append(normalizedLength).Append("\r\n");
                continue;
            }
            forwarded.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        forwarded.Append("\r\n");

        return new ParseOutcome("ok", 0, end, verb, target, path, version, contentLength, chunked,
            !close && (version == 11 || keepAlive) && !(hasTe && version == 10), host, expect, forwarded.ToString());
    }
}
