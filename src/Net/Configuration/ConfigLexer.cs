using System.Text;

namespace Mammoth.Net.Configuration;

/// <summary>
/// Reads postgresql.conf syntax into <c>name = value</c> entries: one setting per line, the <c>=</c>
/// optional, <c>#</c> starting a comment anywhere outside quotes, values bare or single-quoted.
/// </summary>
/// <remarks>
/// Quoted values follow PostgreSQL's GUC scanner: <c>''</c> is a quote, and a backslash escapes the next
/// character, with <c>\b \f \n \r \t</c> and up to three octal digits <c>\ooo</c> meaning what they mean in C.
/// A quoted value cannot span lines. A bare value is any run of characters other than white space,
/// <c>#</c>, <c>'</c> and <c>=</c> — more than PostgreSQL accepts bare (it wants <c>0.0.0.0</c> quoted), and
/// nothing PostgreSQL accepts is read differently. PostgreSQL's include directives are not supported.
/// </remarks>
internal static class ConfigLexer
{
    private const string NameHint = "write settings as name = value";
    private const string ValueHint = "write one setting per line and quote values that contain spaces, '=', '#' or quotes, as in name = 'a value'";

    public static List<ConfigEntry> Read(string text, string fileName)
    {
        var entries = new List<ConfigEntry>();
        var lineNumber = 0;
        var rest = text.AsSpan();
        while (true)
        {
            lineNumber++;
            var end = rest.IndexOf('\n');
            var line = end < 0 ? rest : rest[..end];
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }
            ReadLine(line, lineNumber, fileName, entries);
            if (end < 0)
            {
                return entries;
            }
            rest = rest[(end + 1)..];
        }
    }

    private static void ReadLine(ReadOnlySpan<char> line, int lineNumber, string fileName, List<ConfigEntry> entries)
    {
        var i = SkipSpace(line, 0);
        if (i == line.Length || line[i] == '#')
        {
            return;
        }

        var nameStart = i;
        i = TokenEnd(line, i);
        var writtenName = line[nameStart..i].ToString();
        if (!IsName(writtenName))
        {
            var hint = writtenName.Length > 0 && IsNameStart(writtenName[0])
                ? "setting names contain only letters, digits, underscores and dots"
                : NameHint;
            throw SyntaxError(fileName, lineNumber, line, nameStart, nameStart, hint);
        }
        var name = writtenName.ToLowerInvariant();
        if (name is "include" or "include_if_exists" or "include_dir")
        {
            throw new ConfigException(fileName, lineNumber, null,
                $"{writtenName} directives are not supported; put every setting in {fileName} itself.");
        }

        var previousStart = nameStart;
        i = SkipSpace(line, i);
        if (i < line.Length && line[i] == '=')
        {
            previousStart = i;
            i = SkipSpace(line, i + 1);
        }
        if (i == line.Length || line[i] == '#')
        {
            throw new ConfigException(fileName, lineNumber, name,
                $"{writtenName} has no value; write {writtenName} = value (use '' for an empty value).");
        }
        if (line[i] == '=')
        {
            throw SyntaxError(fileName, lineNumber, line, previousStart, i, NameHint);
        }

        var valueStart = i;
        string value;
        if (line[i] == '\'')
        {
            value = ReadQuoted(line, ref i) ?? throw new ConfigException(fileName, lineNumber, name,
                $"the value of {writtenName} has no closing quote; end it with ' on the same line and write '' for a quote inside it.");
        }
        else
        {
            i = TokenEnd(line, i);
            value = line[valueStart..i].ToString();
        }

        i = SkipSpace(line, i);
        if (i < line.Length && line[i] != '#')
        {
            throw SyntaxError(fileName, lineNumber, line, valueStart, i, ValueHint);
        }
        entries.Add(new ConfigEntry(name, writtenName, value, lineNumber));
    }

    /// <summary>Reads a quoted value starting at the opening quote; null when it is not closed on this line.</summary>
    private static string? ReadQuoted(ReadOnlySpan<char> line, ref int i)
    {
        var value = new StringBuilder();
        i++;
        while (i < line.Length)
        {
            var c = line[i];
            if (c == '\'')
            {
                if (i + 1 < line.Length && line[i + 1] == '\'')
                {
                    value.Append('\'');
                    i += 2;
                    continue;
                }
                i++;
                return value.ToString();
            }
            if (c != '\\')
            {
                value.Append(c);
                i++;
                continue;
            }
            if (i + 1 == line.Length)
            {
                return null;
            }
            var escaped = line[i + 1];
            i += 2;
            switch (escaped)
            {
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'n': value.Append('\n'); break;
                case 'r': value.Append('\r'); break;
                case 't': value.Append('\t'); break;
                case >= '0' and <= '7':
                    var code = escaped - '0';
                    for (var digits = 1; digits < 3 && i < line.Length && line[i] is >= '0' and <= '7'; digits++, i++)
                    {
                        code = code * 8 + (line[i] - '0');
                    }
                    value.Append((char)code);
                    break;
                default: value.Append(escaped); break;
            }
        }
        return null;
    }

    /// <summary>Where the token starting at <paramref name="start"/> ends: a quoted string, a lone '=', or a bare run.</summary>
    private static int TokenEnd(ReadOnlySpan<char> line, int start)
    {
        if (start >= line.Length)
        {
            return start;
        }
        if (line[start] == '=')
        {
            return start + 1;
        }
        if (line[start] == '\'')
        {
            var i = start + 1;
            while (i < line.Length)
            {
                if (line[i] == '\\')
                {
                    i += 2;
                }
                else if (line[i] == '\'' && i + 1 < line.Length && line[i + 1] == '\'')
                {
                    i += 2;
                }
                else if (line[i++] == '\'')
                {
                    break;
                }
            }
            return Math.Min(i, line.Length);
        }
        var end = start;
        while (end < line.Length && !IsSpace(line[end]) && line[end] is not ('#' or '\'' or '='))
        {
            end++;
        }
        return end;
    }

    private static ConfigException SyntaxError(string fileName, int lineNumber, ReadOnlySpan<char> line, int from, int tokenStart, string hint)
    {
        var near = line[from..TokenEnd(line, tokenStart)].ToString();
        if (near.Length > 40)
        {
            near = near[..40] + "…";
        }
        return new ConfigException(fileName, lineNumber, null, $"syntax error near \"{near}\"; {hint}.");
    }

    private static int SkipSpace(ReadOnlySpan<char> line, int i)
    {
        while (i < line.Length && IsSpace(line[i]))
        {
            i++;
        }
        return i;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\f' or '\v';

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsName(string name)
    {
        if (name.Length == 0 || !IsNameStart(name[0]))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.'))
            {
                return false;
            }
        }
        return true;
    }
}
