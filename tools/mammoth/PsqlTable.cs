using System.Globalization;
using System.Text;

namespace Mammoth.Tools.Admin;

/// <summary>
/// Writes a result the way psql's default aligned format does (border 1): centred headers, a dashed separator
/// with '+' between columns, numbers right-aligned, NULL as empty, values with newlines continued on the next
/// line with a '+' marker, and a "(N rows)" footer followed by an empty line.
/// </summary>
internal static class PsqlTable
{
    public static void Write(TextWriter output, IReadOnlyList<string> headers, IReadOnlyList<bool> rightAligned, IReadOnlyList<string?[]> rows)
    {
        int n = headers.Count;
        var sb = new StringBuilder();
        if (n == 0)
        {
            // psql prints no header line for a result without columns, only the separator.
            sb.Append("--\n");
            AppendFooter(sb, rows.Count);
            output.Write(sb.ToString());
            return;
        }
        var widths = new int[n];
        for (int j = 0; j < n; j++)
            widths[j] = Lines(headers[j]).Max(DisplayWidth);
        var cells = new List<string[][]>(rows.Count);
        foreach (var row in rows)
        {
            var split = new string[n][];
            for (int j = 0; j < n; j++)
            {
                split[j] = Lines(row[j] ?? "");
                widths[j] = Math.Max(widths[j], split[j].Max(DisplayWidth));
            }
            cells.Add(split);
        }

        // Header: every column centred and padded, even the last.
        var headerLines = headers.Select(Lines).ToArray();
        int headerHeight = headerLines.Max(l => l.Length);
        for (int line = 0; line < headerHeight; line++)
        {
            sb.Append(' ');
            for (int j = 0; j < n; j++)
            {
                string text = line < headerLines[j].Length ? headerLines[j][line] : "";
                int pad = widths[j] - DisplayWidth(text);
                sb.Append(' ', pad / 2).Append(text).Append(' ', pad - pad / 2);
                bool more = line + 1 < headerLines[j].Length;
                sb.Append(more ? '+' : ' ');
                if (j < n - 1)
                    sb.Append("| ");
            }
            sb.Append('\n');
        }
        for (int j = 0; j < n; j++)
        {
            if (j > 0)
                sb.Append('+');
            sb.Append('-', widths[j] + 2);
        }
        sb.Append('\n');

        foreach (var row in cells)
        {
            int height = row.Max(c => c.Length);
            for (int line = 0; line < height; line++)
            {
                sb.Append(' ');
                for (int j = 0; j < n; j++)
                {
                    string text = line < row[j].Length ? row[j][line] : "";
                    bool more = line + 1 < row[j].Length;
                    int pad = widths[j] - DisplayWidth(text);
                    bool last = j == n - 1;
                    if (rightAligned[j])
                        sb.Append(' ', pad).Append(text);
                    else if (!last || more)
                        sb.Append(text).Append(' ', pad);
                    else
                        sb.Append(text);
                    if (!last)
                        sb.Append(more ? '+' : ' ').Append("| ");
                    else if (more)
                        sb.Append('+');
                }
                sb.Append('\n');
            }
        }
        AppendFooter(sb, rows.Count);
        output.Write(sb.ToString());
    }

    private static void AppendFooter(StringBuilder sb, int count) =>
        sb.Append(count == 1 ? "(1 row)" : $"({count.ToString(CultureInfo.InvariantCulture)} rows)").Append("\n\n");

    private static string[] Lines(string s) => s.Split('\n');

    /// <summary>Terminal columns a string takes: wide East Asian characters count 2, combining marks 0.</summary>
    internal static int DisplayWidth(string s)
    {
        int width = 0;
        foreach (Rune r in s.EnumerateRunes())
        {
            var cat = Rune.GetUnicodeCategory(r);
            if (cat is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format)
                continue;
            width += IsWide(r.Value) ? 2 : 1;
        }
        return width;
    }

    private static bool IsWide(int c) =>
        c is >= 0x1100 and <= 0x115F or >= 0x2E80 and <= 0xA4CF or >= 0xAC00 and <= 0xD7A3 or >= 0xF900 and <= 0xFAFF
            or >= 0xFE30 and <= 0xFE4F or >= 0xFF00 and <= 0xFF60 or >= 0xFFE0 and <= 0xFFE6 or >= 0x1F300 and <= 0x1F64F
            or >= 0x1F900 and <= 0x1F9FF or >= 0x20000 and <= 0x3FFFD;
}
