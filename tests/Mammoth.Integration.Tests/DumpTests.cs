using Mammoth.Log.State;
using Mammoth.Net.Hub;
using Mammoth.Testing;
using Npgsql;
using Xunit;

namespace Mammoth.Integration.Tests;

/// <summary>
/// Dumps through the real agents and MCP (docs/dumps.md): a table enabled with rows while writes go on, MCP
/// REFRESH, agents killed mid-dump, and the DDL workflows. Each ends in a row-by-row comparison.
/// </summary>
[Collection("replication")]
public class DumpTests(ReplicationSetup r)
{
    [Fact]
    public async Task Enabling_a_table_with_1M_rows_under_writes_leaves_every_slave_identical()
    {
        await r.ExecAllAsync("CREATE TABLE it_million (id int8 PRIMARY KEY, v text NOT NULL, n int NOT NULL DEFAULT 0)");
        await r.ExecAsync(r.Master, "INSERT INTO it_million SELECT g, left(md5(g::text) || md5((g + 1)::text), 50) FROM generate_series(1, 1000000) g");
        using var stop = new CancellationTokenSource();
        Task<long> writes = r.WriteAsync("it_million", 1_000_000, stop.Token);
        await Task.Delay(500);
        await r.EnableAsync("public.it_million");
        await r.WaitNoTableDumpsAsync(TimeSpan.FromMinutes(3));
        await Task.Delay(1000);
        await stop.CancelAsync();
        long statements = await writes;
        Assert.True(statements > 50, $"only {statements} writes ran during the dump");
        await r.AssertReplicatedAsync("it_million", "id", timeoutSeconds: 300);
    }

    [Fact]
    public async Task MCP_REFRESH_brings_every_slave_back_to_SYNC_with_identical_tables()
    {
        await r.ExecAllAsync("CREATE TABLE it_refresh (id int PRIMARY KEY, v text)");
        await r.EnableAsync("public.it_refresh");
        await r.ExecAsync(r.Master, "INSERT INTO it_refresh SELECT g, 'v' || g FROM generate_series(1, 5000) g");
        await r.AssertReplicatedAsync("it_refresh", "id");
        // Damage slave 1 behind the replicator's back (as replica, which the protection lets through).
        await r.ExecAsync(r.Slave(1), "SET session_replication_role = replica; DELETE FROM it_refresh WHERE id % 3 = 0; UPDATE it_refresh SET v = 'wrong' WHERE id % 5 = 0");
        Assert.NotNull(await PgTables.FindDifferenceAsync(r.Conn(r.Master), r.Conn(r.Slave(1)), "it_refresh", "id"));

        await r.ExecAsync(r.Master, "SELECT mammoth.mcp_refresh()");
        using var stop = new CancellationTokenSource();
        Task<long> writes = r.WriteAsync("it_refresh", 5000, stop.Token);
        bool sawDump = false;
        DateTime until = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            McpStatusReport s = r.Status();
            sawDump |= s.Slaves.Any(x => x.State == SlaveSyncState.DUMP);
            if (sawDump && s.Slaves.Take(2).All(x => x.State == SlaveSyncState.SYNC))
                break;
            Assert.True(DateTime.UtcNow < until, $"the slaves did not come back to SYNC after MCP REFRESH\n{r.Diagnostics()}");
            await Task.Delay(100);
        }
        await stop.CancelAsync();
        await writes;
        await r.AssertReplicatedAsync("it_refresh", "id");
    }

    [Fact]
    public async Task Agents_killed_during_a_dump_restart_it_cleanly()
    {
        await r.ExecAllAsync("CREATE TABLE it_dumpkill (id int8 PRIMARY KEY, v text NOT NULL)");
        await r.ExecAsync(r.Master, "INSERT INTO it_dumpkill SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 300000) g");
        using var stop = new CancellationTokenSource();
        Task<long> writes = r.WriteAsync("it_dumpkill", 300_000, stop.Token);
        await r.EnableAsync("public.it_dumpkill");
        await r.WaitForLogAsync("master", "dumping public.it_dumpkill", TimeSpan.FromMinutes(1));
        r.KillAgent("master");      // mid-dump (or just after): the request stays in mammoth.table_dumps
        r.KillAgent("slave0");      // mid-load: its local transaction rolls back
        await Task.Delay(500);
        r.StartAgent("master");
        r.StartAgent("slave0");
        await r.WaitNoTableDumpsAsync(TimeSpan.FromMinutes(3));
        await Task.Delay(500);
        await stop.CancelAsync();
        await writes;
        await r.AssertReplicatedAsync("it_dumpkill", "id", timeoutSeconds: 300);
    }

    [Fact]
    public async Task The_guides_DDL_workflow_disable_alter_enable_resyncs_the_table()
    {
        await r.ExecAllAsync("CREATE TABLE it_ddl (id int PRIMARY KEY, v text)");
        await r.EnableAsync("public.it_ddl");
        await r.ExecAsync(r.Master, "INSERT INTO it_ddl SELECT g, 'v' || g FROM generate_series(1, 1000) g");
        await r.AssertReplicatedAsync("it_ddl", "id");

        // The guide: disable on the master, alter everywhere, enable again (a dump of the table follows).
        await r.ExecAsync(r.Master, "SELECT mammoth.disable_replication('it_ddl')");
        await r.ExecAllAsync("ALTER TABLE it_ddl ALTER v TYPE varchar(40), ADD COLUMN w int");
        await r.ExecAsync(r.Master, "UPDATE it_ddl SET w = id * 2 WHERE id % 2 = 0; DELETE FROM it_ddl WHERE id > 900");
        await r.ExecAsync(r.Master, "SELECT mammoth.enable_replication('it_ddl')");
        await r.ExecAsync(r.Master, "INSERT INTO it_ddl VALUES (5000, 'after', 1)");
        await r.AssertReplicatedAsync("it_ddl", "id");
    }

    [Fact]
    public async Task ADD_COLUMN_on_the_slaves_first_then_the_master_needs_no_dump()
    {
        await r.ExecAllAsync("CREATE TABLE it_addcol (id int PRIMARY KEY, v text)");
        await r.EnableAsync("public.it_addcol");
        await r.ExecAsync(r.Master, "INSERT INTO it_addcol SELECT g, 'v' || g FROM generate_series(1, 500) g");
        await r.AssertReplicatedAsync("it_addcol", "id");

        await r.ExecAsync(r.Slave(0), "ALTER TABLE it_addcol ADD COLUMN extra int DEFAULT 7, ADD COLUMN note text");
        await r.ExecAsync(r.Slave(1), "ALTER TABLE it_addcol ADD COLUMN extra int DEFAULT 7, ADD COLUMN note text");
        await r.ExecAsync(r.Master, "INSERT INTO it_addcol VALUES (501, 'between')"); // slaves have more columns than the master now
        await r.ExecAsync(r.Master, "ALTER TABLE it_addcol ADD COLUMN extra int DEFAULT 7, ADD COLUMN note text");
        await r.ExecAsync(r.Master, "INSERT INTO it_addcol VALUES (502, 'after', 9, 'n'); UPDATE it_addcol SET note = 'u' WHERE id <= 10");
        await r.AssertReplicatedAsync("it_addcol", "id");
        Assert.Equal(0L, await r.ScalarAsync<long>(r.Master, "SELECT count(*) FROM mammoth.table_dumps"));
    }
}
