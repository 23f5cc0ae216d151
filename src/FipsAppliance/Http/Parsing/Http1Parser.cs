using System.Text;
using static FipsAppliance.Http.Parsing.HttpChars;

namespace FipsAppliance.Http.Parsing;

/// <summary>
/// HTTP/1.1 head parser over one contiguous buffer (RFC 9112), strict where request smuggling hides.
/// The reference for every decision is HAProxy 2.6 (src/h1.c, src/h1_htx.c) as measured against
/// the Debian 2.6.12 binary; where HAProxy is lenient because it re-encodes what it forwards (bare
/// LF, obs-fold, control bytes in values, extra spaces in the request line, CL with TE), we refuse,
/// because the relay forwards the client's bytes as they are.
///
/// Usage: call with the bytes received so far, from the message start; NeedMore means read more and
/// call again with the same start. The head object keeps where the end-of-head search stopped, so
/// incremental calls cost O(new bytes) until the head is complete, then the head is parsed once.
/// No exceptions and no allocations: failures set a reason on the head.
/// </summary>
public static class Http1Parser
{
    public static ParseStatus ParseRequestHead(ReadOnlySpan<byte> buf, HttpRequestHead head, out int headLength)
    {
        headLength = 0;
        var found = FindHeadEnd(buf, head, out int start, out int end, out var scanError);
        if (found == ParseStatus.NeedMore)
        {
            // Refuse at once a first line that can never become a request (a TLS ClientHello sent to
            // the plain port, say) rather than waiting for a timeout; HAProxy does the same. The
            // check looks at the same bytes whatever the read sizes were, so the verdict does not
            // depend on how the head was split across reads.
            bool lineComplete = head.FirstLineFeed > start;
            var firstLine = lineComplete ? buf[start..(head.FirstLineFeed - 1)] : buf[start..];
            var early = CheckPartialRequestLine(firstLine, lineComplete);
            return early == RequestRejection.None ? ParseStatus.NeedMore : Reject(head, early);
        }
        if (found == ParseStatus.Rejected)
        {
            return Reject(head, scanError);
        }

        head.ClearParsedFields();
        head.HeadStart = start;
        head.HeadEnd = end;
        int lineEnd = start + buf[start..end].IndexOf(LF) - 1;
        var error = ParseRequestLine(buf, start, lineEnd, head);
        if (error == RequestRejection.None)
        {
            error = ParseFields(buf, lineEnd + 2, end, head, isResponse: false);
        }
        if (error == RequestRejection.None)
        {
            error = CheckRequestFraming(head);
        }
        if (error != RequestRejection.None)
        {
            return Reject(head, error);
        }
        // The next message on this connection starts a fresh scan even without Reset().
        head.ScanResume = 0;
        head.FirstLineFeed = 0;
        headLength = end;
        return ParseStatus.Complete;
    }

    public static ParseStatus ParseResponseHead(ReadOnlySpan<byte> buf, HttpResponseHead head, out int headLength)
    {
        headLength = 0;
        var found = FindHeadEnd(buf, head, out int start, out int end, out var scanError);
        if (found == ParseStatus.NeedMore)
        {
            // Checked on every call, not only before the first line ends, so that the verdict does
            // not depend on how the head was split across reads (found by fuzzing).
            // A lone CR may begin an empty line before the status line (skipped like a request's).
            var partial = buf[start..];
            var prefix = "HTTP/"u8;
            int n = Math.Min(partial.Length, prefix.Length);
            if (!(partial.Length == 1 && partial[0] == CR) && !partial[..n].SequenceEqual(prefix[..n]))
            {
                return Reject(head, ResponseRejection.InvalidVersion);
            }
            return ParseStatus.NeedMore;
        }
        if (found == ParseStatus.Rejected)
        {
            return Reject(head, ToResponse(scanError));
        }

        head.ClearParsedFields();
        head.HeadStart = start;
        head.HeadEnd = end;
        int lineEnd = start + buf[start..end].IndexOf(LF) - 1;
        var error = ParseStatusLine(buf, start, lineEnd, head);
        if (error == ResponseRejection.None)
        {
            error = ToResponse(ParseFields(buf, lineEnd + 2, end, head, isResponse: true));
        }
        if (error != ResponseRejection.None)
        {
            return Reject(head, error);
        }
        // The next message on this connection starts a fresh scan even without Reset().
        head.ScanResume = 0;
        head.FirstLineFeed = 0;
        headLength = end;
        return ParseStatus.Complete;
    }

    private static ParseStatus Reject(HttpRequestHead head, RequestRejection reason)
    {
        head.ScanResume = 0;
        head.FirstLineFeed = 0;
        head.Rejection = reason;
        return ParseStatus.Rejected;
    }

    private static ParseStatus Reject(HttpResponseHead head, ResponseRejection reason)
    {
        head.ScanResume = 0;
        head.FirstLineFeed = 0;
        head.Rejection = reason;
        return ParseStatus.Rejected;
    }

    /// <summary>
    /// Finds the empty line ending the head, checking on the way that every line ends in CRLF and
    /// that the head fits in <see cref="Http1Limits.MaxHeadLength"/> (leading empty lines included).
    /// </summary>
    private static ParseStatus FindHeadEnd(ReadOnlySpan<byte> buf, HttpMessageHead head, out int start, out int end, out RequestRejection error)
    {
        end = 0;
        error = RequestRejection.None;
        int s = 0;
        while (s < buf.Length)
        {
            byte b = buf[s];
            if (b == CR)
            {
                if (s + 1 == buf.Length)
                {
                    break;
                }
                if (buf[s + 1] != LF)
                {
                    start = s;
                    error = RequestRejection.InvalidRequestLine;
                    return ParseStatus.Rejected;
                }
                s += 2;
                continue;
            }
            if (b == LF)
            {
                start = s;
                error = RequestRejection.BareLineFeed;
                return ParseStatus.Rejected;
            }
            break;
        }
        start = s;
        if (s >= buf.Length - 1 && (s >= buf.Length || buf[s] == CR))
        {
            return TooLargeOrMore(buf.Length, out error);
        }

        int line = Math.Max(head.ScanResume, start);
        while (true)
        {
            int rel = buf[line..].IndexOf(LF);
            if (rel < 0)
            {
                head.ScanResume = line;
                return TooLargeOrMore(buf.Length, out error);
            }
            int lf = line + rel;
            if (lf + 1 > Http1Limits.MaxHeadLength)
            {
                error = RequestRejection.HeadTooLarge;
                return ParseStatus.Rejected;
            }
            if (rel == 0 || buf[lf - 1] != CR)
            {
                error = RequestRejection.BareLineFeed;
                return ParseStatus.Rejected;
            }
            if (line == start)
            {
                head.FirstLineFeed = lf;
            }
            if (rel == 1)
            {
                end = lf + 1;
                return ParseStatus.Complete;
            }
            line = lf + 1;
        }
    }

    private static ParseStatus TooLargeOrMore(int available, out RequestRejection error)
    {
        if (available >= Http1Limits.MaxHeadLength)
        {
            error = RequestRejection.HeadTooLarge;
            return ParseStatus.Rejected;
        }
        error = RequestRejection.None;
        return ParseStatus.NeedMore;
    }

    private static RequestRejection CheckPartialRequestLine(ReadOnlySpan<byte> partial, bool lineComplete)
    {
        int sp = partial.IndexOf(SP);
        if (sp == 0)
        {
            return RequestRejection.InvalidRequestLine;
        }
        var method = sp < 0 ? partial : partial[..sp];
        // A trailing CR may be the start of the line's CRLF, unless the line's LF was already seen
        // (its CR is excluded then): the full parse judges it.
        if (!lineComplete && method.Length > 0 && method[^1] == CR)
        {
            method = method[..^1];
        }
        return method.IndexOfAnyExcept(Token) >= 0 ? RequestRejection.InvalidMethod : RequestRejection.None;
    }

    private static RequestRejection ParseRequestLine(ReadOnlySpan<byte> buf, int start, int lineEnd, HttpRequestHead head)
    {
        var line = buf[start..lineEnd];
        head.StartLine = new ByteRange(start, line.Length);
        if (line.SequenceEqual("PRI * HTTP/2.0"u8))
        {
            return RequestRejection.Http2Preface;
        }

        int sp1 = line.IndexOf(SP);
        if (sp1 == 0)
        {
            return RequestRejection.InvalidRequestLine;
        }
        var method = sp1 < 0 ? line : line[..sp1];
        if (method.IndexOfAnyExcept(Token) >= 0)
        {
            return RequestRejection.InvalidMethod;
        }
        if (sp1 < 0)
        {
            return RequestRejection.InvalidRequestLine;
        }
        head.Method = new ByteRange(start, sp1);
        head.KnownMethod = ClassifyMethod(method);

        int targetStart = sp1 + 1;
        var rest = line[targetStart..];
        int sp2 = rest.IndexOf(SP);
        if (sp2 == 0 || rest.Length == 0)
        {
            return RequestRejection.InvalidRequestLine;
        }
        var target = sp2 < 0 ? rest : rest[..sp2];
        if (target.IndexOfAnyExcept(TargetChars) >= 0)
        {
            return RequestRejection.InvalidRequestTarget;
        }
        if (sp2 < 0)
        {
            // "GET /": an HTTP/0.9 request, which HAProxy refuses unless accept-invalid-http-request.
            return RequestRejection.UnsupportedVersion;
        }
        var versionError = ParseVersion(rest[(sp2 + 1)..], out var version);
        if (versionError != RequestRejection.None)
        {
            return versionError;
        }
        head.Version = version;
        head.Target = new ByteRange(start + targetStart, target.Length);
        return ClassifyTarget(target, start + targetStart, head);
    }

    private static RequestRejection ParseVersion(ReadOnlySpan<byte> v, out HttpVersion version)
    {
        version = HttpVersion.Unknown;
        if (v.Length != 8 || !v.StartsWith("HTTP/"u8) || !char.IsAsciiDigit((char)v[5]) || v[6] != '.' || !char.IsAsciiDigit((char)v[7]))
        {
            return RequestRejection.InvalidVersion;
        }
        if (v[5] != '1')
        {
            // HAProxy 2.6 relabels HTTP/2.0 or 3.0 on an HTTP/1 connection as 1.1 while re-encoding;
            // forwarding such a line raw would be garbage to the intake, so refuse.
            return RequestRejection.UnsupportedVersion;
        }
        version = v[7] == '0' ? HttpVersion.Http10 : HttpVersion.Http11;
        return RequestRejection.None;
    }

    private static KnownMethod ClassifyMethod(ReadOnlySpan<byte> m) => m.Length switch
    {
        3 when m.SequenceEqual("GET"u8) => KnownMethod.Get,
        3 when m.SequenceEqual("PUT"u8) => KnownMethod.Put,
        4 when m.SequenceEqual("POST"u8) => KnownMethod.Post,
        4 when m.SequenceEqual("HEAD"u8) => KnownMethod.Head,
        5 when m.SequenceEqual("PATCH"u8) => KnownMethod.Patch,
        5 when m.SequenceEqual("TRACE"u8) => KnownMethod.Trace,
        6 when m.SequenceEqual("DELETE"u8) => KnownMethod.Delete,
        7 when m.SequenceEqual("OPTIONS"u8) => KnownMethod.Options,
        7 when m.SequenceEqual("CONNECT"u8) => KnownMethod.Connect,
        _ => KnownMethod.Other,
    };

    private static RequestRejection ClassifyTarget(ReadOnlySpan<byte> target, int offset, HttpRequestHead head)
    {
        if (target[0] == Slash)
        {
            int q = target.IndexOf(Question);
            head.TargetForm = RequestTargetForm.Origin;
            head.Path = new ByteRange(offset, q < 0 ? target.Length : q);
            return head.KnownMethod == KnownMethod.Connect ? RequestRejection.InvalidRequestTarget : RequestRejection.None;
        }
        if (target.Length == 1 && target[0] == Asterisk)
        {
            head.TargetForm = RequestTargetForm.Asterisk;
            head.Path = new ByteRange(offset, 0);
            return head.KnownMethod == KnownMethod.Options ? RequestRejection.None : RequestRejection.InvalidRequestTarget;
        }
        if (head.KnownMethod == KnownMethod.Connect)
        {
            head.TargetForm = RequestTargetForm.Authority;
            head.Path = new ByteRange(offset, 0);
            return RequestRejection.None;
        }
        int scheme = target.IndexOf("://"u8);
        if (scheme <= 0 || target[..scheme].IndexOfAnyExcept(Token) >= 0)
        {
            return RequestRejection.InvalidRequestTarget;
        }
        head.TargetForm = RequestTargetForm.Absolute;
        int authority = scheme + 3;
        int pathStart = target[authority..].IndexOfAny(Slash, Question);
        if (pathStart < 0)
        {
            head.Path = new ByteRange(offset + target.Length, 0);
            return RequestRejection.None;
        }
        pathStart += authority;
        if (target[pathStart] == Question)
        {
            head.Path = new ByteRange(offset + pathStart, 0);
            return RequestRejection.None;
        }
        int query = target[pathStart..].IndexOf(Question);
        head.Path = new ByteRange(offset + pathStart, query < 0 ? target.Length - pathStart : query);
        return RequestRejection.None;
    }

    private static ResponseRejection ParseStatusLine(ReadOnlySpan<byte> buf, int start, int lineEnd, HttpResponseHead head)
    {
        var line = buf[start..lineEnd];
        head.StartLine = new ByteRange(start, line.Length);
        if (line.Length < 12)
        {
            return line.Length >= 8 && ParseVersion(line[..8], out _) != RequestRejection.None
                ? ResponseRejection.InvalidVersion
                : ResponseRejection.InvalidStatusLine;
        }
        if (ParseVersion(line[..8], out var version) != RequestRejection.None)
        {
            return ResponseRejection.InvalidVersion;
        }
        head.Version = version;
        if (line[8] != SP)
        {
            return ResponseRejection.InvalidStatusLine;
        }
        int code = 0;
        for (int i = 9; i < 12; i++)
        {
            uint d = (uint)(line[i] - '0');
            if (d > 9)
            {
                return ResponseRejection.InvalidStatusCode;
            }
            code = code * 10 + (int)d;
        }
        if (code < 100)
        {
            return ResponseRejection.InvalidStatusCode;
        }
        head.StatusCode = code;
        if (line.Length == 12)
        {
            // "HTTP/1.1 200" without SP or reason: tolerated by HAProxy and by RFC 9112 4 readers.
            head.Reason = new ByteRange(start + 12, 0);
            return ResponseRejection.None;
        }
        if (line[12] != SP)
        {
            return ResponseRejection.InvalidStatusCode;
        }
        var reason = line[13..];
        if (reason.IndexOfAny(InvalidInValue) >= 0)
        {
            return ResponseRejection.InvalidReason;
        }
        head.Reason = new ByteRange(start + 13, reason.Length);
        return ResponseRejection.None;
    }

    /// <summary>
    /// Parses the field lines between <paramref name="pos"/> and the final CRLF, which ends at
    /// <paramref name="end"/>. Every line is known to end in CRLF already.
    /// </summary>
    private static RequestRejection ParseFields(ReadOnlySpan<byte> buf, int pos, int end, HttpMessageHead head, bool isResponse)
    {
        var headers = head.HeaderArray;
        int count = 0;
        bool rewrite = false;
        bool connectionClose = false, connectionKeepAlive = false, connectionUpgrade = false, nominates = false;
        bool upgradeField = false, hostSeen = false;
        bool teChunkedSeen = false, teLastChunked = false, teOther = false;
        long contentLength = -1;
        var request = head as HttpRequestHead;

        while (pos < end - 2)
        {
            int lf = pos + buf[pos..end].IndexOf(LF);
            var line = buf[pos..(lf - 1)];
            if (IsOws(line[0]))
            {
                return RequestRejection.ObsoleteLineFolding;
            }
            int colon = line.IndexOf(Colon);
            if (colon < 0)
            {
                return RequestRejection.MissingColon;
            }
            if (colon == 0)
            {
                return RequestRejection.EmptyHeaderName;
            }
            var name = line[..colon];
            if (IsOws(name[^1]))
            {
                return RequestRejection.WhitespaceBeforeColon;
            }
            if (name.IndexOfAnyExcept(Token) >= 0)
            {
                return RequestRejection.InvalidHeaderName;
            }
            var raw = line[(colon + 1)..];
            if (raw.IndexOfAny(InvalidInValue) >= 0)
            {
                return RequestRejection.InvalidHeaderValue;
            }
            if (count == Http1Limits.MaxHeaders)
            {
                return RequestRejection.TooManyHeaders;
            }
            int valueStart = pos + colon + 1;
            int valueEnd = lf - 1;
            while (valueStart < valueEnd && IsOws(buf[valueStart]))
            {
                valueStart++;
            }
            while (valueEnd > valueStart && IsOws(buf[valueEnd - 1]))
            {
                valueEnd--;
            }
            var value = buf[valueStart..valueEnd];

            ref var entry = ref headers[count++];
            entry.Name = new ByteRange(pos, colon);
            entry.Value = new ByteRange(valueStart, valueEnd - valueStart);
            entry.Kind = ClassifyField(name);
            entry.Flags = HeaderFlags.None;

            switch (entry.Kind)
            {
                case KnownHeader.ContentLength:
                    var clError = ParseContentLength(value, out long cl, out int lastStart, out int lastLength, out bool isList);
                    if (clError != RequestRejection.None)
                    {
                        return clError;
                    }
                    if (contentLength >= 0)
                    {
                        if (cl != contentLength)
                        {
                            return RequestRejection.ConflictingContentLength;
                        }
                        entry.Flags |= HeaderFlags.MergedDuplicate;
                        rewrite = true;
                    }
                    else
                    {
                        contentLength = cl;
                        if (isList)
                        {
                            // "2, 2" is forwarded as "2", as HAProxy does.
                            entry.Value = new ByteRange(valueStart + lastStart, lastLength);
                            entry.Flags |= HeaderFlags.ValueNormalized;
                            rewrite = true;
                        }
                    }
                    break;

                case KnownHeader.TransferEncoding:
                    head.HasTransferEncoding = true;
                    if (value.Length == 0)
                    {
                        return RequestRejection.InvalidTransferEncoding;
                    }
                    foreach (var range in value.Split(Comma))
                    {
                        var coding = TrimOws(value[range]);
                        if (coding.Length == 0)
                        {
                            return RequestRejection.InvalidTransferEncoding;
                        }
                        if (Ascii.EqualsIgnoreCase(coding, "chunked"u8))
                        {
                            if (teChunkedSeen)
                            {
                                return RequestRejection.ChunkedTwice;
                            }
                            teChunkedSeen = true;
                            teLastChunked = true;
                        }
                        else
                        {
                            if (!isResponse && teChunkedSeen)
                            {
                                return RequestRejection.ChunkedNotFinal;
                            }
                            teOther = true;
                            teLastChunked = false;
                        }
                    }
                    break;

                case KnownHeader.Connection:
                    entry.Flags |= HeaderFlags.HopByHop;
                    rewrite = true;
                    foreach (var range in value.Split(Comma))
                    {
                        var option = TrimOws(value[range]);
                        if (option.Length == 0)
                        {
                            continue;
                        }
                        if (Ascii.EqualsIgnoreCase(option, "close"u8))
                        {
                            connectionClose = true;
                        }
                        else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8))
                        {
                            connectionKeepAlive = true;
                        }
                        else if (Ascii.EqualsIgnoreCase(option, "upgrade"u8))
                        {
                            connectionUpgrade = true;
                        }
                        else
                        {
                            nominates = true;
                        }
                    }
                    break;

                case KnownHeader.Host:
                    if (request is not null)
                    {
                        if (hostSeen)
                        {
                            return RequestRejection.DuplicateHost;
                        }
                        hostSeen = true;
                        request.Host = entry.Value;
                    }
                    break;

                case KnownHeader.Expect:
                    if (request is not null && Ascii.EqualsIgnoreCase(value, "100-continue"u8))
                    {
                        request.Expect100Continue = true;
                    }
                    break;

                case KnownHeader.Upgrade:
                    upgradeField = true;
                    entry.Flags |= HeaderFlags.HopByHop;
                    rewrite = true;
                    break;

                case KnownHeader.KeepAlive:
                case KnownHeader.ProxyConnection:
                case KnownHeader.TE:
                    entry.Flags |= HeaderFlags.HopByHop;
                    rewrite = true;
                    break;
            }
            pos = lf + 1;
        }

        head.HeaderCount = count;
        if (nominates)
        {
            MarkFieldsNamedByConnection(buf, head);
        }

        bool forceClose = false;
        if (head.HasTransferEncoding)
        {
            if (!isResponse)
            {
                if (contentLength >= 0)
                {
                    return RequestRejection.ContentLengthWithTransferEncoding;
                }
                if (!teLastChunked)
                {
                    return RequestRejection.ChunkedNotFinal;
                }
                if (teOther)
                {
                    return RequestRejection.UnsupportedTransferCoding;
                }
            }
            else if (contentLength >= 0)
            {
                // RFC 9112 6.1: Transfer-Encoding overrides; a proxy must drop the Content-Length.
                // HAProxy also closes the connection afterwards.
                for (int i = 0; i < count; i++)
                {
                    if (headers[i].Kind == KnownHeader.ContentLength)
                    {
                        headers[i].Flags |= HeaderFlags.OverriddenByTransferEncoding;
                    }
                }
                contentLength = -1;
                rewrite = true;
                forceClose = true;
            }
            head.IsChunked = teLastChunked;
            // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means the framing is unreliable: close after.
            forceClose |= head.Version == HttpVersion.Http10;
        }

        head.ContentLength = contentLength;
        head.HasHopByHop = rewrite;
        head.HasUpgrade = connectionUpgrade && upgradeField;
        head.KeepAlive = !forceClose && !connectionClose &&
            (head.Version == HttpVersion.Http11 || connectionKeepAlive);
        return RequestRejection.None;
    }

    private static RequestRejection CheckRequestFraming(HttpRequestHead head)
    {
        // HAProxy (h1_htx.c): "Reject HTTP/1.0 GET/HEAD/DELETE requests with a payload", with a 413.
        if (head.Version == HttpVersion.Http10 &&
            head.KnownMethod is KnownMethod.Get or KnownMethod.Head or KnownMethod.Delete &&
            (head.ContentLength > 0 || head.IsChunked))
        {
            return RequestRejection.Http10PayloadOnBodylessMethod;
        }
        // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty. Refused like
        // nginx does (400) rather than forwarded: a 1.0 server downstream could read the chunked
        // body as a close-delimited one, and the server connection could go back to the pool.
        if (head.Version == HttpVersion.Http10 && head.HasTransferEncoding)
        {
            return RequestRejection.Http10TransferEncoding;
        }
        return RequestRejection.None;
    }

    /// <summary>
    /// Content-Length per HAProxy's h1_parse_cont_len_header: a comma-separated list of identical
    /// digit strings; no sign, no empty element, no overflow.
    /// </summary>
    private static RequestRejection ParseContentLength(ReadOnlySpan<byte> value, out long result, out int lastStart, out int lastLength, out bool isList)
    {
        result = -1;
        lastStart = 0;
        lastLength = 0;
        isList = false;
        if (value.Length == 0)
        {
            return RequestRejection.InvalidContentLength;
        }
        int pos = 0;
        while (true)
        {
            int comma = value[pos..].IndexOf(Comma);
            int elementEnd = comma < 0 ? value.Length : pos + comma;
            int a = pos, b = elementEnd;
            while (a < b && IsOws(value[a]))
            {
                a++;
            }
            while (b > a && IsOws(value[b - 1]))
            {
                b--;
            }
            if (a == b)
            {
                return RequestRejection.InvalidContentLength;
            }
            long n = 0;
            for (int i = a; i < b; i++)
            {
                uint d = (uint)(value[i] - '0');
                if (d > 9 || n > (long.MaxValue - d) / 10)
                {
                    return RequestRejection.InvalidContentLength;
                }
                n = n * 10 + d;
            }
            if (result >= 0 && n != result)
            {
                return RequestRejection.ConflictingContentLength;
            }
            result = n;
            lastStart = a;
            lastLength = b - a;
            if (comma < 0)
            {
                return RequestRejection.None;
            }
            isList = true;
            pos = elementEnd + 1;
        }
    }

    private static KnownHeader ClassifyField(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when Ascii.EqualsIgnoreCase(name, "te"u8) => KnownHeader.TE,
        4 when Ascii.EqualsIgnoreCase(name, "host"u8) => KnownHeader.Host,
        6 when Ascii.EqualsIgnoreCase(name, "expect"u8) => KnownHeader.Expect,
        7 when Ascii.EqualsIgnoreCase(name, "upgrade"u8) => KnownHeader.Upgrade,
        10 when Ascii.EqualsIgnoreCase(name, "connection"u8) => KnownHeader.Connection,
        10 when Ascii.EqualsIgnoreCase(name, "keep-alive"u8) => KnownHeader.KeepAlive,
        14 when Ascii.EqualsIgnoreCase(name, "content-length"u8) => KnownHeader.ContentLength,
        16 when Ascii.EqualsIgnoreCase(name, "proxy-connection"u8) => KnownHeader.ProxyConnection,
        17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8) => KnownHeader.TransferEncoding,
        _ => KnownHeader.Other,
    };

    /// <summary>
    /// RFC 9110 7.6.1: fields named in Connection are hop-by-hop. Framing fields and Host are never
    /// removed this way: "Connection: content-length" would otherwise let a client change how the
    /// intake frames the body we forward unchanged.
    /// </summary>
    private static void MarkFieldsNamedByConnection(ReadOnlySpan<byte> buf, HttpMessageHead head)
    {
        var headers = head.HeaderArray;
        int count = head.HeaderCount;
        for (int c = 0; c < count; c++)
        {
            if (headers[c].Kind != KnownHeader.Connection)
            {
                continue;
            }
            var value = headers[c].Value.Of(buf);
            foreach (var range in value.Split(Comma))
            {
                var option = TrimOws(value[range]);
                if (option.Length == 0 || IsConnectionKeyword(option))
                {
                    continue;
                }
                for (int i = 0; i < count; i++)
                {
                    ref var entry = ref headers[i];
                    if (entry.Kind is KnownHeader.ContentLength or KnownHeader.TransferEncoding or KnownHeader.Host)
                    {
                        continue;
                    }
                    if (entry.Name.Length == option.Length && Ascii.EqualsIgnoreCase(entry.Name.Of(buf), option))
                    {
                        entry.Flags |= HeaderFlags.HopByHop;
                    }
                }
            }
        }
    }

    private static bool IsConnectionKeyword(ReadOnlySpan<byte> option) =>
        Ascii.EqualsIgnoreCase(option, "close"u8) ||
        Ascii.EqualsIgnoreCase(option, "keep-alive"u8) ||
        Ascii.EqualsIgnoreCase(option, "upgrade"u8);

    private static ResponseRejection ToResponse(RequestRejection r) => r switch
    {
        RequestRejection.None => ResponseRejection.None,
        RequestRejection.HeadTooLarge => ResponseRejection.HeadTooLarge,
        RequestRejection.TooManyHeaders => ResponseRejection.TooManyHeaders,
        RequestRejection.BareLineFeed => ResponseRejection.BareLineFeed,
        RequestRejection.ObsoleteLineFolding => ResponseRejection.ObsoleteLineFolding,
        RequestRejection.MissingColon => ResponseRejection.MissingColon,
        RequestRejection.EmptyHeaderName => ResponseRejection.EmptyHeaderName,
        RequestRejection.InvalidHeaderName => ResponseRejection.InvalidHeaderName,
        RequestRejection.WhitespaceBeforeColon => ResponseRejection.WhitespaceBeforeColon,
        RequestRejection.InvalidHeaderValue => ResponseRejection.InvalidHeaderValue,
        RequestRejection.InvalidContentLength => ResponseRejection.InvalidContentLength,
        RequestRejection.ConflictingContentLength => ResponseRejection.ConflictingContentLength,
        RequestRejection.InvalidTransferEncoding => ResponseRejection.InvalidTransferEncoding,
        RequestRejection.ChunkedTwice => ResponseRejection.ChunkedTwice,
        _ => ResponseRejection.InvalidStatusLine,
    };
}
