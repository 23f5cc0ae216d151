namespace FipsAppliance.Http.Parsing;

/// <summary>
/// What the parser learned about one message head, as offsets into the connection's buffer. One
/// instance lives with each connection and is reused for every message (<see cref="Reset"/>), so
/// parsing allocates nothing.
/// </summary>
public abstract class HttpMessageHead
{
    private readonly HttpHeaderEntry[] _headers = new HttpHeaderEntry[Http1Limits.MaxHeaders];

    internal int HeaderCount;

    /// <summary>
    /// Where the search for the end of the head resumes on the next call, so a head delivered one
    /// byte at a time is scanned once, not once per byte. Only valid while the caller keeps the
    /// message at the same buffer offset; moving the bytes requires <see cref="Reset"/>.
    /// </summary>
    internal int ScanResume;

    /// <summary>Offset of the first line's LF once seen, else 0; lets the early method check stay O(method).</summary>
    internal int FirstLineFeed;

    public ReadOnlySpan<HttpHeaderEntry> Headers => _headers.AsSpan(0, HeaderCount);

    internal HttpHeaderEntry[] HeaderArray => _headers;

    /// <summary>Offset of the start line; empty lines before it (RFC 9112 2.2) are skipped, not forwarded.</summary>
    public int HeadStart { get; internal set; }

    /// <summary>Offset just past the empty line that ends the head; the body starts here.</summary>
    public int HeadEnd { get; internal set; }

    /// <summary>The start line without its CRLF.</summary>
    public ByteRange StartLine { get; internal set; }

    public HttpVersion Version { get; internal set; }

    /// <summary>The Content-Length value, or -1 when absent (or overridden by Transfer-Encoding in a response).</summary>
    public long ContentLength { get; internal set; } = -1;

    /// <summary>Transfer-Encoding is present and its final coding is chunked.</summary>
    public bool IsChunked { get; internal set; }

    public bool HasTransferEncoding { get; internal set; }

    /// <summary>The connection may carry another message after this one, per version and Connection tokens.</summary>
    public bool KeepAlive { get; internal set; }

    /// <summary>Connection lists "upgrade" and an Upgrade field is present.</summary>
    public bool HasUpgrade { get; internal set; }

    /// <summary>
    /// Some field must be removed or rewritten before forwarding (hop-by-hop fields, merged duplicate
    /// Content-Length, normalized values): forward through <see cref="HeadWriter"/>. When false the
    /// bytes from <see cref="HeadStart"/> to <see cref="HeadEnd"/> may be forwarded untouched.
    /// </summary>
    public bool HasHopByHop { get; internal set; }

    /// <summary>Finds the first field with this name (ASCII case-insensitive); -1 when absent.</summary>
    public int IndexOfHeader(ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> name)
    {
        var headers = Headers;
        for (int i = 0; i < headers.Length; i++)
        {
            if (headers[i].Name.Length == name.Length &&
                System.Text.Ascii.EqualsIgnoreCase(headers[i].Name.Of(buffer), name))
            {
                return i;
            }
        }
        return -1;
    }

    public virtual void Reset()
    {
        HeaderCount = 0;
        ScanResume = 0;
        FirstLineFeed = 0;
        HeadStart = 0;
        HeadEnd = 0;
        StartLine = default;
        Version = HttpVersion.Unknown;
        ContentLength = -1;
        IsChunked = false;
        HasTransferEncoding = false;
        KeepAlive = false;
        HasUpgrade = false;
        HasHopByHop = false;
    }

    /// <summary>Clears what a parse fills in, keeping the scan resumption point.</summary>
    internal void ClearParsedFields()
    {
        int resume = ScanResume;
        int firstLineFeed = FirstLineFeed;
        Reset();
        ScanResume = resume;
        FirstLineFeed = firstLineFeed;
    }
}

public sealed class HttpRequestHead : HttpMessageHead
{
    public RequestRejection Rejection { get; internal set; }

    public ByteRange Method { get; internal set; }

    public KnownMethod KnownMethod { get; internal set; }

    public ByteRange Target { get; internal set; }

    public RequestTargetForm TargetForm { get; internal set; }

    /// <summary>
    /// The target's path without the query. For absolute-form it starts at the first '/' after the
    /// authority; it is empty for asterisk-form, authority-form, and an absolute-form with no path.
    /// </summary>
    public ByteRange Path { get; internal set; }

    /// <summary>The Host field value; Length 0 and Start -1 when absent.</summary>
    public ByteRange Host { get; internal set; } = new(-1, 0);

    public bool Expect100Continue { get; internal set; }

    /// <summary>How the request body is delimited: chunked, Content-Length above zero, or none.</summary>
    public BodyFraming BodyFraming =>
        IsChunked ? BodyFraming.Chunked : ContentLength > 0 ? BodyFraming.ContentLength : BodyFraming.None;

    public override void Reset()
    {
        base.Reset();
        Rejection = RequestRejection.None;
        Method = default;
        KnownMethod = KnownMethod.Other;
        Target = default;
        TargetForm = RequestTargetForm.Origin;
        Path = default;
        Host = new ByteRange(-1, 0);
        Expect100Continue = false;
    }
}

public sealed class HttpResponseHead : HttpMessageHead
{
    public ResponseRejection Rejection { get; internal set; }

    public int StatusCode { get; internal set; }

    public ByteRange Reason { get; internal set; }

    /// <summary>1xx other than 101: another response head follows on the same request.</summary>
    public bool IsInterim => StatusCode is >= 100 and < 200 && StatusCode != 101;

    /// <summary>How this response's body is delimited, given the method of the request it answers (RFC 9112 6.3).</summary>
    public BodyFraming GetBodyFraming(KnownMethod requestMethod)
    {
        if (StatusCode == 101 || (requestMethod == KnownMethod.Connect && StatusCode is >= 200 and < 300))
        {
            return BodyFraming.Tunnel;
        }
        if (requestMethod == KnownMethod.Head || StatusCode < 200 || StatusCode == 204 || StatusCode == 304)
        {
            return BodyFraming.None;
        }
        if (IsChunked)
        {
            return BodyFraming.Chunked;
        }
        // Transfer-Encoding whose final coding is not chunked also lands here (RFC 9112 6.3 item 4).
        return ContentLength >= 0 && !HasTransferEncoding ? BodyFraming.ContentLength : BodyFraming.UntilClose;
    }

    public override void Reset()
    {
        base.Reset();
        Rejection = ResponseRejection.None;
        StatusCode = 0;
        Reason = default;
    }
}
