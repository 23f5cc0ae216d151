namespace FipsAppliance.Http.Parsing;

/// <summary>
/// The replies HAProxy 2.6 sends when it refuses or fails a request, byte for byte, so the Agent
/// (and anyone grepping its logs) sees the same thing as with the vendor's proxy. Captured from
/// the Debian HAProxy 2.6.12 binary: errors raised while parsing the client's request (400, 408,
/// 413, 422) are written raw by the H1 mux, capitalized as in src/http.c; errors raised later (500,
/// 502, 503, 504) go through HTX and come out with lower-case field names.
/// </summary>
public static class HttpErrorPages
{
    public static readonly byte[] BadRequest400 =
        "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] RequestTimeout408 =
        "HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] PayloadTooLarge413 =
        "HTTP/1.1 413 Payload Too Large\r\nContent-length: 106\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] UnprocessableContent422 =
        "HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] InternalServerError500 =
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 97\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] BadGateway502 =
        "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] ServiceUnavailable503 =
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] GatewayTimeout504 =
        "HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 92\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"u8.ToArray();

    // HAProxy appends "connection: close" to the HTX-encoded replies when the client connection will
    // not be reused (measured: the client asked to close); the *Close variants are those bytes.
    public static readonly byte[] InternalServerError500Close =
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 97\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] BadGateway502Close =
        "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] ServiceUnavailable503Close =
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"u8.ToArray();

    public static readonly byte[] GatewayTimeout504Close =
        "HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 92\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"u8.ToArray();

    /// <summary>The one place mapping a request rejection to the status HAProxy 2.6 answers with.</summary>
    public static int StatusFor(RequestRejection rejection) => rejection switch
    {
        RequestRejection.UnsupportedTransferCoding => 422,
        RequestRejection.Http10PayloadOnBodylessMethod => 413,
        _ => 400,
    };

    /// <summary>The reply to send before closing the client connection.</summary>
    public static byte[] For(RequestRejection rejection) => StatusFor(rejection) switch
    {
        422 => UnprocessableContent422,
        413 => PayloadTooLarge413,
        _ => BadRequest400,
    };

    /// <summary>A malformed response from the server becomes a 502 for the client, as in HAProxy.</summary>
    public static byte[] For(ResponseRejection rejection, bool closing) => closing ? BadGateway502Close : BadGateway502;

    /// <summary>
    /// The page for a status code this proxy generates, or null for any other code. <paramref name="closing"/>
    /// picks the variant announcing "connection: close" where HAProxy has one (500, 502, 503, 504);
    /// 400 and 408 always announce it, 413 and 422 never do.
    /// </summary>
    public static byte[]? ForStatus(int status, bool closing) => status switch
    {
        400 => BadRequest400,
        408 => RequestTimeout408,
        413 => PayloadTooLarge413,
        422 => UnprocessableContent422,
        500 => closing ? InternalServerError500Close : InternalServerError500,
        502 => closing ? BadGateway502Close : BadGateway502,
        503 => closing ? ServiceUnavailable503Close : ServiceUnavailable503,
        504 => closing ? GatewayTimeout504Close : GatewayTimeout504,
        _ => null,
    };
}
