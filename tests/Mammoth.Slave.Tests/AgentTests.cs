using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Nodes.Slave;
using Mammoth.Slave.Tests.Support;
using Mammoth.Testing;
using Npgsql;

namespace Mammoth.Slave.Tests;

/// <summary>The slave agent against an in-process MCP: streaming, acknowledgements, halts, protection, status.</summary>
public sealed class AgentTests(PgServerFixture fx) : IClassFixture<PgServerFixture>
{
    private const string Items = "CREATE TABLE items (id int PRIMARY KEY, name text, qty int NOT NULL)";

    [Fact]
    public async Task Streams_applies_acknowledges_and_reports()
    {
        Pair p = await Pair.CreateAsync(fx, "stream", Items);
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await mcp.SendAsync(f.Relation(items));
        await using RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave));

        long last = 0;
        for (int round = 0; round < 20; round++)
        {
            await p.MasterAsync($"INSERT INTO items SELECT g, 'r{round}', g FROM generate_series({round * 50 + 1}, {round * 50 + 50}) g; UPDATE items SET qty = qty + 1 WHERE id % 7 = {round % 7}");
            Tuples ins = await p.RowsAsync($"SELECT * FROM items WHERE id BETWEEN {round * 50 + 1} AND {round * 50 + 50}");
            Tuples upd = await p.RowsAsync($"SELECT * FROM items WHERE id % 7 = {round % 7}");
            last = await mcp.SendAsync(f.Data(b => b.Add(items, ChangeOp.Insert, ins)), f.Data(b => b.Add(items, ChangeOp.Update, upd)), f.ForAnotherSlave(items));
        }
        await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == last, $"record {last} applied", diagnostics: () => agent.Log.Text);
        await p.AssertEqualAsync("items", "id");
        await Wait.UntilAsync(() => mcp.SlaveState(0).AckRecno == last, "the MCP's ack", diagnostics: () => mcp.Log);
        Assert.Equal(SlaveSyncState.SYNC, mcp.SlaveState(0).State);

        await Wait.UntilAsync(() => agent.Status().RecordsRestored == last, "status file");
        SlaveAgentStatus st = agent.Status();
        Assert.Equal("streaming", st.State);
        Assert.True(st.Connected);
        Assert.Equal(last, st.RecordsReceived);
        Assert.Equal(0, st.LagRecords);
        Assert.Equal(mcp.Server.McpId, st.McpId);
        Assert.Equal(mcp.Server.McpId, await Pair.ScalarAsync<Guid>(p.Slave, "SELECT mcp_id FROM mammoth.slave_progress"));

        var (code, stdout, stderr) = await Tool.RunAsync("slave_stat", mcp.DataPath());
        Assert.True(code == 0, stderr);
        Assert.StartsWith($"records received: {last}\nrecords restored: {last}\n", stdout);
        Assert.Contains("slave 0: streaming (connected to the MCP at 127.0.0.1:", stdout);
        Assert.Contains("lag: 0 records, 0.0 s", stdout);
        Assert.Contains($"agent: running (pid {Environment.ProcessId})", stdout);
    }

    [Fact]
    public async Task Halts_on_a_missing_column_and_resumes_once_it_is_added()
    {
        Pair p = await Pair.CreateAsync(fx, "halt", Items);
        await p.SlaveExecAsync("ALTER TABLE items DROP COLUMN name");
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await p.MasterAsync("INSERT INTO items SELECT g, 'n' || g, g FROM generate_series(1, 10) g");
        long last = await mcp.SendAsync(f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));
        await using (RunningAgent first = RunningAgent.Start(mcp.NodeConf(p.Slave)))
            await Wait.UntilAsync(() => first.Status().Halted, "the halt", diagnostics: () => first.Log.Text);

        // A restarted agent is still halted (the error is in the database) and says so to the MCP again.
        await using RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave));
        await Wait.UntilAsync(() => agent.Status().Halted && agent.Status().Connected, "the halt after a restart", diagnostics: () => agent.Log.Text);
        SlaveAgentStatus st = agent.Status();
        Assert.Equal("halted", st.State);
        Assert.Equal(2, st.HaltedRecno);
        Assert.Contains("table public.items has no column name on this slave", st.HaltedError);
        // The first try applied both records in one transaction; the retries go record by record, so the
        // RELATION record commits and the halt stays at record 2.
        await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == 1, "record 1 committed by a retry", diagnostics: () => agent.Log.Text);
        Assert.Contains("has no column name", await Pair.ScalarAsync<string>(p.Slave, "SELECT last_error FROM mammoth.slave_progress"));
        Assert.Equal(2L, await Pair.ScalarAsync<long>(p.Slave, "SELECT last_error_recno FROM mammoth.slave_progress"));
        await Wait.UntilAsync(() => mcp.SlaveState(0).State == SlaveSyncState.DESYNC, "the MCP to show the halt", diagnostics: () => mcp.Log);
        Assert.Contains("has no column name", mcp.SlaveState(0).HaltError);
        var (code, stdout, _) = await Tool.RunAsync("slave_stat", mcp.DataPath());
        Assert.Equal(0, code);
        Assert.Contains("HALTED at record 2", stdout);

        // Later records wait behind the halted one.
        await p.MasterAsync("UPDATE items SET qty = -qty WHERE id <= 3");
        last = await mcp.SendAsync(f.Data(b => b.Add(items, ChangeOp.Update, p.RowsAsync("SELECT * FROM items WHERE id <= 3").Result)));
        await Task.Delay(1000);
        Assert.Equal(1, await p.AppliedRecnoAsync());
        Assert.Equal(0L, await PgTables.CountAsync(p.Slave, "items"));

        await p.SlaveExecAsync("ALTER TABLE items ADD COLUMN name text");
        await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == last, "the resume", diagnostics: () => agent.Log.Text);
        await p.AssertEqualAsync("(SELECT id, name, qty FROM items)", "id");
        Assert.Null(await Pair.ScalarAsync<string?>(p.Slave, "SELECT last_error FROM mammoth.slave_progress"));
        await Wait.UntilAsync(() => !agent.Status().Halted, "status un-halted");
        await Wait.UntilAsync(() => mcp.SlaveState(0).State == SlaveSyncState.SYNC && mcp.SlaveState(0).HaltError is null, "the MCP to show the resume");
        Assert.Contains("apply resumed: record 2 is applied now", agent.Log.Text);
    }

    [Fact]
    public async Task Replicated_tables_refuse_local_writes_unless_allowed()
    {
        Pair p = await Pair.CreateAsync(fx, "protect", "CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE free (id int PRIMARY KEY)");
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo settings = await Pair.RelationAsync(p.Slave, "mammoth.replicated_tables");
        RelationInfo t = await p.RelationAsync("t");
        using var f = new RecordFactory();
        Tuples enable = await Pair.CopyOutAsync(p.Slave, "SELECT 'public'::name, 't'::name, NULL::int[], true, now()");
        await mcp.SendAsync(f.Relation(settings, t), f.Data(b =>
        {
            b.Add(settings, ChangeOp.Insert, enable);
            b.Add(t, ChangeOp.Insert, Sections.Rows(Sections.Tuple(1)));
        }));
        string conf = mcp.NodeConf(p.Slave);
        await using RunningAgent agent = RunningAgent.Start(conf);

        await Wait.UntilAsync(async () => await RefusesWriteAsync(p.Slave, "t", 100), "t to be protected", diagnostics: () => agent.Log.Text);
        Assert.False(await RefusesWriteAsync(p.Slave, "free", 100));
        var ex = await Assert.ThrowsAsync<PostgresException>(() => Pair.ExecAsync(p.Slave, "DELETE FROM t"));
        Assert.Equal("25006", ex.SqlState);
        Assert.Equal("table public.t is being replicated; write to it on the master (or set replication_slave_allow_writes = on)", ex.MessageText);

        // Replicated rows still go in.
        long last = await mcp.SendAsync(f.Data(b => b.Add(t, ChangeOp.Insert, Sections.Rows(Sections.Tuple(2)))));
        await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == last, "record applied");
        Assert.Equal(2L, await PgTables.CountAsync(p.Slave, "t"));

        agent.Agent.Reload(Mammoth.Net.Configuration.NodeSettings.Parse(conf + "\nreplication_slave_allow_writes = on"));
        await Wait.UntilAsync(async () => !await RefusesWriteAsync(p.Slave, "t", 101), "allow_writes = on to take effect", diagnostics: () => agent.Log.Text);
        agent.Agent.Reload(Mammoth.Net.Configuration.NodeSettings.Parse(conf));
        await Wait.UntilAsync(async () => await RefusesWriteAsync(p.Slave, "t", 102), "protection back");

        // Disabled on the master: the settings row changes in the stream and the protection comes off.
        Tuples disabled = await Pair.CopyOutAsync(p.Slave, "SELECT 'public'::name, 't'::name, NULL::int[], false, now()");
        await mcp.SendAsync(f.Data(b => b.Add(settings, ChangeOp.Update, disabled)));
        await Wait.UntilAsync(async () => !await RefusesWriteAsync(p.Slave, "t", 103), "protection off after DISABLE", diagnostics: () => agent.Log.Text);
    }

    /// <summary>Tries an ordinary write (in a transaction rolled back); true when the table refuses it.</summary>
    private static async Task<bool> RefusesWriteAsync(string cs, string table, int id)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        try
        {
            await using var cmd = new NpgsqlCommand($"INSERT INTO {table} VALUES ({id})", c, tx);
            await cmd.ExecuteNonQueryAsync();
            return false;
        }
        catch (PostgresException ex) when (ex.SqlState == "25006")
        {
            return true;
        }
    }

    [Fact]
    public async Task Gets_over_a_lost_database_connection()
    {
        Pair p = await Pair.CreateAsync(fx, "dblost", Items);
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await p.MasterAsync("INSERT INTO items SELECT g, 'x', g FROM generate_series(1, 100) g");
        long last = await mcp.SendAsync(f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));
        await using RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave));
        await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == last, "first records");

        for (int round = 0; round < 3; round++)
        {
            await Pair.ExecAsync(p.Slave, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mammoth slave 0'");
            await p.MasterAsync($"UPDATE items SET qty = qty + 1 WHERE id % 3 = {round}");
            last = await mcp.SendAsync(f.Data(b => b.Add(items, ChangeOp.Update, p.RowsAsync($"SELECT * FROM items WHERE id % 3 = {round}").Result)));
            await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == last, $"round {round}", diagnostics: () => agent.Log.Text);
        }
        await p.AssertEqualAsync("items", "id");
        Assert.Contains("lost the slave database", agent.Log.Text);
    }

    /// <summary>
    /// Its applied recno belongs to another queue (the MCP's txlog was replaced): it asks for a full dump, waits,
    /// and takes the new queue's numbering from the DUMP_START naming it — a recno far below its old one.
    /// </summary>
    [Fact]
    public async Task Waits_for_a_dump_when_its_records_came_from_another_queue_then_follows_the_new_queue()
    {
        Pair p = await Pair.CreateAsync(fx, "otherq", Items);
        await p.MasterAsync("INSERT INTO items SELECT g, 'name ' || g, g FROM generate_series(1, 500) g");
        await p.SlaveExecAsync("INSERT INTO items VALUES (9999, 'from the old queue', 1)");
        await p.SlaveExecAsync($"UPDATE mammoth.slave_progress SET applied_recno = 1000, mcp_id = '{Guid.NewGuid()}'");
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await mcp.SendAsync(f.Relation(items), f.ForAnotherSlave(items), f.ForAnotherSlave(items), f.ForAnotherSlave(items), f.ForAnotherSlave(items), f.ForAnotherSlave(items), f.ForAnotherSlave(items));
        await using RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave));

        await Wait.UntilAsync(() => agent.Status().WaitingForDump, "waiting for a dump", diagnostics: () => agent.Log.Text);
        SlaveAgentStatus st = agent.Status();
        Assert.Equal("waiting for a full dump", st.State);
        Assert.Contains("(its txlog was replaced); the slave needs a full dump", st.DumpReason);
        Assert.True(st.Connected);
        await Task.Delay(500);
        Assert.Equal(1000, await p.AppliedRecnoAsync());
        var (_, stdout, _) = await Tool.RunAsync("slave_stat", mcp.DataPath());
        Assert.Contains("waiting for a full dump: this slave applied records up to 1000 from MCP queue", stdout);

        // The master's full dump for it, at records 8..12 of the new queue.
        long last = await mcp.SendAsync([f.DumpStart(77, SlaveSet.Of(0), 1), f.Relation(items), .. f.TableDump(items, await p.RowsAsync("SELECT * FROM items")), f.DumpEnd(77, SlaveSet.Of(0), 1)]);
        Assert.True(last < 20);
        await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == last, "the full dump applied", diagnostics: () => agent.Log.Text);
        await p.AssertEqualAsync("items", "id");
        Assert.Equal(mcp.Server.McpId, await Pair.ScalarAsync<Guid>(p.Slave, "SELECT mcp_id FROM mammoth.slave_progress"));
        Assert.Contains("this slave follows that queue's records from here", agent.Log.Text);
    }
    [Fact]
    public async Task Stays_connected_and_waits_when_the_MCP_says_DUMP()
    {
        Pair p = await Pair.CreateAsync(fx, "mcpdump", Items);
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await mcp.SendAsync(f.Relation(items));
        // This slave claims more records of this very queue than the queue holds: the MCP answers STATE(DUMP).
        await p.SlaveExecAsync($"UPDATE mammoth.slave_progress SET applied_recno = 1000, mcp_id = '{mcp.Server.McpId}'");
        await using RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave));

        await Wait.UntilAsync(() => agent.Status().WaitingForDump, "the dump wait", diagnostics: () => agent.Log.Text);
        Assert.Contains("waiting for a full dump: you are ahead of this MCP's queue", agent.Log.Text);
        await Task.Delay(1500); // several keep-alive periods: the agent must not be dropped, nor send anything the MCP refuses
        SlaveAgentStatus st = agent.Status();
        Assert.True(st.Connected);
        Assert.Equal("waiting for a full dump", st.State);
        Assert.DoesNotContain("lost", agent.Log.Text);
        Assert.Equal(1000, await p.AppliedRecnoAsync());
    }
}
