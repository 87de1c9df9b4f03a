namespace Mammoth.Nodes.Sql;

/// <summary>
/// Cuts SQL text into statements at semicolons, as psql does: not inside strings, quoted identifiers,
/// dollar quotes, comments or parentheses, nor inside the BEGIN … END body of a
/// CREATE [OR REPLACE] FUNCTION|PROCEDURE (psql's heuristic, CASE … END included).
/// </summary>
public static class SqlSplitter
{
    /// <summary>
    /// The complete statements of <paramref name="text"/>; <paramref name="remainder"/> is what follows the last
    /// semicolon (an unfinished statement, or only white space and comments).
    /// </summary>
    public static List<SqlStatement> Split(string text, out string remainder)
    {
        var result = new List<SqlStatement>();
        var lexer = new SqlLexer(text);
        int stmtStart = 0;
        int parenDepth = 0, beginDepth = 0, wordCount = 0;
        bool hasTokens = false, routine = false;
        string first = "", second = "", third = "";
        while (lexer.Next(out var t))
        {
            if (t.IsSymbol(text, ';') && parenDepth == 0 && beginDepth == 0)
            {
                if (hasTokens)
                    result.Add(Make(text, stmtStart, t.Start));
                stmtStart = t.End;
                parenDepth = beginDepth = wordCount = 0;
                hasTokens = routine = false;
                first = second = third = "";
                continue;
            }
            hasTokens = true;
            if (t.Kind == SqlTokenKind.Symbol)
            {
                if (t.IsSymbol(text, '('))
                    parenDepth++;
                else if (t.IsSymbol(text, ')') && parenDepth > 0)
                    parenDepth--;
                continue;
            }
            if (t.Kind != SqlTokenKind.Word)
                continue;
            string w = t.Text(text).ToLowerInvariant();
            switch (wordCount++)
            {
                case 0: first = w; break;
                case 1:
                    second = w;
                    routine = first == "create" && w is "function" or "procedure";
                    break;
                case 2: third = w; break;
                case 3:
                    routine = routine || (first == "create" && second == "or" && third == "replace" && w is "function" or "procedure");
                    break;
            }
            if (!routine || parenDepth != 0)
                continue;
            if (w == "begin")
                beginDepth++;
            else if (w == "case" && beginDepth >= 1)
                beginDepth++;
            else if (w == "end" && beginDepth > 0)
                beginDepth--;
        }
        remainder = text[stmtStart..];
        return result;
    }

    /// <summary>Every statement of a whole script; a last statement without a semicolon counts too.</summary>
    public static List<SqlStatement> SplitScript(string text)
    {
        var list = Split(text, out string rest);
        int offset = text.Length - rest.Length;
        var lexer = new SqlLexer(rest);
        if (lexer.Next(out _) || lexer.Incomplete)
            list.Add(Make(text, offset, text.Length));
        return list;
    }

    private static SqlStatement Make(string text, int start, int end)
    {
        // Leading white space is dropped; comments stay (PostgreSQL skips them).
        while (start < end && char.IsWhiteSpace(text[start]))
            start++;
        while (end > start && char.IsWhiteSpace(text[end - 1]))
            end--;
        return new SqlStatement(text[start..end], start);
    }
}
