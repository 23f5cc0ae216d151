namespace FipsAppliance.Http.Parsing;

/// <summary>Outcome of one parse or scan attempt.</summary>
public enum ParseStatus
{
    /// <summary>The head is incomplete: read more bytes and call again with the same buffer start.</summary>
    NeedMore,
    Complete,
    /// <summary>The message is invalid; the reason is on the head. The connection must not be reused.</summary>
    Rejected,
}

/// <summary>Why a client request was refused. <see cref="HttpErrorPages.StatusFor(RequestRejection)"/> maps each to a status.</summary>
public enum RequestRejection
{
    None = 0,
    /// <summary>The head did not end within <see cref="Http1Limits.MaxHeadLength"/> bytes (HAProxy: 400).</summary>
    HeadTooLarge,
    /// <summary>More than <see cref="Http1Limits.MaxHeaders"/> header fields (HAProxy: 400).</summary>
    TooManyHeaders,
    /// <summary>A line ended with LF alone. HAProxy accepts it; we forward raw bytes, so we refuse.</summary>
    BareLineFeed,
    /// <summary>Not "method SP target SP version" with single spaces.</summary>
    InvalidRequestLine,
    InvalidMethod,
    InvalidRequestTarget,
    /// <summary>Version not of the form HTTP/d.d (HAProxy: 400).</summary>
    InvalidVersion,
    /// <summary>HTTP/0.9 (no version) or a major version other than 1. HAProxy refuses 0.9 with 400.</summary>
    UnsupportedVersion,
    /// <summary>The HTTP/2 connection preface. HAProxy would switch to its h2 mux; we only speak HTTP/1.1.</summary>
    Http2Preface,
    /// <summary>A header line starting with SP or HTAB. HAProxy unfolds it; we refuse (RFC 9112 5.2 allows either).</summary>
    ObsoleteLineFolding,
    MissingColon,
    EmptyHeaderName,
    InvalidHeaderName,
    /// <summary>SP or HTAB between field name and colon (RFC 9112 5.1: MUST reject; HAProxy: 400).</summary>
    WhitespaceBeforeColon,
    /// <summary>A control byte other than HTAB in a field value (includes a lone CR).</summary>
    InvalidHeaderValue,
    /// <summary>Empty, non-numeric, signed or overflowing Content-Length (HAProxy: 400).</summary>
    InvalidContentLength,
    /// <summary>Content-Length values that differ (identical duplicates are merged, like HAProxy).</summary>
    ConflictingContentLength,
    /// <summary>
    /// Content-Length together with Transfer-Encoding. HAProxy 2.6 drops the Content-Length and closes
    /// after the response; RFC 9112 6.1 lets a server reject instead, which we do since the request
    /// smuggling risk lies exactly there.
    /// </summary>
    ContentLengthWithTransferEncoding,
    /// <summary>Empty Transfer-Encoding or an empty coding in its list (HAProxy: 400).</summary>
    InvalidTransferEncoding,
    /// <summary>chunked applied twice (HAProxy: 400).</summary>
    ChunkedTwice,
    /// <summary>The final coding is not chunked, so the length cannot be known (RFC 9112 6.3; HAProxy: 400).</summary>
    ChunkedNotFinal,
    /// <summary>A coding other than chunked before the final chunked (HAProxy 2.6.12 answers 422).</summary>
    UnsupportedTransferCoding,
    /// <summary>Two Host fields (HAProxy: 400).</summary>
    DuplicateHost,
    /// <summary>An HTTP/1.0 GET, HEAD or DELETE with a payload (HAProxy answers 413).</summary>
    Http10PayloadOnBodylessMethod,
    /// <summary>An HTTP/1.0 request with Transfer-Encoding (RFC 9112 6.1: faulty framing; nginx: 400; HAProxy relays it).</summary>
    Http10TransferEncoding,
}

/// <summary>Why a server response was refused; the relay answers 502 to the client.</summary>
public enum ResponseRejection
{
    None = 0,
    HeadTooLarge,
    TooManyHeaders,
    BareLineFeed,
    InvalidStatusLine,
    InvalidVersion,
    InvalidStatusCode,
    InvalidReason,
    ObsoleteLineFolding,
    MissingColon,
    EmptyHeaderName,
    InvalidHeaderName,
    WhitespaceBeforeColon,
    InvalidHeaderValue,
    InvalidContentLength,
    ConflictingContentLength,
    InvalidTransferEncoding,
    ChunkedTwice,
}

public enum KnownMethod : byte
{
    Other = 0,
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Connect,
    Trace,
}

public enum HttpVersion : byte
{
    Unknown = 0,
    Http10 = 10,
    /// <summary>HTTP/1.1, and HTTP/1.x with x above 1 (RFC 9110 2.5: same major, treat as 1.1).</summary>
    Http11 = 11,
}

public enum RequestTargetForm : byte
{
    Origin = 0,
    Absolute,
    Authority,
    Asterisk,
}

/// <summary>How the body of a message is delimited (RFC 9112 6.3).</summary>
public enum BodyFraming : byte
{
    /// <summary>No body: HEAD responses, 1xx, 204, 304, requests without CL or TE.</summary>
    None = 0,
    ContentLength,
    Chunked,
    /// <summary>Response body ends when the server closes; the connection cannot be reused.</summary>
    UntilClose,
    /// <summary>101 Switching Protocols or a 2xx answer to CONNECT: bytes flow both ways until close.</summary>
    Tunnel,
}

[Flags]
public enum HeaderFlags : byte
{
    None = 0,
    /// <summary>Connection-specific (RFC 9110 7.6.1): removed when forwarding.</summary>
    HopByHop = 1,
    /// <summary>A repeated Content-Length equal to the first one; removed when forwarding (HAProxy merges them).</summary>
    MergedDuplicate = 2,
    /// <summary>Content-Length of a response that also has Transfer-Encoding; removed when forwarding (RFC 9112 6.1).</summary>
    OverriddenByTransferEncoding = 4,
    /// <summary>The value range was normalized ("2, 2" to "2"); it no longer matches the original bytes.</summary>
    ValueNormalized = 8,

    Removed = HopByHop | MergedDuplicate | OverriddenByTransferEncoding,
}

/// <summary>Header fields the parser recognizes by name.</summary>
public enum KnownHeader : byte
{
    Other = 0,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    TE,
    Upgrade,
    Expect,
}

/// <summary>An offset and length into the connection's buffer.</summary>
public readonly record struct ByteRange(int Start, int Length)
{
    public int End => Start + Length;

    public ReadOnlySpan<byte> Of(ReadOnlySpan<byte> buffer) => buffer.Slice(Start, Length);
}

/// <summary>One header field as offsets into the buffer; the value is trimmed of OWS.</summary>
public struct HttpHeaderEntry
{
    public ByteRange Name;
    public ByteRange Value;
    public KnownHeader Kind;
    public HeaderFlags Flags;

    public readonly bool IsRemoved => (Flags & HeaderFlags.Removed) != 0;
}

/// <summary>Limits, chosen to match the HAProxy defaults the vendor's proxy runs with.</summary>
public static class Http1Limits
{
    /// <summary>tune.bufsize.</summary>
    public const int BufferSize = 16384;

    /// <summary>tune.maxrewrite: HAProxy keeps this much of the buffer free for rewrites.</summary>
    public const int MaxRewrite = 1024;

    /// <summary>A head longer than this is refused (HAProxy 2.6.12 measured: 400, never 414 or 431).</summary>
    public const int MaxHeadLength = BufferSize - MaxRewrite;

    /// <summary>
    /// tune.http.maxhdr is 101 slots, one of which HAProxy keeps for the list terminator: measured
    /// against HAProxy 2.6.12, 100 header fields pass and 101 get a 400.
    /// </summary>
    public const int MaxHeaders = 100;
}
