using Mammoth.Log.Records;
using Mammoth.Nodes.Master;
using Mammoth.Testing;
using static Mammoth.Master.Tests.Records;

namespace Mammoth.Master.Tests;

/// <summary>Durability-driven confirmation, reconnects, the heartbeat, and requests.</summary>
[Collection("master")]
public sealed class FlowTests(PgServerFixture pg)
{
    private static List<int> Ids(List<Rec> records, uint table) =>
        records.SelectMany(r => r.Sections).Where(s => s.TableId == table && s.Op == ChangeOp.Insert)
            .SelectMany(s => s.Rows).Select(row => Int4(Fields(row)[0])).ToList();

    [Fact]
    public async Task The_slot_never_passes_what_the_MCP_made_durable_and_an_MCP_restart_loses_and_repeats_nothing()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE f (id int PRIMARY KEY);", ["SELECT mammoth.enable_replication('f', NULL)"]);
        RawSlave slave = await bed.SlaveAsync(0);
        uint f = await bed.OidAsync("f");
        for (int i = 1; i <= 10; i++)
            await bed.ExecAsync($"INSERT INTO f VALUES ({i})");
        await bed.WaitForRowAsync(slave, f, 10);

        await bed.Mcp.StopAsync();
        ulong stopped = await bed.CurrentLsnAsync();
        for (int i = 11; i <= 20; i++)
            await bed.ExecAsync($"INSERT INTO f VALUES ({i})");
        await bed.ExecAsync("BEGIN; INSERT INTO f SELECT g FROM generate_series(21, 2000) AS g; COMMIT");
        for (int n = 0; n < 15; n++)
        {
            await Task.Delay(200);
            ulong confirmed = await bed.ConfirmedFlushAsync();
            Assert.True(confirmed <= stopped,
                $"the slot was confirmed to {PgTime.FormatLsn(confirmed)}, past {PgTime.FormatLsn(stopped)}, while the MCP was down\n{bed.Context()}");
        }

        await bed.Mcp.StartAgainAsync();
        RawSlave again = await bed.SlaveAsync(1);
        List<Rec> all = await bed.WaitForRowAsync(again, f, 2000);
        Assert.Equal(Enumerable.Range(1, 2000), Ids(all, f));
        ulong end = await bed.CurrentLsnAsync();
        await SettingsTests.WaitUntilAsync(async () => await bed.ConfirmedFlushAsync() >= end, "the slot to catch up", bed);
        Assert.True(bed.Agent!.Statistics.Sessions >= 2);
    }

    [Fact]
    public async Task While_the_MCP_has_not_stored_the_records_the_slot_does_not_move()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE h (id int PRIMARY KEY);", ["SELECT mammoth.enable_replication('h', NULL)"], startAgent: false);
        await using var proxy = new HoldingProxy(bed.Mcp.Port);
        bed.AgentMcpPort = proxy.Port;
        bed.StartAgent();
        RawSlave slave = await bed.SlaveAsync(0);
        uint h = await bed.OidAsync("h");
        await bed.ExecAsync("INSERT INTO h VALUES (1)");
        await bed.WaitForRowAsync(slave, h, 1);
        ulong afterFirst = await bed.CurrentLsnAsync();
        await SettingsTests.WaitUntilAsync(async () => await bed.ConfirmedFlushAsync() >= afterFirst, "the first transaction to be confirmed", bed);

        proxy.Hold();
        ulong held = await bed.CurrentLsnAsync();
        for (int i = 2; i <= 50; i++)
            await bed.ExecAsync($"INSERT INTO h VALUES ({i})");
        for (int n = 0; n < 10; n++)
        {
            await Task.Delay(200);
            ulong confirmed = await bed.ConfirmedFlushAsync();
            Assert.True(confirmed <= held,
                $"the slot was confirmed to {PgTime.FormatLsn(confirmed)}, past {PgTime.FormatLsn(held)}, while the MCP received nothing\n{bed.Context()}");
        }
        Assert.True(bed.Agent!.Statistics.Transactions >= 50, "the agent should have captured the held transactions");

        proxy.Release();
        List<Rec> all = await bed.WaitForRowAsync(slave, h, 50);
        Assert.Equal(Enumerable.Range(1, 50), Ids(all, h));
        ulong end = await bed.CurrentLsnAsync();
        await SettingsTests.WaitUntilAsync(async () => await bed.ConfirmedFlushAsync() >= end, "the slot to catch up", bed);
    }

    [Fact]
    public async Task A_master_agent_refuses_a_slave_database_and_says_why()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE s (id int PRIMARY KEY);", ["SELECT mammoth.set_node_role('slave', 3)"], startAgent: false);
        bed.StartAgent();
        await SettingsTests.WaitUntilAsync(() => Task.FromResult(bed.AgentLog().Contains("is a slave (mammoth.node_role() is slave)", StringComparison.Ordinal)),
            "the refusal", bed);
        Assert.Equal(0, bed.Agent!.Statistics.Sessions);
        Assert.Equal("slave", await bed.ScalarAsync<string>("SELECT mammoth.node_role()"));
        Assert.Equal(0L, await bed.ScalarAsync<long>("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'mammoth'"));
    }

    [Fact]
    public async Task Re_streamed_transactions_keep_their_seq_so_nothing_is_stored_twice()
    {
        var options = new MasterAgentOptions { ReconnectDelay = TimeSpan.FromMilliseconds(200), ConfirmInterval = TimeSpan.FromMilliseconds(20) };
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE t (id int PRIMARY KEY);", ["SELECT mammoth.enable_replication('t', NULL)"], options);
        RawSlave slave = await bed.SlaveAsync(0);
        uint t = await bed.OidAsync("t");
        // First session: A brings relation t (RELATION record + data); A is confirmed. B is a data record alone,
        // stored by the MCP but never confirmed to the slot.
        await bed.ExecAsync("INSERT INTO t VALUES (1)");
        await bed.WaitForRowAsync(slave, t, 1);
        ulong afterA = await bed.CurrentLsnAsync();
        await SettingsTests.WaitUntilAsync(async () => await bed.ConfirmedFlushAsync() >= afterA, "A to be confirmed", bed);
        options.ConfirmToSlot = false;
        await bed.ExecAsync("INSERT INTO t VALUES (2)");
        await bed.WaitForRowAsync(slave, t, 2);
        await bed.StopAgentAsync();
        options.ConfirmToSlot = true;

        // Second session: the slot re-sends B first, and with an empty cache B now has a RELATION record in front.
        bed.StartAgent();
        await bed.ExecAsync("INSERT INTO t VALUES (3)");
        List<Rec> all = await bed.WaitForRowAsync(slave, t, 3);
        Assert.Equal([1, 2, 3], Ids(all, t));
        Assert.True(bed.Agent!.Statistics.RecordsSkipped >= 2, $"expected B's records to be skipped, skipped {bed.Agent.Statistics.RecordsSkipped}");
        List<Rec> ofT = all.Where(r => r.Relations.Any(x => x.TableId == t) || r.Sections.Any(s => s.TableId == t)).ToList();
        Assert.Equal([(RecordKind.Relation, 0u), (RecordKind.Data, 1u), (RecordKind.Data, 1u), (RecordKind.Data, 1u)], ofT.Select(r => (r.Kind, r.Seq)));
    }

    [Fact]
    public async Task An_idle_master_with_only_unreplicated_writes_still_releases_WAL()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE pub (id int PRIMARY KEY); CREATE TABLE unpub (id int PRIMARY KEY, v text);",
            ["SELECT mammoth.enable_replication('pub', NULL)"], new MasterAgentOptions
            {
                HeartbeatInterval = TimeSpan.FromMilliseconds(300),
                ConfirmInterval = TimeSpan.FromMilliseconds(20),
                ReconnectDelay = TimeSpan.FromMilliseconds(200),
            });
        RawSlave slave = await bed.SlaveAsync(0);
        uint pub = await bed.OidAsync("pub");
        await bed.ExecAsync("INSERT INTO pub VALUES (1)");
        await bed.WaitForRowAsync(slave, pub, 1);
        int records = slave.Records.Count;

        await bed.ExecAsync("INSERT INTO unpub SELECT g, md5(g::text) FROM generate_series(1, 20000) AS g");
        ulong after = await bed.CurrentLsnAsync();
        await SettingsTests.WaitUntilAsync(async () => await bed.ConfirmedFlushAsync() >= after, "the slot to pass the unreplicated writes", bed);
        Assert.True(bed.Agent!.Statistics.Heartbeats > 0);
        Assert.Equal(records, slave.Records.Count); // heartbeats make no records
        Assert.True(bed.Agent.Statistics.ConfirmedLsn >= after);
    }

    [Fact]
    public async Task Requests_are_carried_out_marked_and_never_shipped()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE q (id int PRIMARY KEY);", ["SELECT mammoth.enable_replication('q', NULL)"], startAgent: false);
        // Made while no agent listens: found at start.
        long early = await bed.ScalarAsync<long>("SELECT mammoth.mcp_refresh()");
        bed.StartAgent();
        RawSlave slave = await bed.SlaveAsync(0);
        uint q = await bed.OidAsync("q");
        uint requests = await bed.OidAsync("mammoth.requests");
        long refresh = await bed.ScalarAsync<long>("SELECT mammoth.mcp_refresh()");
        long other = await bed.ScalarAsync<long>("INSERT INTO mammoth.requests (kind) VALUES ('batchupdate') RETURNING id");

        foreach ((long id, string result) in new[] { (early, RequestWorker.RefreshDone), (refresh, RequestWorker.RefreshDone), (other, RequestWorker.NotHandled) })
        {
            await SettingsTests.WaitUntilAsync(async () => await bed.ScalarAsync<bool>($"SELECT done_at IS NOT NULL FROM mammoth.requests WHERE id = {id}"),
                $"request {id} to be done", bed);
            Assert.Equal(result, await bed.ScalarAsync<string>($"SELECT result FROM mammoth.requests WHERE id = {id}"));
        }
        await SettingsTests.WaitUntilAsync(() => Task.FromResult(bed.Mcp.ReadLog().Contains("MCP REFRESH", StringComparison.Ordinal)), "the MCP to log MCP REFRESH", bed);
        // The MCP answers MCP REFRESH with a DUMP_REQUEST for every slave, and the agent ships the full dump.
        await SettingsTests.WaitUntilAsync(() => Task.FromResult(bed.AgentLog().Contains("asks for a full dump", StringComparison.Ordinal)), "the agent to log the MCP's DUMP_REQUEST", bed);
        await SettingsTests.WaitUntilAsync(() => Task.FromResult(bed.AgentLog().Contains("the MCP has the dump durable", StringComparison.Ordinal)), "the full dump to be durable", bed);
        await bed.StopAgentAsync();
        bed.StartAgent();

        await bed.ExecAsync("INSERT INTO q VALUES (1)");
        List<Rec> all = await bed.WaitForRowAsync(slave, q, 1);
        Assert.DoesNotContain(all.SelectMany(r => r.Sections), s => s.TableId == requests);
        Assert.DoesNotContain(all.SelectMany(r => r.Relations), r => r.TableId == requests);
    }
}
