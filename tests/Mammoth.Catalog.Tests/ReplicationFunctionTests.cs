namespace Mammoth.Catalog.Tests;

[Collection("cluster")]
public sealed class ReplicationFunctionTests(ClusterFixture fx)
{
    private async Task<Db> FreshAsync()
    {
        var d = await Db.OpenAsync(fx.Cluster, await fx.NewDatabaseAsync());
        await d.ExecAsync("""
            CREATE TABLE foo (id int PRIMARY KEY, v text);
            CREATE TABLE nokey (a int);
            CREATE TABLE "My Tab" (id int PRIMARY KEY);
            CREATE SCHEMA s2;
            CREATE TABLE s2.x (id int PRIMARY KEY);
            CREATE TABLE s2.y (a int);
            CREATE VIEW vv AS SELECT 1 AS one;
            """);
        return d;
    }

    [Fact]
    public async Task Enable_disable_and_status_follow_the_guide()
    {
        await using var d = await FreshAsync();
        Assert.False(await d.ScalarAsync<bool>("SELECT mammoth.is_replicated('foo')"));
        Assert.Equal("not replicated", await d.ScalarAsync<string>("SELECT mammoth.get_replication_status('foo')"));

        await d.ExecAsync("SELECT mammoth.enable_replication('foo', NULL)");
        Assert.True(await d.ScalarAsync<bool>("SELECT mammoth.is_replicated('foo')"));
        Assert.Equal("replicated to all slaves", await d.ScalarAsync<string>("SELECT mammoth.get_replication_status('public.foo')"));

        await d.ExecAsync("SELECT mammoth.enable_replication('public.foo', '{2,0,2}')");
        Assert.Equal("replicated to slaves 0,2", await d.ScalarAsync<string>("SELECT mammoth.get_replication_status('foo')"));
        Assert.Equal("{0,2}", (await d.ColumnAsync("SELECT slaves::text FROM mammoth.replicated_tables WHERE table_name = 'foo'"))[0]);

        // Disabling keeps the slave list; ENABLE REPLICATION (one argument) restores it.
        await d.ExecAsync("SELECT mammoth.disable_replication('foo')");
        Assert.False(await d.ScalarAsync<bool>("SELECT mammoth.is_replicated('foo')"));
        Assert.Equal("not replicated (slaves 0,2 kept)", await d.ScalarAsync<string>("SELECT mammoth.get_replication_status('foo')"));
        d.Notices.Clear();
        await d.ExecAsync("SELECT mammoth.enable_replication('foo')");
        Assert.Equal("replicated to slaves 0,2", await d.ScalarAsync<string>("SELECT mammoth.get_replication_status('foo')"));
        Assert.Contains(d.Notices, n => n.Contains("public.foo is replicated to slaves 0,2 again"));

        // ON SLAVE n adds to the list.
        await d.ExecAsync("""SELECT mammoth.enable_replication_on_slave('"My Tab"', 3)""");
        await d.ExecAsync("""SELECT mammoth.enable_replication_on_slave('public."My Tab"', 1)""");
        Assert.Equal("replicated to slaves 1,3", await d.ScalarAsync<string>("""SELECT mammoth.get_replication_status('"My Tab"')"""));

        // Enabling again with the same settings writes nothing and says so.
        d.Notices.Clear();
        await d.ExecAsync("SELECT mammoth.enable_replication('foo', '{0,2}')");
        Assert.Contains("public.foo is already replicated to slaves 0,2", d.Notices);

        // Disabling a table that is not replicated is a NOTICE, not an error.
        d.Notices.Clear();
        await d.ExecAsync("SELECT mammoth.disable_replication('s2.x')");
        Assert.Contains("s2.x is not replicated; nothing to disable", d.Notices);
    }

    [Fact]
    public async Task Errors_name_the_table_slave_or_schema_and_the_fix()
    {
        await using var d = await FreshAsync();
        var e = await d.FailsAsync("SELECT mammoth.enable_replication('nokey', NULL)");
        Assert.Equal("table public.nokey has no primary key; add one (ALTER TABLE public.nokey ADD PRIMARY KEY (…)) before enabling replication", e.MessageText);
        Assert.Equal("42P16", e.SqlState);

        e = await d.FailsAsync("SELECT mammoth.enable_replication('nothere')");
        Assert.StartsWith("table nothere does not exist; check the spelling", e.MessageText);
        Assert.Equal("42P01", e.SqlState);

        e = await d.FailsAsync("SELECT mammoth.enable_replication('foo', '{1,64}')");
        Assert.Equal("slave number 64 is out of range; slave numbers are 0 to 63 (the replication_slave_no of each slave)", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_replication('foo', '{-1}')");
        Assert.StartsWith("slave number -1 is out of range", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_replication('foo', '{}')");
        Assert.StartsWith("the slave list is empty", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_replication('foo', '{1,NULL}')");
        Assert.Contains("holds a NULL", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_replication_on_slave('foo', 99)");
        Assert.StartsWith("slave number 99 is out of range", e.MessageText);

        e = await d.FailsAsync("SELECT mammoth.enable_replication('vv')");
        Assert.Equal("public.vv is a view, not a table; only tables can be replicated", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_replication('mammoth.requests')");
        Assert.StartsWith("mammoth.requests belongs to MammothFast itself", e.MessageText);
        await d.ExecAsync("CREATE UNLOGGED TABLE ul (id int PRIMARY KEY)");
        e = await d.FailsAsync("SELECT mammoth.enable_replication('ul')");
        Assert.Contains("ALTER TABLE public.ul SET LOGGED", e.MessageText);
        await d.ExecAsync("CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id); CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10)");
        e = await d.FailsAsync("SELECT mammoth.enable_replication('parted_1')");
        Assert.Equal("public.parted_1 is a partition; enable replication on its partitioned table public.parted instead", e.MessageText);
        await d.ExecAsync("SELECT mammoth.enable_replication('parted')");

        e = await d.FailsAsync("SELECT mammoth.enable_replication_by_schema('nope', NULL)");
        Assert.StartsWith("schema nope does not exist", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.disable_replication_by_schema('nope')");
        Assert.StartsWith("schema nope does not exist", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_replication_by_schema('mammoth', NULL)");
        Assert.StartsWith("schema mammoth holds system or MammothFast tables", e.MessageText);

        // Nothing failed half-way: no settings row for any refused table.
        Assert.Equal(["parted"], await d.ColumnAsync("SELECT table_name FROM mammoth.replicated_tables ORDER BY 1"));
    }

    [Fact]
    public async Task Schema_and_global_forms_skip_keyless_tables_with_a_notice()
    {
        await using var d = await FreshAsync();
        Assert.Equal(1, await d.ScalarAsync<int>("SELECT mammoth.enable_replication_by_schema('s2', '{1}')"));
        Assert.Contains("skipping s2.y: it has no primary key; add one (ALTER TABLE s2.y ADD PRIMARY KEY (…)) and enable it then", d.Notices);
        Assert.Equal("replicated to slave 1", await d.ScalarAsync<string>("SELECT mammoth.get_replication_status('s2.x')"));

        d.Notices.Clear();
        Assert.Equal(3, await d.ScalarAsync<int>("SELECT mammoth.enable_replication_global(NULL)"));
        Assert.Contains(d.Notices, n => n.StartsWith("skipping public.nokey: it has no primary key"));
        Assert.Contains(d.Notices, n => n.StartsWith("skipping s2.y: it has no primary key"));
        Assert.Equal(["mammoth.lo_columns", "mammoth.replicated_tables", "mammoth.requests", "public.My Tab", "public.foo", "s2.x"], await d.PublicationAsync());

        Assert.Equal(1, await d.ScalarAsync<int>("SELECT mammoth.disable_replication_by_schema('s2')"));
        Assert.Equal(["mammoth.lo_columns", "mammoth.replicated_tables", "mammoth.requests", "public.My Tab", "public.foo"], await d.PublicationAsync());
        Assert.Equal(2, await d.ScalarAsync<int>("SELECT mammoth.disable_replication_global()"));
        Assert.Equal(["mammoth.lo_columns", "mammoth.replicated_tables", "mammoth.requests"], await d.PublicationAsync());
        Assert.Equal(3L, await d.ScalarAsync<long>("SELECT count(*) FROM mammoth.replicated_tables WHERE NOT enabled"));
    }

    [Fact]
    public async Task Publication_membership_changes_with_the_settings_row_in_one_transaction()
    {
        await using var d = await FreshAsync();
        await d.ExecAsync("SELECT mammoth.enable_replication('foo')");  // creates the slot, outside a block
        await d.ExecAsync("BEGIN; SELECT mammoth.enable_replication('s2.x'); ROLLBACK");
        Assert.DoesNotContain("s2.x", await d.PublicationAsync());
        Assert.Empty(await d.ColumnAsync("SELECT 1 FROM mammoth.replicated_tables WHERE table_name = 'x'"));

        await d.ExecAsync("BEGIN; SELECT mammoth.enable_replication('s2.x'); SELECT mammoth.disable_replication('foo'); COMMIT");
        Assert.Equal(["mammoth.lo_columns", "mammoth.replicated_tables", "mammoth.requests", "s2.x"], await d.PublicationAsync());
        Assert.Equal(
            ["public.foo false true false", "s2.x true true true"],
            await d.ColumnAsync("SELECT schema_name || '.' || table_name || ' ' || enabled || ' ' || table_exists || ' ' || in_publication FROM mammoth.replication_status ORDER BY 1"));

        // A table put in the publication by hand is taken out by disable; sync_publication repairs the rest.
        await d.ExecAsync("ALTER PUBLICATION mammoth ADD TABLE foo; ALTER PUBLICATION mammoth DROP TABLE s2.x");
        await d.ExecAsync("SELECT mammoth.sync_publication()");
        Assert.Equal(["mammoth.lo_columns", "mammoth.replicated_tables", "mammoth.requests", "s2.x"], await d.PublicationAsync());
    }

    [Fact]
    public async Task Enable_lo_checks_the_column()
    {
        await using var d = await FreshAsync();
        await d.ExecAsync("""CREATE TABLE docs (id int PRIMARY KEY, body oid, "Img" oid, title text)""");
        await d.ExecAsync("SELECT mammoth.enable_lo('docs', 'body')");
        Assert.Contains(d.Notices, n => n.StartsWith("public.docs is not replicated yet"));
        await d.ExecAsync("SELECT mammoth.enable_lo('docs', 'Img')");
        await d.ExecAsync("SELECT mammoth.enable_replication('docs')");
        Assert.Equal("replicated to all slaves; large objects in \"Img\", body", await d.ScalarAsync<string>("SELECT mammoth.get_replication_status('docs')"));

        var e = await d.FailsAsync("SELECT mammoth.enable_lo('docs', 'title')");
        Assert.Equal("column public.docs.title is text, not oid or lo; ENABLE LO applies only to columns that hold large object OIDs", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_lo('docs', 'img')");
        Assert.StartsWith("column img does not exist in table public.docs", e.MessageText);

        // A domain over oid (what the lo extension's type is) is accepted.
        await d.ExecAsync("CREATE DOMAIN lo AS oid; ALTER TABLE docs ADD COLUMN scan lo");
        await d.ExecAsync("SELECT mammoth.enable_lo('docs', 'scan')");

        await d.ExecAsync("SELECT mammoth.disable_lo('docs', 'body')");
        Assert.Equal(["Img", "scan"], await d.ColumnAsync("SELECT column_name FROM mammoth.lo_columns ORDER BY 1"));
        // Dropping a column or the table removes its catalog rows (event trigger).
        await d.ExecAsync("ALTER TABLE docs DROP COLUMN scan");
        Assert.Equal(["Img"], await d.ColumnAsync("SELECT column_name FROM mammoth.lo_columns ORDER BY 1"));
        await d.ExecAsync("DROP TABLE docs");
        Assert.Empty(await d.ColumnAsync("SELECT column_name FROM mammoth.lo_columns"));
        Assert.Empty(await d.ColumnAsync("SELECT table_name FROM mammoth.replicated_tables WHERE table_name = 'docs'"));
    }

    [Fact]
    public async Task Role_checks_refuse_commands_on_the_wrong_node_and_allow_them_before_the_agent_ran()
    {
        await using var d = await FreshAsync();
        // Role unknown: everything is allowed.
        Assert.Null(await d.ScalarAsync<string?>("SELECT mammoth.node_role()"));
        Assert.Equal(1L, await d.ScalarAsync<long>("SELECT mammoth.mcp_refresh()"));
        Assert.Equal(2L, await d.ScalarAsync<long>("SELECT mammoth.promote()"));

        await d.ExecAsync("SELECT mammoth.set_node_role('slave', 2)");
        var e = await d.FailsAsync("SELECT mammoth.enable_replication('foo')");
        Assert.Equal("ALTER TABLE … ENABLE REPLICATION (mammoth.enable_replication) is a master-only command and this node is slave 2; run it on the master", e.MessageText);
        Assert.Equal("55000", e.SqlState);
        e = await d.FailsAsync("SELECT mammoth.disable_replication('foo')");
        Assert.Contains("is a master-only command and this node is slave 2", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_replication_global(NULL)");
        Assert.Contains("is a master-only command", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.mcp_refresh()");
        Assert.Equal("MCP REFRESH (mammoth.mcp_refresh) is a master-only command and this node is slave 2; run it on the master", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.enable_lo('foo', 'id')");
        Assert.Contains("is a master-only command", e.MessageText);
        await d.ExecAsync("SELECT mammoth.promote(), mammoth.promote_force(), mammoth.mcp_batchupdate(), mammoth.promote_back()");

        await d.ExecAsync("SELECT mammoth.set_node_role('master', NULL)");
        e = await d.FailsAsync("SELECT mammoth.promote()");
        Assert.Equal("PROMOTE (mammoth.promote) is a slave-only command and this node is the master; run it on the slave that should become the master", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.promote_force()");
        Assert.Contains("slave-only command", e.MessageText);
        e = await d.FailsAsync("SELECT mammoth.mcp_batchupdate()");
        Assert.Equal("MCP BATCHUPDATE (mammoth.mcp_batchupdate) is a slave-only command and this node is the master; run it on the batch-replicated slave that should fetch a batch", e.MessageText);
        await d.ExecAsync("SELECT mammoth.promote_back(), mammoth.mcp_refresh()");
        await d.ExecAsync("SELECT mammoth.enable_replication('foo')");

        e = await d.FailsAsync("SELECT mammoth.set_node_role('slave', 64)");
        Assert.StartsWith("a slave needs a slave number from 0 to 63", e.MessageText);
        Assert.Equal(
            ["refresh", "promote", "promote", "promote_force", "batchupdate", "promote_back", "promote_back", "refresh"],
            await d.ColumnAsync("SELECT kind FROM mammoth.requests ORDER BY id"));
    }

    [Fact]
    public async Task Requests_notify_listeners_on_commit()
    {
        await using var d = await FreshAsync();
        await using var listener = await fx.Cluster.OpenAsync(d.Connection.Database);
        var received = new List<(string Channel, string Payload)>();
        listener.Notification += (_, e) => received.Add((e.Channel, e.Payload));
        await using (var listen = new Npgsql.NpgsqlCommand("LISTEN mammoth_requests", listener))
            await listen.ExecuteNonQueryAsync();

        await d.ExecAsync("BEGIN; SELECT mammoth.mcp_refresh();");
        Assert.False(await listener.WaitAsync(300));  // not delivered before commit
        await d.ExecAsync("COMMIT");
        Assert.True(await listener.WaitAsync(10_000));
        Assert.Equal([("mammoth_requests", "1 refresh")], received);

        await d.ExecAsync("SELECT mammoth.promote_back()");
        Assert.True(await listener.WaitAsync(10_000));
        Assert.Equal(("mammoth_requests", "2 promote_back"), received[^1]);
        Assert.Equal("postgres", await d.ScalarAsync<string>("SELECT requested_by::text FROM mammoth.requests WHERE id = 2"));
        var e = await d.FailsAsync("INSERT INTO mammoth.requests (kind) VALUES ('reboot')");
        Assert.Equal("23514", e.SqlState);
    }
}
