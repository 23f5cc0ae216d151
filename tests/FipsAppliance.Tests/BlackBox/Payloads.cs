using System.Security.Cryptography;
using System.Text;

namespace FipsAppliance.Tests.BlackBox;

internal static class Payloads
{
    public static byte[] Random(int length) => RandomNumberGenerator.GetBytes(length);
    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));
    public static string NewTestId() => Guid.NewGuid().ToString("N");
    public static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s);

    public static byte[] Concat(params byte[][] parts)
    {
        var all = new byte[parts.Sum(p => p.Length)];
        int at = 0;
        foreach (var p in parts) { p.CopyTo(all, at); at += p.Length; }
        return all;
    }

    /// <summary>The body as chunked transfer coding, cut at the given chunk sizes (the rest in one chunk).</summary>
    public static byte[] Chunked(byte[] body, params int[] sizes)
    {
        var ms = new MemoryStream();
        int at = 0;
        foreach (var size in sizes.Append(int.MaxValue))
        {
            var n = Math.Min(size, body.Length - at);
            if (n <= 0) break;
            ms.Write(Ascii($"{n:x}\r\n"));
            ms.Write(body, at, n);
            ms.Write("\r\n"u8);
            at += n;
        }
        ms.Write("0\r\n\r\n"u8);
        return ms.ToArray();
    }
}
