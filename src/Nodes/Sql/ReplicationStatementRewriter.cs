using System.Globalization;
using System.Text;

namespace Mammoth.Nodes.Sql;

/// <summary>
/// Turns the Mammoth Replicator statements of the guide into calls of the mammoth.* catalog functions;
/// every other statement is left alone (<see cref="TryRewrite"/> returns null). Keywords are case-insensitive;
/// table names may be schema-qualified and quoted, and resolve in the session's search_path as usual.
/// <code>
/// ALTER TABLE name ENABLE REPLICATION              → SELECT mammoth.enable_replication('name')
/// ALTER TABLE name ENABLE REPLICATION ON SLAVE n   → SELECT mammoth.enable_replication_on_slave('name', n)
/// ALTER TABLE name DISABLE REPLICATION             → SELECT mammoth.disable_replication('name')
/// ALTER TABLE name ALTER [COLUMN] col ENABLE LO    → SELECT mammoth.enable_lo('name', 'col')
/// ALTER TABLE name ALTER [COLUMN] col DISABLE LO   → SELECT mammoth.disable_lo('name', 'col')
/// MCP REFRESH | MCP BATCHUPDATE                    → SELECT mammoth.mcp_refresh() | mammoth.mcp_batchupdate()
/// PROMOTE | PROMOTE FORCE | PROMOTE BACK           → SELECT mammoth.promote() | promote_force() | promote_back()
/// </code>
/// </summary>
public static class ReplicationStatementRewriter
{
    /// <summary>The rewritten statement, or null when the statement is not one of ours and goes to PostgreSQL unchanged.</summary>
    /// <exception cref="SqlRewriteException">The statement is one of ours but malformed.</exception>
    public static RewrittenStatement? TryRewrite(string statement)
    {
        var tokens = SqlLexer.Tokenize(statement);
        // A trailing semicolon may be left on by the caller.
        if (tokens.Count > 0 && tokens[^1].IsSymbol(statement, ';'))
            tokens.RemoveAt(tokens.Count - 1);
        if (tokens.Count == 0)
            return null;
        var r = new Reader(statement, tokens);
        if (r.Word("mcp"))
            return RewriteMcp(r);
        if (r.Word("promote"))
            return RewritePromote(r);
        if (r.Word("alter") && r.Word("table"))
            return RewriteAlterTable(r);
        return null;
    }

    private static RewrittenStatement RewriteMcp(Reader r)
    {
        RewrittenStatement? result = null;
        if (r.Word("refresh"))
            result = new("SELECT mammoth.mcp_refresh()", "MCP REFRESH");
        else if (r.Word("batchupdate"))
            result = new("SELECT mammoth.mcp_batchupdate()", "MCP BATCHUPDATE");
        if (result is null || !r.AtEnd)
            throw new SqlRewriteException("unknown MCP command; the MCP commands are MCP REFRESH (on the master) and MCP BATCHUPDATE (on a batch-mode slave)");
        return result;
    }

    private static RewrittenStatement RewritePromote(Reader r)
    {
        RewrittenStatement? result = null;
        if (r.AtEnd)
            return new("SELECT mammoth.promote()", "PROMOTE");
        if (r.Word("force"))
            result = new("SELECT mammoth.promote_force()", "PROMOTE FORCE");
        else if (r.Word("back"))
            result = new("SELECT mammoth.promote_back()", "PROMOTE BACK");
        if (result is null || !r.AtEnd)
            throw new SqlRewriteException("unknown PROMOTE command; write PROMOTE, PROMOTE FORCE or PROMOTE BACK");
        return result;
    }

    private static RewrittenStatement? RewriteAlterTable(Reader r)
    {
        int save = r.Index;
        if (!r.QualifiedName(out string table))
            return null;
        if (r.Word("enable"))
        {
            if (!r.Word("replication"))
                return null;  // e.g. ENABLE TRIGGER, ENABLE REPLICA TRIGGER, ENABLE ROW LEVEL SECURITY
            string literal = Literal(table);
            if (r.AtEnd)
                return new($"SELECT mammoth.enable_replication({literal})", "ALTER TABLE");
            if (r.Word("on") && r.Word("slave"))
            {
                if (r.Integer(out long slave) && r.AtEnd)
                {
                    if (slave is < 0 or > 63)
                        throw new SqlRewriteException($"slave number {slave} is out of range; slave numbers are 0 to 63 (the replication_slave_no of each slave)");
                    return new($"SELECT mammoth.enable_replication_on_slave({literal}, {slave.ToString(CultureInfo.InvariantCulture)})", "ALTER TABLE");
                }
                throw new SqlRewriteException($"ENABLE REPLICATION ON SLAVE needs one slave number from 0 to 63, as in ALTER TABLE {table} ENABLE REPLICATION ON SLAVE 0");
            }
            throw new SqlRewriteException($"unexpected words after ENABLE REPLICATION; write ALTER TABLE {table} ENABLE REPLICATION [ON SLAVE n]");
        }
        if (r.Word("disable"))
        {
            if (!r.Word("replication"))
                return null;
            if (!r.AtEnd)
                throw new SqlRewriteException($"unexpected words after DISABLE REPLICATION; write ALTER TABLE {table} DISABLE REPLICATION");
            return new($"SELECT mammoth.disable_replication({Literal(table)})", "ALTER TABLE");
        }
        if (r.Word("alter"))
        {
            r.Word("column");
            if (!r.Identifier(out string column, out _))
                return null;
            bool enable;
            if (r.Word("enable"))
                enable = true;
            else if (r.Word("disable"))
                enable = false;
            else
                return null;
            if (!r.Word("lo"))
                return null;
            if (!r.AtEnd)
                throw new SqlRewriteException($"unexpected words after {(enable ? "ENABLE" : "DISABLE")} LO; write ALTER TABLE {table} ALTER {QuoteIdent(column)} {(enable ? "ENABLE" : "DISABLE")} LO");
            return new($"SELECT mammoth.{(enable ? "enable_lo" : "disable_lo")}({Literal(table)}, {Literal(column)})", "ALTER TABLE");
        }
        r.Index = save;
        return null;
    }

    /// <summary>An identifier as PostgreSQL would print it: bare when it is lower-case and plain, else double-quoted.</summary>
    public static string QuoteIdent(string identifier)
    {
        bool plain = identifier.Length > 0 && (char.IsAsciiLetterLower(identifier[0]) || identifier[0] == '_');
        foreach (char c in identifier)
            plain &= char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '$';
        return plain ? identifier : "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>A SQL string constant holding <paramref name="value"/>, whatever standard_conforming_strings is.</summary>
    public static string Literal(string value) =>
        value.Contains('\\', StringComparison.Ordinal)
            ? "E'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'"
            : "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private sealed class Reader(string sql, List<SqlToken> tokens)
    {
        public int Index { get; set; }

        public bool AtEnd => Index >= tokens.Count;

        public bool Word(string word)
        {
            if (!AtEnd && tokens[Index].IsWord(sql, word))
            {
                Index++;
                return true;
            }
            return false;
        }

        public bool Integer(out long value)
        {
            value = 0;
            if (AtEnd || tokens[Index].Kind != SqlTokenKind.Number)
                return false;
            if (!long.TryParse(tokens[Index].Text(sql), NumberStyles.None, CultureInfo.InvariantCulture, out value))
                return false;
            Index++;
            return true;
        }

        /// <summary>One identifier: unquoted (folded to lower case, as PostgreSQL does) or double-quoted (exact).</summary>
        public bool Identifier(out string name, out bool quoted)
        {
            name = "";
            quoted = false;
            if (AtEnd)
                return false;
            var t = tokens[Index];
            string text = t.Text(sql);
            if (t.Kind == SqlTokenKind.Word)
            {
                name = FoldAscii(text);
            }
            else if (t.Kind == SqlTokenKind.QuotedIdentifier && text[0] == '"')
            {
                name = text[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal);
                quoted = true;
                if (name.Length == 0)
                    throw new SqlRewriteException("a quoted identifier (\"\") is empty; give the table or column name between the quotes");
            }
            else
            {
                return false;
            }
            Index++;
            return true;
        }

        /// <summary>name or schema.name, returned in identifier syntax ready for to_regclass: public."My Tab".</summary>
        public bool QualifiedName(out string qualified)
        {
            qualified = "";
            if (!Identifier(out string first, out _))
                return false;
            var sb = new StringBuilder(QuoteIdent(first));
            while (!AtEnd && tokens[Index].IsSymbol(sql, '.'))
            {
                Index++;
                if (!Identifier(out string part, out _))
                    throw new SqlRewriteException($"a name ends in a dot after {sb}; write schema.table");
                sb.Append('.').Append(QuoteIdent(part));
            }
            qualified = sb.ToString();
            return true;
        }

        private static string FoldAscii(string s)
        {
            // PostgreSQL folds only ASCII letters of unquoted identifiers (in UTF-8 databases).
            var chars = s.ToCharArray();
            for (int i = 0; i < chars.Length; i++)
            {
                if (char.IsAsciiLetterUpper(chars[i]))
                    chars[i] = (char)(chars[i] + 32);
            }
            return new string(chars);
        }
    }
}
