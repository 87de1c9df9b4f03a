using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Nodes.Slave;
using Mammoth.Slave.Tests.Support;
using Mammoth.Testing;

namespace Mammoth.Slave.Tests;

/// <summary>replication_slave_batch_mode: the agent connects to a real (in-process) MCP only for MCP BATCHUPDATE.</summary>
public sealed class BatchModeTests(PgServerFixture fx) : IClassFixture<PgServerFixture>
{
    private const string Items = "CREATE TABLE items (id int PRIMARY KEY, name text, qty int NOT NULL)";
    private const string Batch = "replication_slave_batch_mode = on\nreplication_slave_batch_mode_timeout = 2s";

    [Fact]
    public async Task Fetches_only_on_batchupdate_applies_disconnects_and_marks_the_request_done()
    {
        Pair p = await Pair.CreateAsync(fx, "batch", Items);
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        string conf = mcp.NodeConf(p.Slave, extra: Batch);
        await using RunningAgent agent = RunningAgent.Start(conf);
        await Wait.UntilAsync(() => agent.Status().State == SlaveAgent.WaitingForBatchUpdate, "the batch-mode wait", diagnostics: () => agent.Log.Text);

        // Rows written on the master reach the MCP, not the slave.
        await p.MasterAsync("INSERT INTO items SELECT g, 'a' || g, g FROM generate_series(1, 300) g");
        long last = await mcp.SendAsync(f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));
        Tuples deleted = await p.RowsAsync("SELECT id FROM items WHERE id % 10 = 1");
        await p.MasterAsync("UPDATE items SET qty = qty * 10 WHERE id % 3 = 0; DELETE FROM items WHERE id % 10 = 1");
        last = await mcp.SendAsync(
            f.Data(b => b.Add(items, ChangeOp.Update, p.RowsAsync("SELECT * FROM items WHERE id % 3 = 0").Result)),
            f.Data(b => b.Add(items, ChangeOp.Delete, deleted)));
        await Task.Delay(1500);
        Assert.Equal(0, await p.AppliedRecnoAsync());
        Assert.Equal(0L, await PgTables.CountAsync(p.Slave, "items"));
        Assert.False(agent.Status().Connected);

        // MCP BATCHUPDATE: one batch, then the agent disconnects after the timeout and marks the request done.
        long request = await Pair.ScalarAsync<long>(p.Slave, "SELECT mammoth.mcp_batchupdate()");
        await Wait.UntilAsync(async () => await RequestDoneAsync(p, request), "the batch request done", diagnostics: () => agent.Log.Text);
        Assert.Equal(last, await p.AppliedRecnoAsync());
        await p.AssertEqualAsync("items", "id");
        string result = await Pair.ScalarAsync<string>(p.Slave, $"SELECT result FROM mammoth.requests WHERE id = {request}");
        Assert.StartsWith($"applied records 1..{last} in ", result);
        Assert.Contains("batch: no new record for 2 s (replication_slave_batch_mode_timeout); disconnecting from the MCP", agent.Log.Text);
        await Wait.UntilAsync(() => mcp.SlaveState(0) is { State: SlaveSyncState.DESYNC } s && s.AckRecno == last, "the MCP to show the slave disconnected", diagnostics: () => mcp.Log);

        await Wait.UntilAsync(() => agent.Status() is { State: SlaveAgent.WaitingForBatchUpdate, Connected: false, LastBatch: not null }, "status after the batch");
        SlaveAgentStatus st = agent.Status();
        Assert.True(st.BatchMode);
        Assert.False(st.BatchFetching);
        Assert.Equal($"request {request}: {result}", st.LastBatch);
        var (code, stdout, stderr) = await Tool.RunAsync("slave_stat", mcp.DataPath());
        Assert.True(code == 0, stderr);
        Assert.Contains("slave 0: waiting for MCP BATCHUPDATE (not connected to the MCP)", stdout);
        Assert.Contains("batch mode: waiting for MCP BATCHUPDATE\n", stdout);
        Assert.Contains($"last batch: request {request}: applied records 1..{last} in ", stdout);

        // A second cycle.
        long first = last + 1;
        await p.MasterAsync("INSERT INTO items SELECT g, 'b' || g, g FROM generate_series(301, 400) g");
        last = await mcp.SendAsync(f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items WHERE id > 300").Result)));
        await Task.Delay(1000);
        Assert.Equal(first - 1, await p.AppliedRecnoAsync());
        request = await Pair.ScalarAsync<long>(p.Slave, "SELECT mammoth.mcp_batchupdate()");
        await Wait.UntilAsync(async () => await RequestDoneAsync(p, request), "the second batch", diagnostics: () => agent.Log.Text);
        Assert.Equal(last, await p.AppliedRecnoAsync());
        await p.AssertEqualAsync("items", "id");
        Assert.StartsWith($"applied records {first}..{last} in ", await Pair.ScalarAsync<string>(p.Slave, $"SELECT result FROM mammoth.requests WHERE id = {request}"));
    }

    [Fact]
    public async Task A_request_made_while_the_agent_was_down_is_served_at_its_start_even_with_timeout_0()
    {
        Pair p = await Pair.CreateAsync(fx, "batchdown", Items);
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await p.MasterAsync("INSERT INTO items SELECT g, 'a' || g, g FROM generate_series(1, 50) g");
        long last = await mcp.SendAsync(f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));
        await p.SlaveExecAsync("SELECT mammoth.set_node_role('slave', 0)");
        long request = await Pair.ScalarAsync<long>(p.Slave, "SELECT mammoth.mcp_batchupdate()");

        // A timeout of 0 still fetches everything the MCP held when the batch connected.
        await using RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave, extra: "replication_slave_batch_mode = on\nreplication_slave_batch_mode_timeout = 0"));
        await Wait.UntilAsync(async () => await RequestDoneAsync(p, request), "the pending request", diagnostics: () => agent.Log.Text);
        Assert.Equal(last, await p.AppliedRecnoAsync());
        await p.AssertEqualAsync("items", "id");
    }

    [Fact]
    public async Task A_batch_does_not_end_inside_a_table_dump()
    {
        Pair p = await Pair.CreateAsync(fx, "batchdump", Items);
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await p.MasterAsync("INSERT INTO items SELECT g, 'a' || g, g FROM generate_series(1, 200) g");
        await p.SlaveExecAsync("INSERT INTO items VALUES (9999, 'stale', 0)");
        await using RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave, extra: "replication_slave_batch_mode = on\nreplication_slave_batch_mode_timeout = 3s"));
        await Wait.UntilAsync(() => agent.Status().State == SlaveAgent.WaitingForBatchUpdate, "the batch-mode wait", diagnostics: () => agent.Log.Text);

        // The batch is connected and caught up; then the dump's BEGIN and first chunk arrive, and its END only
        // well after the timeout.
        long relation = await mcp.SendAsync(f.Relation(items));
        long request = await Pair.ScalarAsync<long>(p.Slave, "SELECT mammoth.mcp_batchupdate()");
        await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == relation, "the batch under way", diagnostics: () => agent.Log.Text);
        long chunk = await mcp.SendAsync(f.DumpBegin(items), f.DumpChunk(items, await p.RowsAsync("SELECT * FROM items WHERE id <= 100")));
        Assert.False(await RequestDoneAsync(p, request), "the batch ended before the dump began; the machine is too slow for this test's 3 s timeout");
        await Wait.UntilAsync(() => agent.Status().RecordsReceived >= chunk, "the open dump received", diagnostics: () => agent.Log.Text);
        await Task.Delay(4000);
        Assert.True(agent.Status().Connected, agent.Log.Text);
        Assert.False(await RequestDoneAsync(p, request));
        Assert.Equal(relation, await p.AppliedRecnoAsync());

        long last = await mcp.SendAsync(f.DumpChunk(items, await p.RowsAsync("SELECT * FROM items WHERE id > 100")), f.DumpEnd(items, 200));
        await Wait.UntilAsync(async () => await RequestDoneAsync(p, request), "the batch after the dump", diagnostics: () => agent.Log.Text);
        Assert.Equal(last, await p.AppliedRecnoAsync());
        await p.AssertEqualAsync("items", "id");
        Assert.Contains("table dump of public.items", await Pair.ScalarAsync<string>(p.Slave, $"SELECT result FROM mammoth.requests WHERE id = {request}"));
    }

    [Fact]
    public async Task A_batch_does_not_end_inside_a_full_dump()
    {
        Pair p = await Pair.CreateAsync(fx, "batchfull", Items);
        await using TestMcp mcp = await TestMcp.StartAsync();
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await p.MasterAsync("INSERT INTO items SELECT g, 'a' || g, g FROM generate_series(1, 200) g");
        await p.SlaveExecAsync("INSERT INTO items VALUES (9999, 'stale', 0)");
        await using RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave, extra: "replication_slave_batch_mode = on\nreplication_slave_batch_mode_timeout = 1s"));
        await Wait.UntilAsync(() => agent.Status().State == SlaveAgent.WaitingForBatchUpdate, "the batch-mode wait", diagnostics: () => agent.Log.Text);

        // A full dump whose one table is loaded (and committed), and its DUMP_END only well after the timeout.
        long loaded = await mcp.SendAsync([f.DumpStart(1, SlaveSet.All, 1), f.Relation(items), .. f.TableDump(items, await p.RowsAsync("SELECT * FROM items"))]);
        long request = await Pair.ScalarAsync<long>(p.Slave, "SELECT mammoth.mcp_batchupdate()");
        await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == loaded, "the table loaded", diagnostics: () => agent.Log.Text);
        await Task.Delay(3000);
        Assert.True(agent.Status() is { Connected: true, DumpRunning: true }, agent.Log.Text);
        Assert.False(await RequestDoneAsync(p, request));

        long last = await mcp.SendAsync(f.DumpEnd(1, SlaveSet.All, 1));
        await Wait.UntilAsync(async () => await RequestDoneAsync(p, request), "the batch after the dump", diagnostics: () => agent.Log.Text);
        Assert.Equal(last, await p.AppliedRecnoAsync());
        await p.AssertEqualAsync("items", "id");
        Assert.Contains("full dump 1: 1 table", await Pair.ScalarAsync<string>(p.Slave, $"SELECT result FROM mammoth.requests WHERE id = {request}"));
    }

    private static async Task<bool> RequestDoneAsync(Pair p, long id) =>
        await Pair.ScalarAsync<bool>(p.Slave, $"SELECT done_at IS NOT NULL FROM mammoth.requests WHERE id = {id}");
}
