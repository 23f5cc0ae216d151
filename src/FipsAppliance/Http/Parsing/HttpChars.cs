using System.Buffers;

namespace FipsAppliance.Http.Parsing;

/// <summary>Byte constants and character classes of RFC 9110/9112, shared by the parsers and scanners.</summary>
internal static class HttpChars
{
    public const byte CR = (byte)'\r';
    public const byte LF = (byte)'\n';
    public const byte SP = (byte)' ';
    public const byte HT = (byte)'\t';
    public const byte Colon = (byte)':';
    public const byte Comma = (byte)',';
    public const byte Semicolon = (byte)';';
    public const byte Question = (byte)'?';
    public const byte Slash = (byte)'/';
    public const byte Asterisk = (byte)'*';

    /// <summary>tchar (RFC 9110 5.6.2): methods, header names, transfer codings.</summary>
    public static readonly SearchValues<byte> Token = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>
    /// Bytes refused inside a field value or reason phrase: every CTL but HTAB. HAProxy 2.6 only
    /// refuses NUL, CR and LF there, but it re-encodes what it forwards; we forward the client's
    /// bytes, so a lone CR or other control byte would reach the intake unchanged.
    /// </summary>
    public static readonly SearchValues<byte> InvalidInValue = SearchValues.Create(BuildInvalidInValue());

    /// <summary>
    /// Bytes allowed in a request-target: visible ASCII without '#'. HAProxy 2.6.12 answers 400 to
    /// '#' (CVE-2023-45539 fix) and to non-ASCII bytes unless accept-invalid-http-request is set.
    /// </summary>
    public static readonly SearchValues<byte> TargetChars = SearchValues.Create(BuildTargetChars());

    public static bool IsToken(byte b) => Token.Contains(b);

    public static bool IsOws(byte b) => b == SP || b == HT;

    public static int HexValue(byte b)
    {
        uint d = (uint)(b - '0');
        if (d <= 9)
        {
            return (int)d;
        }
        uint l = (uint)((b | 0x20) - 'a');
        return l <= 5 ? (int)l + 10 : -1;
    }

    public static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> s)
    {
        int a = 0;
        int b = s.Length;
        while (a < b && IsOws(s[a]))
        {
            a++;
        }
        while (b > a && IsOws(s[b - 1]))
        {
            b--;
        }
        return s[a..b];
    }

    private static byte[] BuildInvalidInValue()
    {
        var list = new List<byte>(33);
        for (int i = 0; i < 0x20; i++)
        {
            if (i != HT)
            {
                list.Add((byte)i);
            }
        }
        list.Add(0x7F);
        return list.ToArray();
    }

    private static byte[] BuildTargetChars()
    {
        var list = new List<byte>(94);
        for (int i = 0x21; i <= 0x7E; i++)
        {
            if (i != '#')
            {
                list.Add((byte)i);
            }
        }
        return list.ToArray();
    }
}
