using System.Text;
using FipsAppliance.Stats;

namespace FipsAppliance.Tests.Stats;

public class StatsUriTests
{
    [Test]
    [Arguments("/", "/", StatsFormat.Html)]
    [Arguments("/;csv", "/", StatsFormat.Csv)]
    [Arguments("/;csv;norefresh", "/", StatsFormat.Csv)]
    [Arguments("/metrics", "/", StatsFormat.Prometheus)]
    [Arguments("/metrics?name[]=x", "/", StatsFormat.Prometheus)]
    // HAProxy takes every URI that begins with the prefix, and finds ";csv" anywhere after it.
    [Arguments("/anything/else", "/", StatsFormat.Html)]
    [Arguments("/x;csv", "/", StatsFormat.Csv)]
    [Arguments("/haproxy?stats", "/haproxy?stats", StatsFormat.Html)]
    [Arguments("/haproxy?stats;csv", "/haproxy?stats", StatsFormat.Csv)]
    [Arguments("/haproxy?stats;csv;norefresh", "/haproxy?stats", StatsFormat.Csv)]
    [Arguments("/metrics", "/haproxy?stats", StatsFormat.Prometheus)]
    // Absolute-form targets are reduced to their path, as HAProxy's http_parse_path does.
    [Arguments("http://localhost:9803/;csv", "/", StatsFormat.Csv)]
    [Arguments("http://localhost:9803", "/", StatsFormat.Html)]
    public async Task Matches_stats_requests(string target, string statsUri, StatsFormat expected)
    {
        bool matched = StatsPage.TryMatch(Encoding.ASCII.GetBytes(target), statsUri, out StatsFormat format);

        await Assert.That(matched).IsTrue();
        await Assert.That(format).IsEqualTo(expected);
    }

    [Test]
    [Arguments("/", "/haproxy?stats")]
    [Arguments("/haproxy", "/haproxy?stats")]
    [Arguments("/HAPROXY?stats", "/haproxy?stats")]
    [Arguments("/api/v2/series", "/stats")]
    [Arguments("/metrics/", "/stats")]
    public async Task Leaves_other_requests_alone(string target, string statsUri)
    {
        bool matched = StatsPage.TryMatch(Encoding.ASCII.GetBytes(target), statsUri, out StatsFormat _);

        await Assert.That(matched).IsFalse();
    }

    [Test]
    [Arguments("/;norefresh", true)]
    [Arguments("/;csv;norefresh", true)]
    [Arguments("/;csv", false)]
    [Arguments("/", false)]
    public async Task Sees_norefresh(string target, bool expected)
    {
        StatsPage.TryMatch(Encoding.ASCII.GetBytes(target), "/", out StatsRequest request);

        await Assert.That(request.NoRefresh).IsEqualTo(expected);
    }

    [Test]
    public async Task Content_types_name_the_format()
    {
        await Assert.That(StatsPage.ContentType(StatsFormat.Html)).IsEqualTo("text/html; charset=utf-8");
        await Assert.That(StatsPage.ContentType(StatsFormat.Csv)).IsEqualTo("text/plain; charset=utf-8");
        await Assert.That(StatsPage.ContentType(StatsFormat.Prometheus)).IsEqualTo("text/plain; version=0.0.4; charset=utf-8");
    }

    [Test]
    [Arguments(StatsFormat.Html)]
    [Arguments(StatsFormat.Csv)]
    [Arguments(StatsFormat.Prometheus)]
    public async Task Render_returns_the_number_of_bytes_written(StatsFormat format)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();

        int written = StatsPage.Render(FakeStats.Appliance(), format, buffer, FakeStats.Options);

        await Assert.That(written).IsGreaterThan(0);
        await Assert.That(written).IsEqualTo(buffer.WrittenCount);
    }
}
