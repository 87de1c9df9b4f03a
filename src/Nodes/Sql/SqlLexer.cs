namespace Mammoth.Nodes.Sql;

/// <summary>
/// A PostgreSQL lexer good enough to find statement boundaries and read the statements MammothFast rewrites:
/// strings ('…' with '' and E'…' with backslash escapes), quoted identifiers, dollar quotes, nested block
/// comments, line comments, numbers, parameters and operators. It never fails: text that ends inside a
/// string, identifier, dollar quote or comment stops the scan and is reported by <see cref="Incomplete"/>.
/// </summary>
public sealed class SqlLexer
{
    private readonly string _sql;
    private int _pos;

    public SqlLexer(string sql, int start = 0)
    {
        _sql = sql;
        _pos = start;
    }

    /// <summary>True when the text ended inside a string, quoted identifier, dollar quote or block comment.</summary>
    public bool Incomplete { get; private set; }

    /// <summary>Where the scan is; after a false <see cref="Next"/>, the end of the text or the start of the unfinished token.</summary>
    public int Position => _pos;

    public static List<SqlToken> Tokenize(string sql)
    {
        var lexer = new SqlLexer(sql);
        var list = new List<SqlToken>();
        while (lexer.Next(out var t))
            list.Add(t);
        return list;
    }

    /// <summary>Reads the next token; false at the end of the text or at an unfinished token.</summary>
    public bool Next(out SqlToken token)
    {
        token = default;
        if (!SkipSpaceAndComments())
            return false;
        if (_pos >= _sql.Length)
            return false;
        int start = _pos;
        char c = _sql[_pos];
        char next = _pos + 1 < _sql.Length ? _sql[_pos + 1] : '\0';

        // Prefixed strings and identifiers: E'…', B'…', X'…', N'…', U&'…', U&"…".
        if ((c is 'e' or 'E') && next == '\'')
            return Finish(ScanQuoted(_pos + 1, '\'', backslashEscapes: true), SqlTokenKind.String, start, out token);
        if ((c is 'b' or 'B' or 'x' or 'X' or 'n' or 'N') && next == '\'')
            return Finish(ScanQuoted(_pos + 1, '\'', backslashEscapes: false), SqlTokenKind.String, start, out token);
        if ((c is 'u' or 'U') && next == '&' && _pos + 2 < _sql.Length && _sql[_pos + 2] is '\'' or '"')
        {
            char q = _sql[_pos + 2];
            return Finish(ScanQuoted(_pos + 2, q, backslashEscapes: false), q == '"' ? SqlTokenKind.QuotedIdentifier : SqlTokenKind.String, start, out token);
        }
        if (c == '\'')
            return Finish(ScanQuoted(_pos, '\'', backslashEscapes: false), SqlTokenKind.String, start, out token);
        if (c == '"')
            return Finish(ScanQuoted(_pos, '"', backslashEscapes: false), SqlTokenKind.QuotedIdentifier, start, out token);
        if (c == '$')
        {
            if (char.IsAsciiDigit(next))
            {
                _pos++;
                while (_pos < _sql.Length && char.IsAsciiDigit(_sql[_pos]))
                    _pos++;
                token = new SqlToken(SqlTokenKind.Parameter, start, _pos - start);
                return true;
            }
            int tagEnd = _pos + 1;
            if (tagEnd < _sql.Length && IsIdentStart(_sql[tagEnd]))
            {
                tagEnd++;
                while (tagEnd < _sql.Length && IsIdentPart(_sql[tagEnd]) && _sql[tagEnd] != '$')
                    tagEnd++;
            }
            if (tagEnd < _sql.Length && _sql[tagEnd] == '$')
            {
                string tag = _sql.Substring(_pos, tagEnd - _pos + 1);
                int close = _sql.IndexOf(tag, tagEnd + 1, StringComparison.Ordinal);
                if (close < 0)
                {
                    Incomplete = true;
                    return false;
                }
                _pos = close + tag.Length;
                token = new SqlToken(SqlTokenKind.DollarString, start, _pos - start);
                return true;
            }
            _pos++;
            token = new SqlToken(SqlTokenKind.Symbol, start, 1);
            return true;
        }
        if (IsIdentStart(c))
        {
            _pos++;
            while (_pos < _sql.Length && IsIdentPart(_sql[_pos]))
                _pos++;
            token = new SqlToken(SqlTokenKind.Word, start, _pos - start);
            return true;
        }
        if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(next)))
        {
            ScanNumber();
            token = new SqlToken(SqlTokenKind.Number, start, _pos - start);
            return true;
        }
        if (c == ':' && next == ':')
        {
            _pos += 2;
            token = new SqlToken(SqlTokenKind.Symbol, start, 2);
            return true;
        }
        if (c is '(' or ')' or '[' or ']' or ',' or ';' or ':' or '.')
        {
            _pos++;
            token = new SqlToken(SqlTokenKind.Symbol, start, 1);
            return true;
        }
        if (IsOperatorChar(c))
        {
            _pos++;
            while (_pos < _sql.Length && IsOperatorChar(_sql[_pos]) && !StartsComment(_pos))
                _pos++;
            token = new SqlToken(SqlTokenKind.Symbol, start, _pos - start);
            return true;
        }
        // Anything else (a stray backslash, a non-ASCII symbol): a one-character symbol.
        _pos++;
        token = new SqlToken(SqlTokenKind.Symbol, start, 1);
        return true;
    }

    private bool Finish(bool complete, SqlTokenKind kind, int start, out SqlToken token)
    {
        if (!complete)
        {
            Incomplete = true;
            _pos = start;
            token = default;
            return false;
        }
        token = new SqlToken(kind, start, _pos - start);
        return true;
    }

    /// <summary>Scans a quoted run starting at the opening quote; a doubled quote is one quote.</summary>
    private bool ScanQuoted(int open, char quote, bool backslashEscapes)
    {
        int i = open + 1;
        while (i < _sql.Length)
        {
            char c = _sql[i];
            if (backslashEscapes && c == '\\')
            {
                i += 2;
                continue;
            }
            if (c == quote)
            {
                if (i + 1 < _sql.Length && _sql[i + 1] == quote)
                {
                    i += 2;
                    continue;
                }
                _pos = i + 1;
                return true;
            }
            i++;
        }
        return false;
    }

    private void ScanNumber()
    {
        while (_pos < _sql.Length && (char.IsAsciiDigit(_sql[_pos]) || _sql[_pos] == '_'))
            _pos++;
        if (_pos < _sql.Length && _sql[_pos] == '.' && !(_pos + 1 < _sql.Length && _sql[_pos + 1] == '.'))
        {
            _pos++;
            while (_pos < _sql.Length && char.IsAsciiDigit(_sql[_pos]))
                _pos++;
        }
        if (_pos < _sql.Length && _sql[_pos] is 'e' or 'E')
        {
            int save = _pos++;
            if (_pos < _sql.Length && _sql[_pos] is '+' or '-')
                _pos++;
            if (_pos < _sql.Length && char.IsAsciiDigit(_sql[_pos]))
            {
                while (_pos < _sql.Length && char.IsAsciiDigit(_sql[_pos]))
                    _pos++;
            }
            else
            {
                _pos = save;
            }
        }
    }

    private bool SkipSpaceAndComments()
    {
        while (_pos < _sql.Length)
        {
            char c = _sql[_pos];
            if (char.IsWhiteSpace(c))
            {
                _pos++;
            }
            else if (c == '-' && _pos + 1 < _sql.Length && _sql[_pos + 1] == '-')
            {
                int nl = _sql.IndexOf('\n', _pos);
                _pos = nl < 0 ? _sql.Length : nl + 1;
            }
            else if (c == '/' && _pos + 1 < _sql.Length && _sql[_pos + 1] == '*')
            {
                int depth = 0, i = _pos;
                while (i < _sql.Length)
                {
                    if (_sql[i] == '/' && i + 1 < _sql.Length && _sql[i + 1] == '*')
                    {
                        depth++;
                        i += 2;
                    }
                    else if (_sql[i] == '*' && i + 1 < _sql.Length && _sql[i + 1] == '/')
                    {
                        depth--;
                        i += 2;
                        if (depth == 0)
                            break;
                    }
                    else
                    {
                        i++;
                    }
                }
                if (depth > 0)
                {
                    Incomplete = true;
                    return false;
                }
                _pos = i;
            }
            else
            {
                return true;
            }
        }
        return true;
    }

    private bool StartsComment(int i) =>
        i + 1 < _sql.Length && ((_sql[i] == '-' && _sql[i + 1] == '-') || (_sql[i] == '/' && _sql[i + 1] == '*'));

    private static bool IsIdentStart(char c) => char.IsAsciiLetter(c) || c == '_' || c >= '\u0080';

    private static bool IsIdentPart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '$' || c >= '\u0080';

    private static bool IsOperatorChar(char c) => c is '+' or '-' or '*' or '/' or '<' or '>' or '=' or '~' or '!' or '@' or '#' or '%' or '^' or '&' or '|' or '`' or '?';
}
