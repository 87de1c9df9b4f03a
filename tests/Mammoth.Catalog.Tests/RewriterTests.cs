using Mammoth.Nodes.Sql;

namespace Mammoth.Catalog.Tests;

public sealed class RewriterTests
{
    [Theory]
    [InlineData("ALTER TABLE foo ENABLE REPLICATION", "SELECT mammoth.enable_replication('foo')", "ALTER TABLE")]
    [InlineData("alter table foo enable replication;", "SELECT mammoth.enable_replication('foo')", "ALTER TABLE")]
    [InlineData("ALTER TABLE Foo ENABLE REPLICATION ON SLAVE 0", "SELECT mammoth.enable_replication_on_slave('foo', 0)", "ALTER TABLE")]
    [InlineData("alter table \"My Tab\" enable replication on slave 3;", "SELECT mammoth.enable_replication_on_slave('\"My Tab\"', 3)", "ALTER TABLE")]
    [InlineData("Alter Table Sales.\"Order\"\"s\" Enable Replication", "SELECT mammoth.enable_replication('sales.\"Order\"\"s\"')", "ALTER TABLE")]
    [InlineData("ALTER TABLE \"public\".\"foo\" ENABLE REPLICATION", "SELECT mammoth.enable_replication('public.foo')", "ALTER TABLE")]
    [InlineData("ALTER TABLE \"it's\" ENABLE REPLICATION", "SELECT mammoth.enable_replication('\"it''s\"')", "ALTER TABLE")]
    [InlineData("ALTER TABLE \"back\\slash\" DISABLE REPLICATION", "SELECT mammoth.disable_replication(E'\"back\\\\slash\"')", "ALTER TABLE")]
    [InlineData("ALTER /* c */ TABLE -- c\n foo\n\tENABLE   REPLICATION ON\nSLAVE 63", "SELECT mammoth.enable_replication_on_slave('foo', 63)", "ALTER TABLE")]
    [InlineData("ALTER TABLE foo DISABLE REPLICATION", "SELECT mammoth.disable_replication('foo')", "ALTER TABLE")]
    [InlineData("ALTER TABLE foo ALTER bar ENABLE LO", "SELECT mammoth.enable_lo('foo', 'bar')", "ALTER TABLE")]
    [InlineData("alter table s.foo alter column \"Img\" enable lo", "SELECT mammoth.enable_lo('s.foo', 'Img')", "ALTER TABLE")]
    [InlineData("ALTER TABLE foo ALTER COLUMN Bar DISABLE LO;", "SELECT mammoth.disable_lo('foo', 'bar')", "ALTER TABLE")]
    [InlineData("ALTER TABLE _t$1 ENABLE REPLICATION", "SELECT mammoth.enable_replication('_t$1')", "ALTER TABLE")]
    [InlineData("MCP REFRESH", "SELECT mammoth.mcp_refresh()", "MCP REFRESH")]
    [InlineData("mcp batchupdate;", "SELECT mammoth.mcp_batchupdate()", "MCP BATCHUPDATE")]
    [InlineData("PROMOTE", "SELECT mammoth.promote()", "PROMOTE")]
    [InlineData("promote force", "SELECT mammoth.promote_force()", "PROMOTE FORCE")]
    [InlineData("Promote Back ;", "SELECT mammoth.promote_back()", "PROMOTE BACK")]
    public void Replication_statements_become_catalog_calls(string statement, string sql, string tag)
    {
        var r = ReplicationStatementRewriter.TryRewrite(statement);
        Assert.NotNull(r);
        Assert.Equal(sql, r.Sql);
        Assert.Equal(tag, r.CommandTag);
    }

    [Theory]
    [InlineData("ALTER TABLE foo ENABLE TRIGGER t")]
    [InlineData("ALTER TABLE foo ENABLE REPLICA TRIGGER t")]
    [InlineData("ALTER TABLE foo ENABLE ROW LEVEL SECURITY")]
    [InlineData("ALTER TABLE foo DISABLE TRIGGER ALL")]
    [InlineData("ALTER TABLE foo ADD COLUMN replication text")]
    [InlineData("ALTER TABLE foo ALTER COLUMN bar TYPE text")]
    [InlineData("ALTER TABLE foo ALTER bar SET DEFAULT 1")]
    [InlineData("ALTER TABLE IF EXISTS foo RENAME TO bar")]
    [InlineData("ALTER TABLE ONLY foo ADD PRIMARY KEY (id)")]
    [InlineData("ALTER TABLESPACE x RENAME TO y")]
    [InlineData("SELECT 'ALTER TABLE foo ENABLE REPLICATION'")]
    [InlineData("select promote from t")]
    [InlineData("-- MCP REFRESH\nselect 1")]
    [InlineData("")]
    [InlineData("   ")]
    public void Other_statements_pass_through(string statement) =>
        Assert.Null(ReplicationStatementRewriter.TryRewrite(statement));

    [Theory]
    [InlineData("ALTER TABLE foo ENABLE REPLICATION ON SLAVE", "ENABLE REPLICATION ON SLAVE needs one slave number from 0 to 63, as in ALTER TABLE foo ENABLE REPLICATION ON SLAVE 0")]
    [InlineData("ALTER TABLE foo ENABLE REPLICATION ON SLAVE x", "ENABLE REPLICATION ON SLAVE needs one slave number")]
    [InlineData("ALTER TABLE foo ENABLE REPLICATION ON SLAVE 1, 2", "ENABLE REPLICATION ON SLAVE needs one slave number")]
    [InlineData("ALTER TABLE foo ENABLE REPLICATION ON SLAVE 64", "slave number 64 is out of range; slave numbers are 0 to 63")]
    [InlineData("ALTER TABLE foo ENABLE REPLICATION NOW", "unexpected words after ENABLE REPLICATION; write ALTER TABLE foo ENABLE REPLICATION [ON SLAVE n]")]
    [InlineData("ALTER TABLE foo DISABLE REPLICATION ON SLAVE 1", "unexpected words after DISABLE REPLICATION")]
    [InlineData("ALTER TABLE foo ALTER \"Bar\" ENABLE LO please", "unexpected words after ENABLE LO; write ALTER TABLE foo ALTER \"Bar\" ENABLE LO")]
    [InlineData("MCP", "unknown MCP command")]
    [InlineData("MCP RESTART", "unknown MCP command; the MCP commands are MCP REFRESH (on the master) and MCP BATCHUPDATE (on a batch-mode slave)")]
    [InlineData("PROMOTE NOW", "unknown PROMOTE command; write PROMOTE, PROMOTE FORCE or PROMOTE BACK")]
    [InlineData("PROMOTE FORCE BACK", "unknown PROMOTE command")]
    [InlineData("ALTER TABLE s.", "a name ends in a dot after s")]
    [InlineData("ALTER TABLE \"\" ENABLE REPLICATION", "a quoted identifier (\"\") is empty")]
    public void Malformed_replication_statements_are_one_sentence(string statement, string message)
    {
        var ex = Assert.Throws<SqlRewriteException>(() => ReplicationStatementRewriter.TryRewrite(statement));
        Assert.StartsWith(message, ex.Message);
    }

    [Theory]
    [InlineData("foo", "foo")]
    [InlineData("Foo", "\"Foo\"")]
    [InlineData("my tab", "\"my tab\"")]
    [InlineData("a\"b", "\"a\"\"b\"")]
    [InlineData("1abc", "\"1abc\"")]
    [InlineData("_x9$", "_x9$")]
    public void Identifiers_are_quoted_only_when_needed(string identifier, string quoted) =>
        Assert.Equal(quoted, ReplicationStatementRewriter.QuoteIdent(identifier));
}
