using System.Text;
using FipsAppliance.Http.Parsing;

namespace FipsAppliance.Fuzz.Targets;

/// <summary>Everything a head parse decided, as one comparable value (offsets, not copies).</summary>
internal sealed record HeadSnapshot(
    ParseStatus Status, string Rejection, int Length, int HeadStart, int HeadEnd, ByteRange StartLine,
    HttpVersion Version, long ContentLength, bool IsChunked, bool HasTransferEncoding, bool KeepAlive,
    bool HasUpgrade, bool HasHopByHop, string Fields, string Detail)
{
    /// <summary>
    /// <paramref name="exactReason"/> false keeps of a rejection only what the peer sees (the status
    /// code answered to a client; a response is always a 502): which fault is noticed first may
    /// depend on how much of the head had arrived, as it may between two correct parsers.
    /// </summary>
    public static HeadSnapshot Of(ParseStatus status, HttpRequestHead h, int length, bool exactReason = true) =>
        status == ParseStatus.Complete
            ? Of(status, h, length, $"{h.Method} {h.KnownMethod} {h.Target} {h.TargetForm} {h.Path} {h.Host} {h.Expect100Continue} {h.BodyFraming}")
            : Failed(status, exactReason ? h.Rejection.ToString() : HttpErrorPages.StatusFor(h.Rejection).ToString(System.Globalization.CultureInfo.InvariantCulture), length);

    public static HeadSnapshot Of(ParseStatus status, HttpResponseHead h, int length, bool exactReason = true) =>
        status == ParseStatus.Complete
            ? Of(status, h, length, $"{h.StatusCode} {h.Reason} {h.IsInterim}")
            : Failed(status, exactReason ? h.Rejection.ToString() : "502", length);

    private static HeadSnapshot Failed(ParseStatus status, string rejection, int length) =>
        new(status, status == ParseStatus.Rejected ? rejection : "", length, 0, 0, default, default, 0, false, false, false, false, false, "", "");

    private static HeadSnapshot Of(ParseStatus status, HttpMessageHead h, int length, string detail)
    {
        var fields = new StringBuilder();
        foreach (var f in h.Headers)
        {
            fields.Append(f.Name).Append(f.Value).Append(f.Kind).Append(f.Flags).Append('|');
        }
        return new(status, "", length, h.HeadStart, h.HeadEnd, h.StartLine, h.Version, h.ContentLength, h.IsChunked,
            h.HasTransferEncoding, h.KeepAlive, h.HasUpgrade, h.HasHopByHop, fields.ToString(), detail);
    }
}

/// <summary>Checks shared by the request and response targets.</summary>
internal static class HeadRules
{
    public static void InRange(ByteRange r, int start, int end, string what) =>
        FuzzFailure.Check(r.Length >= 0 && r.Start >= start && r.End <= end, $"{what} {r} outside the head [{start}, {end})");

    /// <summary>A complete head: its offsets lie inside the input and inside the head, its numbers make sense.</summary>
    public static void CompleteHead(HttpMessageHead h, int length, int inputLength)
    {
        FuzzFailure.Equal(h.HeadEnd, length, "head length vs HeadEnd");
        FuzzFailure.Check(h.HeadStart >= 0 && h.HeadStart < h.HeadEnd && h.HeadEnd <= inputLength,
            $"HeadStart {h.HeadStart} / HeadEnd {h.HeadEnd} outside the input of {inputLength}");
        FuzzFailure.Check(h.HeadEnd <= Http1Limits.MaxHeadLength, $"head of {h.HeadEnd} bytes above the limit");
        InRange(h.StartLine, h.HeadStart, h.HeadEnd, "start line");
        FuzzFailure.Check(h.Version is HttpVersion.Http10 or HttpVersion.Http11, $"version {h.Version}");
        FuzzFailure.Check(h.ContentLength >= -1, $"negative Content-Length {h.ContentLength}");
        FuzzFailure.Check(!h.IsChunked || h.HasTransferEncoding, "chunked without Transfer-Encoding");
        FuzzFailure.Check(h.Headers.Length <= Http1Limits.MaxHeaders, $"{h.Headers.Length} fields");
        foreach (var f in h.Headers)
        {
            InRange(f.Name, h.HeadStart, h.HeadEnd, "field name");
            InRange(f.Value, h.HeadStart, h.HeadEnd, "field value");
            FuzzFailure.Check(f.Name.Length > 0, "empty field name");
        }
    }

    public static void NotComplete(ParseStatus status, int length, int inputLength, bool hasReason)
    {
        FuzzFailure.Equal(0, length, $"head length on {status}");
        if (status == ParseStatus.NeedMore)
        {
            FuzzFailure.Check(inputLength < Http1Limits.MaxHeadLength, $"NeedMore with {inputLength} bytes buffered");
        }
        else
        {
            FuzzFailure.Check(hasReason, "rejected without a reason");
        }
    }
}
