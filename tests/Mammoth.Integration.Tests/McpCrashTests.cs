using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Net.Hub;
using Xunit;
using Xunit.Abstractions;

namespace Mammoth.Integration.Tests;

/// <summary>
/// The MCP as its own <c>mcp_server</c> process, SIGKILLed and started again on the same txlog and port while
/// the agents keep running: what it had made durable is all that survives, and the agents must pick up from
/// there on their own (reconnect with back-off, the master re-sends from the MCP's resume point, the slaves
/// subscribe from their applied record). Each test ends in a row-by-row comparison.
/// </summary>
[Collection("replication, MCP process")]
public class McpCrashTests(McpProcessSetup r, ITestOutputHelper output)
{
    /// <summary>
    /// The kill comes after the MCP stored the first records of a 300k-row table dump (and, as a rule, a slave
    /// began loading them) and long before the dump's TABLE_DUMP_END, while a workload writes to the same table.
    /// It proves: the MCP recovers its txlog (whatever the kill left at its end); the slaves drop the
    /// half-loaded table (their open local transaction dies with the link, and the partial dump that the
    /// restarted MCP streams again is cut short by what follows it); the master, whose request is still in
    /// mammoth.table_dumps, dumps the table again at a new snapshot; and the changes written before, during and
    /// after the crash are applied exactly once: both slaves end identical to the master row by row (the
    /// workload's UPDATE appends to a value, so an update applied twice or lost leaves a difference, as does a
    /// lost or extra row), and both are SYNC at the MCP with every record acknowledged. A second table, replicated
    /// all along and written by a second workload, has no dump to cover its changes: whatever of them the
    /// crash lost or let through twice stays visible in its comparison.
    /// </summary>
    [Fact]
    public async Task MCP_killed_during_a_table_dump_under_writes_restarts_and_every_slave_ends_identical()
    {
        const string Table = "it_mcpkill", Side = "it_mcpkill_side";
        await r.ExecAllAsync($"CREATE TABLE {Table} (id int8 PRIMARY KEY, v text NOT NULL); CREATE TABLE {Side} (id int8 PRIMARY KEY, v text NOT NULL)");
        await r.EnableAsync($"public.{Side}"); // empty: replicated from here on, never dumped
        await r.ExecAsync(r.Master, $"INSERT INTO {Table} SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 300000) g");
        await r.ExecAsync(r.Master, $"INSERT INTO {Side} SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        long queueBefore = r.Status().LastRecno;
        using var stop = new CancellationTokenSource();
        Task<long> writes = r.WriteAsync(Table, 300_000, stop.Token);
        Task<long> sideWrites = r.WriteAsync(Side, 20_000, stop.Token);
        await r.EnableAsync($"public.{Table}");
        await r.WaitForLogAsync("master", $"dumping public.{Table}", TimeSpan.FromMinutes(1));

        // Kill once the MCP holds part of the dump (about 41 chunks of 1 MiB): when slave 0 has begun loading it
        // and a chunk is stored, or at the latest when 8 chunks are, so that the rest is surely still to come.
        long next = queueBefore + 1, dumpBegin = 0;
        int chunks = 0;
        bool slaveLoading;
        DateTime until = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            foreach ((long recno, RecordKind kind) in r.TxLogRecords(next))
            {
                next = recno + 1;
                if (kind == RecordKind.TableDumpBegin && dumpBegin == 0)
                    dumpBegin = recno;
                else if (kind == RecordKind.TableDumpChunk && dumpBegin > 0)
                    chunks++;
            }
            slaveLoading = r.AgentLog("slave0").Contains($"dump of public.{Table} begins", StringComparison.Ordinal);
            if (chunks >= 8 || (chunks > 0 && slaveLoading))
                break;
            Assert.True(DateTime.UtcNow < until, $"the MCP never stored the dump's first chunks\n{r.Diagnostics()}");
            await Task.Delay(20);
        }
        r.KillMcp();
        output.WriteLine($"MCP killed with the dump's TABLE_DUMP_BEGIN at record {dumpBegin} and {chunks} chunks stored; slave 0 {(slaveLoading ? "was loading it" : "had not reached it")}");

        await Task.Delay(1000); // the agents notice and retry meanwhile; the workload goes on
        await r.StartMcpAsync();
        await r.WaitNoTableDumpsAsync(TimeSpan.FromMinutes(3));
        await Task.Delay(1000); // changes after the new dump, through the restarted MCP
        await stop.CancelAsync();
        long statements = await writes + await sideWrites;
        Assert.True(statements > 100, $"only {statements} writes ran");
        await r.AssertReplicatedAsync(Table, "id");
        await r.AssertReplicatedAsync(Side, "id");

        // The kill did cut the dump short: the master took it again (it deletes its request only once the MCP
        // reported the TABLE_DUMP_END durable), and both slaves loaded a dump of the table.
        string master = r.AgentLog("master");
        Assert.True(ReplicationSetup.Count(master, $"dumping public.{Table}") >= 2,
            $"the MCP was killed after the dump was complete, so this run proved less than it should (master dumped the table once)\n{r.Diagnostics()}");
        // Each slave found the partial dump in the restarted MCP's queue, dropped it when the records after it
        // came, and loaded the dump taken again.
        for (int s = 0; s < 2; s++)
        {
            string log = r.AgentLog($"slave{s}");
            Assert.Contains($"the dump of public.{Table} that began at record {dumpBegin} ends without its TABLE_DUMP_END", log, StringComparison.Ordinal);
            Assert.Contains($"loaded the dump of public.{Table}", log, StringComparison.Ordinal);
        }
        output.WriteLine($"{statements} writes; master log: dumped the table {ReplicationSetup.Count(master, $"dumping public.{Table}")} times");

        // mcp_stat: both slaves SYNC, every record acknowledged.
        until = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            McpStatusReport st = r.Status();
            if (st.Slaves.Take(2).All(x => x.State == SlaveSyncState.SYNC && x.AckRecord == st.LastRecno))
                break;
            Assert.True(DateTime.UtcNow < until, $"the slaves are not SYNC with every record acknowledged after the MCP restart\n{r.Diagnostics()}");
            await Task.Delay(100);
        }
    }
    /// <summary>
    /// The MCP's txlog is replaced: with two tables replicated and in sync on both slaves (and a workload writing
    /// to them), the MCP is SIGKILLed and its whole queue directory deleted, as if an administrator had lost or
    /// wiped it; the MCP starts again on the same port with a brand-new queue (a new queue id, records numbered
    /// from 1 again). It proves: each slave notices that its stored queue id is not the new MCP's and subscribes
    /// asking for a full dump; the MCP has the master agent take one; the slaves load it, take the new queue's
    /// numbering from its DUMP_START (slave_progress.mcp_id becomes the new queue id) and end SYNC; and the changes
    /// written before the kill, while the MCP was down and after the restart all arrive: both slaves end identical
    /// to the master row by row.
    /// </summary>
    [Fact]
    public async Task MCP_txlog_replaced_by_a_new_queue_makes_the_slaves_load_a_full_dump_and_follow_the_new_queue()
    {
        const string Table = "it_newqueue", Side = "it_newqueue_side";
        await r.ExecAllAsync($"CREATE TABLE {Table} (id int8 PRIMARY KEY, v text NOT NULL); CREATE TABLE {Side} (id int8 PRIMARY KEY, v text NOT NULL)");
        await r.EnableAsync($"public.{Table}");
        await r.EnableAsync($"public.{Side}");
        await r.ExecAsync(r.Master, $"INSERT INTO {Table} SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        await r.ExecAsync(r.Master, $"INSERT INTO {Side} SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
        await r.AssertReplicatedAsync(Table, "id"); // in sync through the old queue
        await r.AssertReplicatedAsync(Side, "id");
        using var stop = new CancellationTokenSource();
        Task<long> writes = r.WriteAsync(Table, 20_000, stop.Token);
        Task<long> sideWrites = r.WriteAsync(Side, 2_000, stop.Token);
        await Task.Delay(1000); // changes through the old queue

        Guid oldQueue = McpStateStore.Load(r.QueuePath).McpId;
        r.KillMcp();
        Directory.Delete(r.QueuePath, recursive: true);
        await Task.Delay(1000); // the agents notice and retry meanwhile; the workload goes on
        await r.StartMcpAsync();
        Guid newQueue = McpStateStore.Load(r.QueuePath).McpId;
        Assert.NotEqual(oldQueue, newQueue);
        output.WriteLine($"queue {oldQueue} replaced by {newQueue}");

        for (int s = 0; s < 2; s++)
            await r.WaitForLogAsync($"slave{s}", "this slave follows that queue's records from here", TimeSpan.FromMinutes(1));
        await Task.Delay(1000); // changes after the full dump, through the new queue
        await stop.CancelAsync();
        long statements = await writes + await sideWrites;
        Assert.True(statements > 100, $"only {statements} writes ran");
        await r.AssertReplicatedAsync(Table, "id");
        await r.AssertReplicatedAsync(Side, "id");

        for (int s = 0; s < 2; s++)
        {
            string progress = await r.ScalarAsync<string>(r.Slave(s), "SELECT coalesce(mcp_id::text, 'null') FROM mammoth.slave_progress");
            Assert.True(progress == newQueue.ToString(), $"slave {s}: slave_progress.mcp_id is {progress}, not the new queue {newQueue} (the old one was {oldQueue})\n{r.Diagnostics()}");
        }
        output.WriteLine($"{statements} writes");

        // mcp_stat: both slaves SYNC, every record acknowledged.
        DateTime until = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            McpStatusReport st = r.Status();
            if (st.Slaves.Take(2).All(x => x.State == SlaveSyncState.SYNC && x.AckRecord == st.LastRecno))
                break;
            Assert.True(DateTime.UtcNow < until, $"the slaves are not SYNC with every record acknowledged on the new queue\n{r.Diagnostics()}");
            await Task.Delay(100);
        }
    }
}
