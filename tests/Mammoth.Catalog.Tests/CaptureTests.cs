namespace Mammoth.Catalog.Tests;

/// <summary>The slot and publication guarantees: nothing committed after enable_replication() returns is lost.</summary>
[Collection("cluster")]
public sealed class CaptureTests(ClusterFixture fx)
{
    private const string Peek =
        "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('mammoth', NULL, NULL, 'proto_version', '1', 'publication_names', 'mammoth') " +
        "WHERE get_byte(data, 0) = ascii('I')";

    [Fact]
    public async Task The_first_enable_creates_the_slot_before_any_agent_ran_and_later_rows_are_decoded()
    {
        await using var d = await Db.OpenAsync(fx.Cluster, await fx.NewDatabaseAsync());
        await d.ExecAsync("CREATE TABLE foo (id int PRIMARY KEY, v text); INSERT INTO foo VALUES (0, 'before')");
        Assert.Empty(await d.ColumnAsync("SELECT slot_name FROM pg_replication_slots"));

        await d.ExecAsync("SELECT mammoth.enable_replication('foo')");
        Assert.Equal(["mammoth pgoutput logical"], await d.ColumnAsync("SELECT slot_name || ' ' || plugin || ' ' || slot_type FROM pg_replication_slots"));
        Assert.Contains(d.Notices, n => n.StartsWith("created logical replication slot mammoth"));

        // A row committed after enable_replication() returned, on another connection, with no agent running.
        await using (var other = await Db.OpenAsync(fx.Cluster, d.Connection.Database))
            await other.ExecAsync("INSERT INTO foo VALUES (1, 'after')");

        // pgoutput sees the settings row (replicated_tables) and the new foo row: two inserts, the 'before' row is not in the stream.
        Assert.Equal(2L, await d.ScalarAsync<long>(Peek));
        var relations = await d.ColumnAsync(
            "SELECT convert_from(substring(data from 6 for position('\\x00'::bytea in substring(data from 6)) - 1), 'UTF8') " +
            "FROM pg_logical_slot_peek_binary_changes('mammoth', NULL, NULL, 'proto_version', '1', 'publication_names', 'mammoth') WHERE get_byte(data, 0) = ascii('R')");
        Assert.Equal(["mammoth", "public"], relations.Distinct().Order().ToList());

        // A disabled table stops being decoded at once.
        await d.ExecAsync("SELECT mammoth.disable_replication('foo')");
        await d.ExecAsync("INSERT INTO foo VALUES (2, 'disabled')");
        Assert.Equal(2L, await d.ScalarAsync<long>(Peek));
        Assert.Equal(1L, await d.ScalarAsync<long>(Peek.Replace("ascii('I')", "ascii('U')", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Enable_inside_a_transaction_that_already_wrote_asks_to_run_it_outside_while_the_slot_is_missing()
    {
        await using var d = await Db.OpenAsync(fx.Cluster, await fx.NewDatabaseAsync());
        await d.ExecAsync("CREATE TABLE foo (id int PRIMARY KEY); CREATE TABLE bar (id int PRIMARY KEY)");
        await d.ExecAsync("BEGIN; INSERT INTO foo VALUES (1)");
        var e = await d.FailsAsync("SELECT mammoth.enable_replication('foo')");
        Assert.StartsWith("replication slot mammoth does not exist yet, and PostgreSQL cannot create it in a transaction that has already written; run ALTER TABLE … ENABLE REPLICATION (mammoth.enable_replication) outside an explicit transaction block", e.MessageText);
        await d.ExecAsync("ROLLBACK");
        Assert.Empty(await d.ColumnAsync("SELECT slot_name FROM pg_replication_slots"));

        // As the first statement of a block it works, and later calls in the same block find the slot.
        await d.ExecAsync("BEGIN; SELECT mammoth.enable_replication('foo'); INSERT INTO foo VALUES (2); SELECT mammoth.enable_replication('bar'); COMMIT");
        Assert.Equal(["mammoth"], await d.ColumnAsync("SELECT slot_name FROM pg_replication_slots"));
        Assert.Equal(2L, await d.ScalarAsync<long>("SELECT count(*) FROM mammoth.replicated_tables WHERE enabled"));

        // The slot is not transactional: a rolled-back first enable still leaves it, so nothing later can be missed.
        await d.ExecAsync("SELECT pg_drop_replication_slot('mammoth')");
        await d.ExecAsync("BEGIN; SELECT mammoth.enable_replication('foo', '{1}'); ROLLBACK");
        Assert.Equal(["mammoth"], await d.ColumnAsync("SELECT slot_name FROM pg_replication_slots"));
    }

    [Fact]
    public async Task A_slot_of_another_database_is_named_in_the_error()
    {
        string first = await fx.NewDatabaseAsync();
        await using (var a = await Db.OpenAsync(fx.Cluster, first))
        {
            await a.ExecAsync("CREATE TABLE foo (id int PRIMARY KEY)");
            await a.ExecAsync("SELECT mammoth.enable_replication('foo')");
        }
        // NewDatabaseAsync drops the slot, so create the second database by hand.
        await using (var admin = await Db.OpenAsync(fx.Cluster, "postgres"))
            await admin.ExecAsync("CREATE DATABASE second_db");
        await using var b = await Db.OpenAsync(fx.Cluster, "second_db");
        await Mammoth.Nodes.Catalog.CatalogInstaller.InstallAsync(b.Connection);
        await b.ExecAsync("CREATE TABLE foo (id int PRIMARY KEY)");
        var e = await b.FailsAsync("SELECT mammoth.enable_replication('foo')");
        Assert.StartsWith($"replication slot mammoth belongs to database {first}, and MammothFast replicates one database per cluster", e.MessageText);
    }
}

/// <summary>A cluster of its own with wal_level = replica, for the check that the master needs logical.</summary>
public sealed class WalLevelTests
{
    [Fact]
    public async Task Enable_on_a_replica_wal_level_server_says_to_set_logical()
    {
        await using var cluster = await PgCluster.StartAsync(walLevel: "replica");
        await using var d = await Db.OpenAsync(cluster, "postgres");
        var r = await Mammoth.Nodes.Catalog.CatalogInstaller.InstallAsync(d.Connection);
        Assert.Equal("replica", r.WalLevel);
        await d.ExecAsync("CREATE TABLE foo (id int PRIMARY KEY)");
        var e = await d.FailsAsync("SELECT mammoth.enable_replication('foo')");
        Assert.Equal("wal_level is replica on this server and replication needs logical; set wal_level = logical in postgresql.conf, restart PostgreSQL, and run ALTER TABLE … ENABLE REPLICATION (mammoth.enable_replication) again", e.MessageText);
        Assert.Equal("55000", e.SqlState);
        Assert.Empty(await d.ColumnAsync("SELECT table_name FROM mammoth.replicated_tables"));
        // Status functions and slave-side commands still work.
        Assert.Equal("not replicated", await d.ScalarAsync<string>("SELECT mammoth.get_replication_status('foo')"));

        // init-mammoth-database warns about it.
        var (code, stdout, stderr) = await Tool.RunAsync("init-mammoth-database", "-D", cluster.DataDir, "postgres");
        Assert.Equal(0, code);
        Assert.Contains("already at version", stdout);
        Assert.Contains("WARNING: wal_level is replica; a master needs wal_level = logical", stderr);
    }
}
