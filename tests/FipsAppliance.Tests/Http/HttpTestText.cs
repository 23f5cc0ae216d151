using System.Text;
using FipsAppliance.Http.Parsing;

namespace FipsAppliance.Tests.Http;

/// <summary>Test helpers: messages are written as Latin-1 strings so any byte value can appear.</summary>
internal static class HttpTestText
{
    public static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    public static string Text(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    public static string Of(byte[] buffer, ByteRange range) => Text(range.Of(buffer));

    public static (ParseStatus Status, HttpRequestHead Head, int Length) ParseRequest(string s)
    {
        var head = new HttpRequestHead();
        var status = Http1Parser.ParseRequestHead(Bytes(s), head, out int length);
        return (status, head, length);
    }

    public static (ParseStatus Status, HttpResponseHead Head, int Length) ParseResponse(string s)
    {
        var head = new HttpResponseHead();
        var status = Http1Parser.ParseResponseHead(Bytes(s), head, out int length);
        return (status, head, length);
    }

    /// <summary>Feeds growing prefixes of <paramref name="buffer"/>, as reads would, until the parser decides.</summary>
    public static (ParseStatus Status, int Length) ParseRequestInSteps(byte[] buffer, HttpRequestHead head, IEnumerable<int> steps)
    {
        int available = 0;
        foreach (int step in steps)
        {
            available = Math.Min(buffer.Length, available + step);
            var status = Http1Parser.ParseRequestHead(buffer.AsSpan(0, available), head, out int length);
            if (status != ParseStatus.NeedMore || available == buffer.Length)
            {
                return (status, length);
            }
        }
        return (ParseStatus.NeedMore, 0);
    }

    public static string Headers(HttpMessageHead head, byte[] buffer)
    {
        var sb = new StringBuilder();
        foreach (var h in head.Headers)
        {
            sb.Append(Of(buffer, h.Name)).Append('=').Append(Of(buffer, h.Value));
            if (h.IsRemoved)
            {
                sb.Append(" (removed)");
            }
            sb.Append('|');
        }
        return sb.ToString();
    }
}
