using System.Text;
using FipsAppliance.Logging;

namespace FipsAppliance.Tests.Lifecycle;

/// <summary>
/// Every `format` of a `log` line frames an access line byte for byte as Debian's haproxy 2.6.12
/// does. The expected strings were captured from haproxy with one `log 127.0.0.1:<port> format X
/// local0` line per format and a UDP socket reading them (the message is shortened here).
/// </summary>
public class SyslogFrameTests
{
    // 2026-11-30 21:35:29.383756 local time, UTC offset 0 (haproxy's run was on a UTC machine).
    private static readonly DateTimeOffset When = new DateTimeOffset(2026, 11, 30, 21, 35, 29, TimeSpan.Zero).AddTicks(3_837_560);

    private static string Frame(SyslogFormat format, string message = "msg", int facility = 16, int level = 6, int maxLength = 1024, DateTimeOffset? at = null,
        string hostname = "")
    {
        var buffer = new byte[maxLength + 1];
        int n = SyslogFrame.Write(buffer, format, facility, level, at ?? When, "haproxy"u8, "13430"u8, Encoding.ASCII.GetBytes(message), maxLength,
            Encoding.ASCII.GetBytes(hostname));
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    [Test]
    [Arguments("local", "<134>Nov 30 21:35:29 haproxy[13430]: msg\n")]
    [Arguments("rfc3164", "<134>Nov 30 21:35:29 localhost haproxy[13430]: msg\n")]
    [Arguments("rfc5424", "<134>1 2026-11-30T21:35:29.383756+00:00 - haproxy 13430 - - msg\n")]
    [Arguments("priority", "<134>msg\n")]
    [Arguments("short", "<6>msg\n")]
    [Arguments("timed", "<6>2026-11-30T21:35:29.383756+00:00 msg\n")]
    [Arguments("iso", "2026-11-30T21:35:29.383756+00:00 msg\n")]
    [Arguments("raw", "msg\n")]
    public async Task Frames_a_line_as_haproxy_2_6_does(string format, string expected)
    {
        await Assert.That(Frame(SyslogFrame.ParseFormat(format))).IsEqualTo(expected);
    }

    /// <summary>
    /// `log-send-hostname myrelay.example` (captured the same way, 2.6.12): the formats with a
    /// host field carry the name; the others are unchanged.
    /// </summary>
    [Test]
    [Arguments("local", "<134>Nov 30 21:35:29 myrelay.example haproxy[13430]: msg\n")]
    [Arguments("rfc3164", "<134>Nov 30 21:35:29 myrelay.example haproxy[13430]: msg\n")]
    [Arguments("rfc5424", "<134>1 2026-11-30T21:35:29.383756+00:00 myrelay.example haproxy 13430 - - msg\n")]
    [Arguments("priority", "<134>msg\n")]
    [Arguments("short", "<6>msg\n")]
    [Arguments("timed", "<6>2026-11-30T21:35:29.383756+00:00 msg\n")]
    [Arguments("iso", "2026-11-30T21:35:29.383756+00:00 msg\n")]
    [Arguments("raw", "msg\n")]
    public async Task Log_send_hostname_puts_the_name_where_haproxy_2_6_does(string format, string expected)
    {
        await Assert.That(Frame(SyslogFrame.ParseFormat(format), hostname: "myrelay.example")).IsEqualTo(expected);
    }

    [Test]
    public async Task Default_format_is_haproxys_without_a_host_name()
    {
        // A `log 127.0.0.1 local0` line with no `format`: what the shipped cfg sends.
        await Assert.That(SyslogFrame.ParseFormat(null)).IsEqualTo(SyslogFormat.Local);
    }

    [Test]
    public async Task Pads_a_one_digit_day_with_a_space_and_shows_the_local_offset()
    {
        var at = new DateTimeOffset(2026, 3, 1, 4, 5, 6, TimeSpan.FromHours(-5));
        await Assert.That(Frame(SyslogFormat.Local, at: at)).IsEqualTo("<134>Mar  1 04:05:06 haproxy[13430]: msg\n");
        await Assert.That(Frame(SyslogFormat.Iso, at: at)).IsEqualTo("2026-03-01T04:05:06.000000-05:00 msg\n");
    }

    [Test]
    public async Task Priority_is_facility_times_eight_plus_level()
    {
        // local7 (23), err (3): 187
        await Assert.That(Frame(SyslogFormat.Priority, facility: SyslogFrame.Facility("local7"), level: SyslogFrame.Level("err"))).IsEqualTo("<187>msg\n");
    }

    [Test]
    public async Task Len_bounds_header_and_line_then_the_newline_follows()
    {
        var line = Frame(SyslogFormat.Local, new string('x', 200), maxLength: 80);
        await Assert.That(line.Length).IsEqualTo(81);
        await Assert.That(line).StartsWith("<134>Nov 30 21:35:29 haproxy[13430]: xxx");
        await Assert.That(line).EndsWith("x\n");
    }

    [Test]
    public async Task A_target_filters_by_level_and_raises_to_minlevel()
    {
        var sink = new NullSink();
        // `local0 notice`: info lines (access lines) are not sent, as haproxy does.
        var notice = new LogDestination(sink, SyslogFormat.Local, 16, MaxLevel: SyslogFrame.Level("notice"), MinLevel: 0, 1024);
        await Assert.That(notice.LevelFor(SyslogFrame.Info)).IsEqualTo(-1);
        var all = new LogDestination(sink, SyslogFormat.Local, 16, MaxLevel: SyslogFrame.Level(null), MinLevel: SyslogFrame.Level("debug"), 1024);
        await Assert.That(all.LevelFor(SyslogFrame.Info)).IsEqualTo(7);
    }

    private sealed class NullSink() : LogSink("null")
    {
        public override void Send(ReadOnlySpan<byte> frame) { }
        public override void Dispose() { }
    }
}
