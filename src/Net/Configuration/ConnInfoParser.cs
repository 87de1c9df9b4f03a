using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Mammoth.Net.Configuration;

/// <summary>
/// libpq's <c>keyword=value</c> connection strings (<c>replication_conninfo</c>), read without Npgsql:
/// pairs separated by white space, white space allowed around <c>=</c>, a value single-quoted when it holds
/// spaces or is empty, and a backslash escaping the next character (<c>\'</c>, <c>\\</c>) in quoted and bare
/// values alike. Only the keywords in <see cref="Keywords"/> are accepted; a repeated keyword's last value wins.
/// </summary>
public static class ConnInfoParser
{
    /// <summary>The keywords MammothFast understands, with libpq's meaning.</summary>
    public static IReadOnlyList<string> Keywords { get; } = ["host", "port", "dbname", "user", "password", "sslmode"];

    /// <summary>libpq's sslmode values.</summary>
    public static IReadOnlyList<string> SslModes { get; } = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

    /// <summary>Reads a conninfo string into keyword → value (keywords are case-sensitive, as in libpq).</summary>
    /// <exception cref="FormatException">One sentence saying what is wrong, starting "conninfo …".</exception>
    public static IReadOnlyDictionary<string, string> Parse(string conninfo) =>
        TryParse(conninfo, out var values, out var problem) ? values : throw new FormatException("conninfo " + problem);

    /// <summary>
    /// Reads a conninfo string. On failure <paramref name="problem"/> is the rest of a sentence whose subject
    /// is the conninfo, e.g. <c>has an unknown keyword "hots"; did you mean "host"?</c>, ending in its own punctuation.
    /// </summary>
    public static bool TryParse(string conninfo, [NotNullWhen(true)] out IReadOnlyDictionary<string, string>? values, [NotNullWhen(false)] out string? problem)
    {
        values = null;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var text = conninfo.AsSpan();
        if (text.TrimStart().StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || text.TrimStart().StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            problem = "is a URI; write it as keyword=value pairs, as in host=localhost port=5432 dbname=app.";
            return false;
        }

        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            if (i == text.Length)
            {
                break;
            }

            var keywordStart = i;
            while (i < text.Length && text[i] != '=' && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            var keyword = text[keywordStart..i].ToString();
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            if (i == text.Length || text[i] != '=')
            {
                problem = $"has no \"=\" after \"{keyword}\"; write keyword=value pairs, as in host=localhost port=5432.";
                return false;
            }
            if (keyword.Length == 0)
            {
                problem = "has \"=\" with no keyword before it; write keyword=value pairs, as in host=localhost port=5432.";
                return false;
            }
            i++;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var value = new StringBuilder();
            if (i < text.Length && text[i] == '\'')
            {
                i++;
                var closed = false;
                while (i < text.Length)
                {
                    var c = text[i++];
                    if (c == '\\' && i < text.Length)
                    {
                        value.Append(text[i++]);
                    }
                    else if (c == '\'')
                    {
                        closed = true;
                        break;
                    }
                    else
                    {
                        value.Append(c);
                    }
                }
                if (!closed)
                {
                    problem = $"has an unterminated quoted value for {keyword}; end it with ' and write \\' for a quote inside it.";
                    return false;
                }
            }
            else
            {
                // As libpq: a bare value runs to the next white space, so "host= port=5" gives host the value "port=5".
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    var c = text[i++];
                    if (c == '\\' && i < text.Length)
                    {
                        c = text[i++];
                    }
                    value.Append(c);
                }
            }

            if (!Keywords.Contains(keyword))
            {
                problem = EditDistance.Suggest(keyword, Keywords) is { } suggestion
                    ? $"has an unknown keyword \"{keyword}\"; did you mean \"{suggestion}\"?"
                    : $"has an unknown keyword \"{keyword}\"; use {string.Join(", ", Keywords.Take(Keywords.Count - 1))} or {Keywords[^1]}.";
                return false;
            }
            result[keyword] = value.ToString();
        }

        if (result.TryGetValue("port", out var port)
            && (!ValueParsers.TryParseInteger(port, out var number) || number is < 1 or > 65535))
        {
            problem = $"has port={port}, which is not a TCP port; use a number between 1 and 65535.";
            return false;
        }
        if (result.TryGetValue("sslmode", out var sslMode) && !SslModes.Contains(sslMode))
        {
            problem = $"has sslmode={sslMode}; use {string.Join(", ", SslModes.Take(SslModes.Count - 1))} or {SslModes[^1]}.";
            return false;
        }
        values = result;
        problem = null;
        return true;
    }
}
