using System.Buffers;
using System.Globalization;
using System.Text;

namespace FipsAppliance.Stats;

/// <summary>
/// UTF-8 text into an <see cref="IBufferWriter{T}"/>, with the three escapings the stats formats need
/// (HTML text, CSV fields, Prometheus label values), counting what it wrote.
/// </summary>
internal sealed class StatsWriter(IBufferWriter<byte> output)
{
    public int Written { get; private set; }

    public void Text(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return;
        int count = Encoding.UTF8.GetByteCount(text);
        Span<byte> span = output.GetSpan(count);
        int n = Encoding.UTF8.GetBytes(text, span);
        Commit(n);
    }

    public void Ascii(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return;
        utf8.CopyTo(output.GetSpan(utf8.Length));
        Commit(utf8.Length);
    }

    public void Number(long value)
    {
        Span<byte> span = output.GetSpan(20);
        value.TryFormat(span, out int n, default, CultureInfo.InvariantCulture);
        Commit(n);
    }

    /// <summary>Text safe inside HTML element content and double- or single-quoted attributes.</summary>
    public void Html(string text)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            string? entity = text[i] switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => null,
            };
            if (entity is null) continue;
            Text(text.AsSpan(start, i - start));
            Text(entity);
            start = i + 1;
        }
        Text(text.AsSpan(start));
    }

    /// <summary>
    /// One CSV field as management.txt 9.1 says: quoted only when ambiguous (a comma, a quote, a line
    /// break), quotes doubled.
    /// </summary>
    public void CsvField(string text)
    {
        if (text.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            Text(text);
            return;
        }
        Text("\"");
        Text(text.Replace("\"", "\"\""));
        Text("\"");
    }

    /// <summary>A Prometheus label value: backslash, double quote and line feed escaped (exposition format 0.0.4).</summary>
    public void LabelValue(string text)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            string? escaped = text[i] switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                _ => null,
            };
            if (escaped is null) continue;
            Text(text.AsSpan(start, i - start));
            Text(escaped);
            start = i + 1;
        }
        Text(text.AsSpan(start));
    }

    private void Commit(int n)
    {
        output.Advance(n);
        Written += n;
    }
}
