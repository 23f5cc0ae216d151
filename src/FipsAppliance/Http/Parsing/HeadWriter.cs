namespace FipsAppliance.Http.Parsing;

/// <summary>What the forwarded head says about the connection, appended after the kept fields.</summary>
public enum ConnectionDirective : byte
{
    None = 0,
    Close,
    KeepAlive,
}

/// <summary>
/// Writes the head to forward: the start line as received, then every field not removed
/// (<see cref="HeaderFlags.Removed"/>) as "name: value" with the value as parsed (trimmed, and
/// normalized for a Content-Length list). Transfer-Encoding is kept: the body goes through chunked
/// as it came.
/// </summary>
public static class HeadWriter
{
    /// <summary>Returns the number of bytes written, or -1 when <paramref name="destination"/> is too small.</summary>
    public static int WriteRequestHead(ReadOnlySpan<byte> buffer, HttpRequestHead head, Span<byte> destination, ConnectionDirective connection = ConnectionDirective.None)
        => Write(buffer, head, destination, connection);

    /// <summary>Returns the number of bytes written, or -1 when <paramref name="destination"/> is too small.</summary>
    public static int WriteResponseHead(ReadOnlySpan<byte> buffer, HttpResponseHead head, Span<byte> destination, ConnectionDirective connection = ConnectionDirective.None)
        => Write(buffer, head, destination, connection);

    private static int Write(ReadOnlySpan<byte> buffer, HttpMessageHead head, Span<byte> destination, ConnectionDirective connection)
    {
        int n = 0;
        if (!Append(destination, ref n, head.StartLine.Of(buffer)) || !Append(destination, ref n, "\r\n"u8))
        {
            return -1;
        }
        foreach (ref readonly var field in head.Headers)
        {
            if (field.IsRemoved)
            {
                continue;
            }
            if (!Append(destination, ref n, field.Name.Of(buffer)) ||
                !Append(destination, ref n, ": "u8) ||
                !Append(destination, ref n, field.Value.Of(buffer)) ||
                !Append(destination, ref n, "\r\n"u8))
            {
                return -1;
            }
        }
        var directive = connection switch
        {
            ConnectionDirective.Close => "connection: close\r\n"u8,
            ConnectionDirective.KeepAlive => "connection: keep-alive\r\n"u8,
            _ => ReadOnlySpan<byte>.Empty,
        };
        if (!Append(destination, ref n, directive) || !Append(destination, ref n, "\r\n"u8))
        {
            return -1;
        }
        return n;
    }

    private static bool Append(Span<byte> destination, ref int n, ReadOnlySpan<byte> bytes)
    {
        if (!bytes.TryCopyTo(destination[n..]))
        {
            return false;
        }
        n += bytes.Length;
        return true;
    }
}
