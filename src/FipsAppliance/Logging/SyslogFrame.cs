using System.Globalization;
using System.Text;

namespace FipsAppliance.Logging;

/// <summary>The `format` of a `log` line.</summary>
internal enum SyslogFormat
{
    /// <summary>No `format` word: what HAProxy 2.6.12 sends then, `&lt;134&gt;Nov 30 21:18:01 haproxy[15082]: msg` (a host name only with `log-send-hostname`).</summary>
    Local,
    /// <summary>`format rfc3164`: the same with a host name, `&lt;134&gt;Nov 30 21:35:29 localhost haproxy[13430]: msg` (`localhost` without `log-send-hostname`).</summary>
    Rfc3164,
    /// <summary>`format rfc5424`: `&lt;134&gt;1 2026-11-30T21:35:29.383756+00:00 - haproxy 13430 - - msg` (the host name for `-` with `log-send-hostname`).</summary>
    Rfc5424,
    /// <summary>`format priority`: `&lt;134&gt;msg`.</summary>
    Priority,
    /// <summary>`format short`: `&lt;6&gt;msg` (level only).</summary>
    Short,
    /// <summary>`format timed`: `&lt;6&gt;2026-11-30T21:35:29.383773+00:00 msg`.</summary>
    Timed,
    /// <summary>`format iso`: `2026-11-30T21:35:29.383776+00:00 msg`.</summary>
    Iso,
    /// <summary>`format raw`: the line alone.</summary>
    Raw,
}

/// <summary>
/// A line framed as HAProxy 2.6 frames it for a `log` target. Every shape here was taken from
/// Debian's haproxy 2.6.12 with the same `log` lines, one datagram per format (see
/// tests/.../Logging/SyslogFrameTests.cs): header, the line, then a '\n'; `len` bounds header
/// and line together, the '\n' comes after.
/// </summary>
internal static class SyslogFrame
{
    public const int DefaultMaxLength = 1024;
    /// <summary>Facility codes in HAProxy's order (`kern` = 0 ... `local7` = 23).</summary>
    private static readonly string[] Facilities =
    [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ];
    private static readonly string[] Levels = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
    private static readonly byte[][] Months =
        [.. new[] { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }.Select(Encoding.ASCII.GetBytes)];

    /// <summary>Level of access lines (`info`), as HAProxy sends them.</summary>
    public const int Info = 6;

    public static int Facility(string name) => Math.Max(0, Array.IndexOf(Facilities, name));
    public static int Level(string? name) => name is null ? 7 : Math.Max(0, Array.IndexOf(Levels, name));

    public static SyslogFormat ParseFormat(string? name) => name switch
    {
        "rfc3164" => SyslogFormat.Rfc3164,
        "rfc5424" => SyslogFormat.Rfc5424,
        "priority" => SyslogFormat.Priority,
        "short" => SyslogFormat.Short,
        "timed" => SyslogFormat.Timed,
        "iso" => SyslogFormat.Iso,
        "raw" => SyslogFormat.Raw,
        _ => SyslogFormat.Local,
    };

    /// <summary>
    /// Writes header + <paramref name="message"/> (cut at <paramref name="maxLength"/>) + '\n' into
    /// <paramref name="destination"/>; returns the bytes written. <paramref name="destination"/>
    /// must hold maxLength + 1 bytes. <paramref name="hostname"/> is `log-send-hostname`'s name,
    /// empty when the cfg has none; only the formats with a host field carry it, as in HAProxy 2.6.12.
    /// </summary>
    public static int Write(Span<byte> destination, SyslogFormat format, int facility, int level, DateTimeOffset now,
        ReadOnlySpan<byte> tag, ReadOnlySpan<byte> pid, ReadOnlySpan<byte> message, int maxLength = DefaultMaxLength,
        ReadOnlySpan<byte> hostname = default)
    {
        var w = new Writer(destination[..maxLength]);
        switch (format)
        {
            case SyslogFormat.Local or SyslogFormat.Rfc3164:
                Priority(ref w, facility * 8 + level);
                LegacyTime(ref w, now);
                if (!hostname.IsEmpty) { w.Append(hostname); w.Append((byte)' '); }
                else if (format == SyslogFormat.Rfc3164) w.Append("localhost "u8);   // HAProxy's stand-in when log-send-hostname is not set
                w.Append(tag); w.Append((byte)'['); w.Append(pid); w.Append("]: "u8);
                break;
            case SyslogFormat.Rfc5424:
                Priority(ref w, facility * 8 + level);
                w.Append("1 "u8);
                IsoTime(ref w, now);
                w.Append(hostname.IsEmpty ? "-"u8 : hostname); w.Append((byte)' '); w.Append(tag); w.Append((byte)' '); w.Append(pid); w.Append(" - - "u8);
                break;
            case SyslogFormat.Priority:
                Priority(ref w, facility * 8 + level);
                break;
            case SyslogFormat.Short:
                Priority(ref w, level);
                break;
            case SyslogFormat.Timed:
                Priority(ref w, level);
                IsoTime(ref w, now);
                break;
            case SyslogFormat.Iso:
                IsoTime(ref w, now);
                break;
        }
        w.Append(message);
        int n = w.Length;
        destination[n] = (byte)'\n';
        return n + 1;
    }

    private static void Priority(ref Writer w, int value)
    {
        w.Append((byte)'<');
        w.Number(value, 1);
        w.Append((byte)'>');
    }

    /// <summary>`Nov 30 21:18:01 ` (day padded with a space, local time).</summary>
    private static void LegacyTime(ref Writer w, DateTimeOffset t)
    {
        w.Append(Months[t.Month - 1]);
        w.Append((byte)' ');
        if (t.Day < 10) w.Append((byte)' ');
        w.Number(t.Day, 1);
        w.Append((byte)' ');
        w.Number(t.Hour, 2); w.Append((byte)':'); w.Number(t.Minute, 2); w.Append((byte)':'); w.Number(t.Second, 2);
        w.Append((byte)' ');
    }

    /// <summary>`2026-11-30T21:35:29.383756+00:00 ` (local time with its offset, µs).</summary>
    private static void IsoTime(ref Writer w, DateTimeOffset t)
    {
        w.Number(t.Year, 4); w.Append((byte)'-'); w.Number(t.Month, 2); w.Append((byte)'-'); w.Number(t.Day, 2);
        w.Append((byte)'T');
        w.Number(t.Hour, 2); w.Append((byte)':'); w.Number(t.Minute, 2); w.Append((byte)':'); w.Number(t.Second, 2);
        w.Append((byte)'.');
        w.Number((int)(t.Ticks % TimeSpan.TicksPerSecond / 10), 6);
        var offset = t.Offset;
        w.Append(offset < TimeSpan.Zero ? (byte)'-' : (byte)'+');
        offset = offset.Duration();
        w.Number(offset.Hours, 2); w.Append((byte)':'); w.Number(offset.Minutes, 2);
        w.Append((byte)' ');
    }

    /// <summary>Appends into a span and silently stops at its end (HAProxy truncates at `len` the same way).</summary>
    private ref struct Writer(Span<byte> span)
    {
        private readonly Span<byte> _span = span;
        public int Length;

        public void Append(byte b)
        {
            if (Length < _span.Length) _span[Length++] = b;
        }

        public void Append(scoped ReadOnlySpan<byte> bytes)
        {
            int n = Math.Min(bytes.Length, _span.Length - Length);
            bytes[..n].CopyTo(_span[Length..]);
            Length += n;
        }

        public void Number(int value, int digits)
        {
            Span<byte> tmp = stackalloc byte[11];
            string? format = digits switch { 2 => "D2", 4 => "D4", 6 => "D6", _ => null };
            value.TryFormat(tmp, out int n, format, CultureInfo.InvariantCulture);
            Append(tmp[..n]);
        }
    }
}
