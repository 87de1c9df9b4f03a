using Mammoth.Nodes.Sql;

namespace Mammoth.Catalog.Tests;

public sealed class SplitterTests
{
    private static List<string> Split(string sql) => SqlSplitter.SplitScript(sql).Select(s => s.Text).ToList();

    [Fact]
    public void Semicolons_inside_quotes_comments_and_dollar_quotes_do_not_split()
    {
        Assert.Equal(["select 'a;b'", "select \"x;y\" from t", "select 1"], Split("select 'a;b'; select \"x;y\" from t; select 1"));
        Assert.Equal(["select 'it''s; here'"], Split("select 'it''s; here';"));
        Assert.Equal(["select E'\\'; still'"], Split("select E'\\'; still';"));
        Assert.Equal(["select 1 -- trailing; comment\n+ 1", "select 2"], Split("select 1 -- trailing; comment\n+ 1; select 2;"));
        Assert.Equal(["select /* a; /* nested; */ b; */ 1"], Split("select /* a; /* nested; */ b; */ 1;"));
        Assert.Equal(["do $$ begin perform 1; end $$", "select 2"], Split("do $$ begin perform 1; end $$; select 2"));
        Assert.Equal(["create function f() returns int as $body$ select 1; $x$ not the end; $body$ language sql"],
            Split("create function f() returns int as $body$ select 1; $x$ not the end; $body$ language sql;"));
        Assert.Equal(["select $1, foo$bar", "select 2"], Split("select $1, foo$bar; select 2"));
        Assert.Equal(["create rule r as on insert to t do also (insert into a values (1); insert into b values (2))"],
            Split("create rule r as on insert to t do also (insert into a values (1); insert into b values (2));"));
    }

    [Fact]
    public void Begin_atomic_bodies_stay_whole_but_transaction_begin_splits()
    {
        Assert.Equal(["create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end", "select f()"],
            Split("create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end; select f();"));
        Assert.Equal(["CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC insert into t values (1); END", "call p()"],
            Split("CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC insert into t values (1); END; call p()"));
        Assert.Equal(["begin", "insert into t values (1)", "end"], Split("begin; insert into t values (1); end;"));
        Assert.Equal(["select case when x then 1 end from t", "select 2"], Split("select case when x then 1 end from t; select 2"));
    }

    [Fact]
    public void Empty_statements_vanish_and_an_unfinished_tail_is_the_remainder()
    {
        Assert.Equal(["select 1"], Split(";;  select 1 ; ; -- only a comment\n"));
        var done = SqlSplitter.Split("select 1; select 'open", out string rest);
        Assert.Equal(["select 1"], done.Select(s => s.Text));
        Assert.Equal(" select 'open", rest);
        SqlSplitter.Split("select $$ a;", out rest);
        Assert.Equal("select $$ a;", rest);
        SqlSplitter.Split("select 1 /* open; comment", out rest);
        Assert.Equal("select 1 /* open; comment", rest);
        Assert.Equal(["select 'unterminated"], Split("select 'unterminated"));
        Assert.Equal(12, SqlSplitter.SplitScript("select 1;\n  select 2").Last().Offset);
    }
}
