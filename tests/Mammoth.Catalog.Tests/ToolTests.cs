namespace Mammoth.Catalog.Tests;

/// <summary>init-mammoth-database and mammoth sql, run as processes against the shared cluster.</summary>
[Collection("cluster")]
public sealed class ToolTests(ClusterFixture fx)
{
    [Fact]
    public async Task Init_with_a_data_directory_installs_then_reports_the_version()
    {
        int version = Mammoth.Nodes.Catalog.CatalogInstaller.CurrentVersion;
        string db = await fx.NewDatabaseAsync(install: false);
        var (code, stdout, stderr) = await Tool.RunAsync("init-mammoth-database", "-D", fx.Cluster.DataDir, db);
        Assert.True(code == 0, stderr);
        Assert.Equal($"init-mammoth-database: installed the MammothFast catalog (schema mammoth), version {version}, in database {db}\n", stdout);
        Assert.Equal("", stderr);

        (code, stdout, _) = await Tool.RunAsync("init-mammoth-database", "-D", fx.Cluster.DataDir, db, "-U", "postgres");
        Assert.Equal(0, code);
        Assert.Equal($"init-mammoth-database: the MammothFast catalog in database {db} is already at version {version}; nothing to do\n", stdout);

        string dsn = $"host=127.0.0.1 port={fx.Cluster.Port} dbname={db} user=postgres";
        (code, stdout, _) = await Tool.RunAsync("init-mammoth-database", "--dsn", dsn);
        Assert.Equal(0, code);
        Assert.Contains($"already at version {version}", stdout);
    }

    [Fact]
    public async Task Init_failures_are_one_sentence_with_exit_codes_1_and_2()
    {
        var (code, _, stderr) = await Tool.RunAsync("init-mammoth-database", "-D", fx.Cluster.DataDir, "no_such_db");
        Assert.Equal(1, code);
        Assert.Contains("cannot connect to database no_such_db", stderr);
        Assert.Contains("database \"no_such_db\" does not exist", stderr);

        string stopped = Path.Combine(fx.Cluster.Root, "not-a-cluster");
        Directory.CreateDirectory(stopped);
        (code, _, stderr) = await Tool.RunAsync("init-mammoth-database", "-D", stopped, "app");
        Assert.Equal(1, code);
        Assert.Equal($"init-mammoth-database: no server is running on data directory {stopped} ({stopped}/postmaster.pid does not exist); start it with pg_ctl -D {stopped} start\n", stderr);

        await File.WriteAllTextAsync(Path.Combine(stopped, "postmaster.pid"), "999999\n/x\n1\n5432\n/tmp\n*\n1 2\nready\n");
        (code, _, stderr) = await Tool.RunAsync("init-mammoth-database", "-D", stopped, "app");
        Assert.Equal(1, code);
        Assert.Contains("names process 999999, which is not running", stderr);

        (code, _, stderr) = await Tool.RunAsync("init-mammoth-database", "-D", fx.Cluster.DataDir);
        Assert.Equal(2, code);
        Assert.Contains("give the database to install the catalog in", stderr);
        (code, _, stderr) = await Tool.RunAsync("init-mammoth-database", "--dsn", "hots=x");
        Assert.Equal(2, code);
        Assert.Contains("did you mean \"host\"", stderr);
        (code, _, _) = await Tool.RunAsync("init-mammoth-database", "--bogus");
        Assert.Equal(2, code);
        (code, var help, _) = await Tool.RunAsync("init-mammoth-database", "--help");
        Assert.Equal(0, code);
        Assert.Contains("init-mammoth-database -D DATADIR DATABASE", help);
    }

    [Fact]
    public async Task Mammoth_sql_prints_what_psql_prints_for_ordinary_statements()
    {
        string db = await fx.NewDatabaseAsync();
        const string script = """
            CREATE TABLE t (id int PRIMARY KEY, name text, price numeric, note text);
            INSERT INTO t VALUES (1, 'one', 1.5, NULL), (22, 'two
            lines', 10, 'x'), (3, 'ünïcödé', -3, 'last
            col');
            SELECT * FROM t ORDER BY id;
            SELECT 1 AS a WHERE false;
            UPDATE t SET note = 'n' WHERE id = 1;
            DELETE FROM t WHERE id = 3;
            BEGIN;
            SAVEPOINT s;
            ROLLBACK TO SAVEPOINT s;
            COMMIT;
            CREATE INDEX ON t (name);
            CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;
            SELECT f() AS "F", 'a;b' AS "semi;colon", $$x;y$$ AS dollar; -- comment; with semicolon
            SET search_path = public;
            DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$;
            CREATE TEMP TABLE tt AS SELECT * FROM t;
            VALUES (1, 'a'), (2, NULL);
            TRUNCATE tt;
            DROP TABLE tt;
            """;
        string dsn = $"host={fx.Cluster.SocketDir} port={fx.Cluster.Port} dbname={db} user=postgres";
        var mine = await Tool.RunAsync("mammoth", "sql", "-d", dsn, "-c", script);
        await using (var d = await Db.OpenAsync(fx.Cluster, db))
            await d.ExecAsync("DROP TABLE t; DROP FUNCTION f()");
        var psql = await Tool.PsqlAsync(fx.Cluster, db, script);
        Assert.Equal(0, psql.Code);
        Assert.Equal(0, mine.Code);
        Assert.Equal(psql.Stdout, mine.Stdout);
        // psql -f prefixes messages with the file and line; mammoth sql does not.
        Assert.Equal(System.Text.RegularExpressions.Regex.Replace(psql.Stderr, @"(?m)^psql:[^:]+:\d+: ", ""), mine.Stderr);
    }

    [Fact]
    public async Task Mammoth_sql_rewrites_replication_statements_and_stops_at_the_first_error()
    {
        string db = await fx.NewDatabaseAsync();
        string dsn = $"host={fx.Cluster.SocketDir} port={fx.Cluster.Port} dbname={db} user=postgres";
        await using (var d = await Db.OpenAsync(fx.Cluster, db))
            await d.ExecAsync("""CREATE TABLE foo (id int PRIMARY KEY, img oid); CREATE TABLE "My Tab" (id int PRIMARY KEY); CREATE TABLE nokey (a int)""");
        const string script = """
            alter table foo enable replication;
            ALTER TABLE "My Tab" ENABLE REPLICATION ON SLAVE 3;
            Alter Table public."My Tab" Enable Replication On Slave 1;
            ALTER TABLE foo ALTER COLUMN img ENABLE LO;
            SELECT mammoth.get_replication_status('"My Tab"') AS status;
            ALTER TABLE foo DISABLE REPLICATION;
            MCP REFRESH;
            PROMOTE BACK;
            ALTER TABLE nokey ENABLE REPLICATION;
            SELECT 'never reached';
            """;
        var (code, stdout, stderr) = await Tool.RunAsync("mammoth", "sql", "-d", dsn, "-c", script);
        Assert.Equal(1, code);
        Assert.Equal("""
            ALTER TABLE
            ALTER TABLE
            ALTER TABLE
            ALTER TABLE
                      status          
            --------------------------
             replicated to slaves 1,3
            (1 row)

            ALTER TABLE
            MCP REFRESH
            PROMOTE BACK

            """, stdout);
        Assert.Equal("""
            NOTICE:  created logical replication slot mammoth; it keeps WAL on this server until the master agent reads it
            ERROR:  table public.nokey has no primary key; add one (ALTER TABLE public.nokey ADD PRIMARY KEY (…)) before enabling replication

            """, stderr);

        // -f, piped standard input, a malformed replication statement, a plain database name for -d.
        string file = Path.Combine(fx.Cluster.Root, "script.sql");
        await File.WriteAllTextAsync(file, "MCP BATCHUPDATE;\nPROMOTE SIDEWAYS;\n");
        (code, stdout, stderr) = await Tool.RunAsync("mammoth", "sql", "-d", dsn, "-f", file);
        Assert.Equal(1, code);
        Assert.Equal("MCP BATCHUPDATE\n", stdout);
        Assert.Equal("ERROR:  unknown PROMOTE command; write PROMOTE, PROMOTE FORCE or PROMOTE BACK\n", stderr);

        (code, stdout, stderr) = await Tool.RunWithInputAsync("mammoth", "select 40 + 2 as answer;\nselec 1;\n", "sql", "-d", dsn);
        Assert.Equal(1, code);
        Assert.Equal(" answer \n--------\n     42\n(1 row)\n\n", stdout);
        Assert.Equal("ERROR:  syntax error at or near \"selec\"\nLINE 1: selec 1\n        ^\n", stderr);

        (code, _, stderr) = await Tool.RunAsync("mammoth", "sql", "-d", "host=/nonexistent port=1 dbname=x user=postgres", "-c", "select 1");
        Assert.Equal(1, code);
        Assert.StartsWith("mammoth sql: cannot connect to database x on /nonexistent:1 as postgres", stderr);
        (code, _, _) = await Tool.RunAsync("mammoth", "sql", "-c", "x", "-f", "y");
        Assert.Equal(2, code);
        (code, _, _) = await Tool.RunAsync("mammoth", "frobnicate");
        Assert.Equal(2, code);
        (code, var help, _) = await Tool.RunAsync("mammoth", "--help");
        Assert.Equal(0, code);
        Assert.Contains("mammoth sql", help);
    }
}
