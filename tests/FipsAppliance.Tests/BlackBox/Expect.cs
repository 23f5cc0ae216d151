namespace FipsAppliance.Tests.BlackBox;

internal static class Expect
{
    /// <summary>
    /// The headers the client sent, as the intake received them: same names (compared without case:
    /// HAProxy lower-cases every name on the way, RFC 9110 says names are case-insensitive), same
    /// values, same order. Headers the relay adds are ignored here.
    /// </summary>
    public static string? HeadersDiffer(IReadOnlyList<KeyValuePair<string, string>> sent, IntakeRequest received)
    {
        var names = new HashSet<string>(sent.Select(h => h.Key), StringComparer.OrdinalIgnoreCase);
        var got = received.Headers.Where(h => names.Contains(h.Key)).ToList();
        if (got.Count == sent.Count && got.Zip(sent).All(p =>
                p.First.Key.Equals(p.Second.Key, StringComparison.OrdinalIgnoreCase) && p.First.Value == p.Second.Value))
            return null;
        return "sent:\n  " + string.Join("\n  ", sent.Select(h => $"{h.Key}: {h.Value}")) +
               "\nreceived:\n  " + string.Join("\n  ", received.Headers.Select(h => $"{h.Key}: {h.Value}"));
    }

    public static string Head(string method, string target, IReadOnlyList<KeyValuePair<string, string>> headers) =>
        $"{method} {target} HTTP/1.1\r\n" + string.Concat(headers.Select(h => $"{h.Key}: {h.Value}\r\n")) + "\r\n";
}
