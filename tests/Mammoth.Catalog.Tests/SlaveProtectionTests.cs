namespace Mammoth.Catalog.Tests;

[Collection("cluster")]
public sealed class SlaveProtectionTests(ClusterFixture fx)
{
    private const string Refusal = "table public.foo is being replicated; write to it on the master (or set replication_slave_allow_writes = on)";

    [Fact]
    public async Task Protected_tables_refuse_local_writes_but_not_the_agent_in_replica_mode()
    {
        await using var d = await Db.OpenAsync(fx.Cluster, await fx.NewDatabaseAsync());
        await d.ExecAsync("CREATE TABLE foo (id int PRIMARY KEY, v text); INSERT INTO foo VALUES (1, 'a')");
        await d.ExecAsync("SELECT mammoth.set_node_role('slave', 0); SELECT mammoth.protect_table('foo'); SELECT mammoth.protect_table('foo')");

        foreach (string write in new[] { "INSERT INTO foo VALUES (2, 'b')", "UPDATE foo SET v = 'x'", "DELETE FROM foo", "TRUNCATE foo",
                     "INSERT INTO foo VALUES (1, 'c') ON CONFLICT (id) DO UPDATE SET v = 'c'", "COPY foo FROM PROGRAM 'echo 3'" })
        {
            var e = await d.FailsAsync(write);
            Assert.Equal(Refusal, e.MessageText);
            Assert.Equal("25006", e.SqlState);
        }

        // The slave agent's session: session_replication_role = replica, so ordinary triggers stay silent.
        await using (var agent = await Db.OpenAsync(fx.Cluster, d.Connection.Database))
        {
            await agent.ExecAsync("SET session_replication_role = replica");
            await agent.ExecAsync("INSERT INTO foo VALUES (2, 'b'); UPDATE foo SET v = 'y' WHERE id = 1; DELETE FROM foo WHERE id = 2; TRUNCATE foo; INSERT INTO foo VALUES (9, 'z')");
        }
        Assert.Equal(["9"], await d.ColumnAsync("SELECT id FROM foo"));

        await d.ExecAsync("SELECT mammoth.unprotect_table('foo'); SELECT mammoth.unprotect_table('foo')");
        await d.ExecAsync("INSERT INTO foo VALUES (10, 'free')");
        Assert.Equal(2L, await d.ScalarAsync<long>("SELECT count(*) FROM foo"));
    }

    [Fact]
    public async Task Partitions_are_protected_with_their_table_and_a_master_refuses_protection()
    {
        await using var d = await Db.OpenAsync(fx.Cluster, await fx.NewDatabaseAsync());
        await d.ExecAsync("CREATE TABLE p (id int PRIMARY KEY) PARTITION BY RANGE (id); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10)");
        await d.ExecAsync("SELECT mammoth.protect_table('p')");
        Assert.Contains("table public.p1 is being replicated", (await d.FailsAsync("INSERT INTO p1 VALUES (1)")).MessageText);
        Assert.Contains("table public.p is being replicated", (await d.FailsAsync("INSERT INTO p VALUES (1)")).MessageText);
        await d.ExecAsync("SELECT mammoth.unprotect_table('p'); INSERT INTO p VALUES (1)");

        await d.ExecAsync("SELECT mammoth.set_node_role('master', NULL)");
        var e = await d.FailsAsync("SELECT mammoth.protect_table('p')");
        Assert.StartsWith("mammoth.protect_table makes a table read-only on a slave, and this node is the master", e.MessageText);
    }
}
