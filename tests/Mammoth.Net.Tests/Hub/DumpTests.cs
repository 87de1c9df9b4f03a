using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Xunit;

namespace Mammoth.Net.Tests.Hub;

/// <summary>Full dumps through the MCP (docs/dumps.md, "The MCP"), with a fake master and recording slaves.</summary>
// Not in parallel with each other: HubTests measures the process's managed memory while a slave is stuck,
// and the dump tests allocate megabytes of records meanwhile.
[Collection(HubMemory.Name)]
public class DumpTests
{
    // Recycling as soon as every slave acknowledged a segment; segments of 1 MB.
    private const string Recycling = "mcp_queue_min_size = 0";

    private static async Task SendAsync(MasterLink master, IEnumerable<byte[]> records)
    {
        var frame = new List<byte>();
        foreach (byte[] r in records)
            frame.AddRange(r);
        await master.SendRecordsAsync(frame.ToArray());
    }

    private static IEnumerable<byte[]> Transactions(long from, long to) =>
        Enumerable.Range((int)from, (int)(to - from + 1)).Select(n => TestRecords.Transaction(n, SlaveSet.All));

    /// <summary>Fills more than two segments with transactions 1..n, which slave 0 applies; recycles them.</summary>
    private static async Task<long> FillAndRecycleAsync(McpHarness mcp, MasterLink master, RecordingSlave s0, long n = 1200)
    {
        for (long i = 1; i <= n; i += 100)
            await SendAsync(master, Enumerable.Range((int)i, 100).Select(k => TestRecords.Big(k, 2000)));
        await s0.WaitForAsync(n);
        await HubTests.WaitUntil(() => mcp.Server.SnapshotState().Slave(0).AckRecno == n);
        mcp.Server.RecycleOnce();
        long first = mcp.Server.TxLog.FirstRecno;
        Assert.True(first > 1, "the first records were recycled");
        return first;
    }

    private static SlaveRecord Slave(McpHarness mcp, int no) => mcp.Server.SnapshotState().Slave(no);

    private static string Stat(McpHarness mcp) => McpStatusReport.Read(mcp.TxlogPath).ToText();

    [Fact]
    public async Task A_slave_whose_next_record_was_recycled_is_streamed_from_its_DUMP_START_and_is_SYNC_once_it_acknowledges_the_DUMP_END()
    {
        await using McpHarness mcp = await McpHarness.StartAsync(Recycling);
        await using RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0);
        await using MasterLink master = await mcp.MasterAsync();
        const long N = 1200;
        await FillAndRecycleAsync(mcp, master, s0, N);

        await using RecordingSlave s1 = await RecordingSlave.StartAsync(mcp, 1, next: 1);
        DumpRequest request = await master.DumpRequests.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, request.SlaveNo);
        Assert.Contains("was recycled", request.Reason);
        await HubTests.WaitUntil(() => s1.LastState?.State == SlaveSyncState.DUMP);
        Assert.Equal(SlaveSyncState.DUMP, Slave(mcp, 1).State);

        // More transactions before the dump: slave 1 gets none of them (the dump covers them).
        await SendAsync(master, Transactions(N + 1, N + 10));
        long r = N + 11; // where the DUMP_START lands
        s1.AckLimit = r + 4; // hold back the acknowledgement of the DUMP_END to look at the state meanwhile
        await SendAsync(master, TestRecords.Dump(7, SlaveSet.Of(1), afterN: N + 10, tables: 2));
        long end = r + 7; // DUMP_START, 2 × (BEGIN, CHUNK, END), DUMP_END
        await SendAsync(master, Transactions(N + 11, N + 15));
        await s1.WaitForAsync(end + 5);

        var got = s1.Snapshot();
        Assert.Equal(r, s1.GapTo);
        Assert.Equal(Enumerable.Range((int)r, 13).Select(i => (long)i), got.Select(g => g.Recno));
        Assert.Equal([RecordKind.DumpStart, RecordKind.TableDumpBegin, RecordKind.TableDumpChunk, RecordKind.TableDumpEnd,
            RecordKind.TableDumpBegin, RecordKind.TableDumpChunk, RecordKind.TableDumpEnd, RecordKind.DumpEnd], got.Take(8).Select(g => g.Kind));
        Assert.Equal([(1u, 1L), (1u, 2L), (1u, 3L)], got[2].Values);

        // Its dump started, has ended, and is not acknowledged yet: still DUMP, and mcp_stat says where it stands.
        await HubTests.WaitUntil(() => Slave(mcp, 1) is { DumpStartRecno: long s, DumpEndRecno: long e } && s == r && e == end);
        Assert.Equal(SlaveSyncState.DUMP, Slave(mcp, 1).State);
        await HubTests.WaitUntil(() => Stat(mcp).Contains($"dump: started at record {r} (2 tables), ended at record {end}"));
        Assert.Contains($"\"dump_start_record\": {r}", McpStatusReport.Read(mcp.TxlogPath).ToJson());

        s1.AckLimit = null;
        await s1.AckNowAsync();
        await HubTests.WaitUntil(() => Slave(mcp, 1) is { State: SlaveSyncState.SYNC, DumpReason: null, DumpStartRecno: null });
        await HubTests.WaitUntil(() => Stat(mcp).Contains("Slave1 -- SYNC  first record: " + (end + 6)));
        Assert.DoesNotContain("dump:", Stat(mcp).Split('\n').Single(l => l.StartsWith("Slave1 -- records:", StringComparison.Ordinal)));

        // Slave 0 is not named by the dump: an EMPTY stand-in for each of its records, no gap.
        await s0.WaitForAsync(end + 5);
        var s0got = s0.Snapshot();
        Assert.Equal(Enumerable.Range(1, (int)(end + 5)).Select(i => (long)i), s0got.Select(g => g.Recno));
        Assert.All(s0got.Where(g => g.Recno >= r && g.Recno <= end), g => Assert.Equal(RecordKind.Empty, g.Kind));
        Assert.Equal(SlaveSyncState.SYNC, Slave(mcp, 0).State);
    }

    /// <summary>
    /// A slave whose rows came from another queue subscribes asking for a full dump: whatever its next_recno (here
    /// a record this queue has), it gets nothing but its dump, from the DUMP_START on.
    /// </summary>
    [Fact]
    public async Task A_slave_asking_for_a_full_dump_gets_only_its_dump_whatever_its_recno()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using MasterLink master = await mcp.MasterAsync();
        await SendAsync(master, Transactions(1, 20));
        await HubTests.WaitUntil(() => mcp.Server.TxLog.LastRecno == 20);

        await using RecordingSlave s1 = await RecordingSlave.StartAsync(mcp, 1, next: 5, needsDump: true);
        DumpRequest request = await master.DumpRequests.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, request.SlaveNo);
        Assert.Contains("another MCP queue", request.Reason);
        await HubTests.WaitUntil(() => s1.LastState?.State == SlaveSyncState.DUMP);
        Assert.Contains("your records came from another MCP queue", s1.LastState!.Reason);
        Assert.Equal(SlaveSyncState.DUMP, Slave(mcp, 1).State);

        await SendAsync(master, TestRecords.Dump(9, SlaveSet.Of(1), afterN: 20, tables: 1));
        await SendAsync(master, Transactions(21, 22));
        long end = 21 + 4; // DUMP_START, BEGIN, CHUNK, END, DUMP_END
        await s1.WaitForAsync(end + 2);
        var got = s1.Snapshot();
        Assert.Equal(21, got[0].Recno);
        Assert.Equal(RecordKind.DumpStart, got[0].Kind);
        Assert.Equal(Enumerable.Range(21, 7).Select(i => (long)i), got.Select(g => g.Recno));
        await s1.AckNowAsync();
        await HubTests.WaitUntil(() => Slave(mcp, 1) is { State: SlaveSyncState.SYNC, DumpReason: null });
    }

    [Fact]
    public async Task MCP_REFRESH_puts_streaming_slaves_in_DUMP_they_keep_streaming_into_the_dump_and_are_SYNC_after_it()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0);
        await using RecordingSlave s1 = await RecordingSlave.StartAsync(mcp, 1);
        await using MasterLink master = await mcp.MasterAsync();
        await SendAsync(master, Transactions(1, 20));
        await Task.WhenAll(s0.WaitForAsync(20), s1.WaitForAsync(20));

        await master.SendRefreshAsync();
        await HubTests.WaitUntil(() => Slave(mcp, 0).State == SlaveSyncState.DUMP && Slave(mcp, 1).State == SlaveSyncState.DUMP);
        Assert.Equal("MCP REFRESH", Slave(mcp, 1).DumpReason);
        await SendAsync(master, Transactions(21, 25)); // the capture goes on until the dump's snapshot
        await SendAsync(master, TestRecords.Dump(1, SlaveSet.All, afterN: 25));
        await SendAsync(master, Transactions(26, 30));
        const long start = 26, end = 30, last = 35;
        await Task.WhenAll(s0.WaitForAsync(last), s1.WaitForAsync(last));
        foreach (RecordingSlave s in new[] { s0, s1 })
        {
            var got = s.Snapshot();
            Assert.Equal(0, s.GapTo); // no gap: it simply reached its DUMP_START
            Assert.Equal(Enumerable.Range(1, (int)last).Select(i => (long)i), got.Select(g => g.Recno));
            Assert.Equal(RecordKind.DumpStart, got[(int)start - 1].Kind);
            Assert.Equal(RecordKind.DumpEnd, got[(int)end - 1].Kind);
        }
        await HubTests.WaitUntil(() => Slave(mcp, 0) is { State: SlaveSyncState.SYNC, DumpReason: null } && Slave(mcp, 1) is { State: SlaveSyncState.SYNC, DumpReason: null });
        await HubTests.WaitUntil(() => Stat(mcp).Contains("Slave0 -- SYNC") && Stat(mcp).Contains("Slave1 -- SYNC"));
    }

    [Fact]
    public async Task A_dump_for_one_slave_does_not_end_another_slaves_DUMP()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0);
        await using RecordingSlave s1 = await RecordingSlave.StartAsync(mcp, 1);
        await using MasterLink master = await mcp.MasterAsync();
        await SendAsync(master, Transactions(1, 5));
        await master.SendRefreshAsync();
        await HubTests.WaitUntil(() => Slave(mcp, 1).State == SlaveSyncState.DUMP);
        await SendAsync(master, TestRecords.Dump(2, SlaveSet.Of(0), afterN: 5)); // records 6..10, for slave 0 only
        await SendAsync(master, Transactions(6, 8));
        await Task.WhenAll(s0.WaitForAsync(13), s1.WaitForAsync(13));
        await HubTests.WaitUntil(() => Slave(mcp, 0).State == SlaveSyncState.SYNC);
        Assert.All(s1.Snapshot().Where(g => g.Recno is >= 6 and <= 10), g => Assert.Equal(RecordKind.Empty, g.Kind));
        await Task.Delay(200);
        Assert.Equal(SlaveSyncState.DUMP, Slave(mcp, 1).State);
        Assert.Null(Slave(mcp, 1).DumpStartRecno);
    }

    [Fact]
    public async Task After_an_MCP_restart_between_the_DUMP_START_and_the_slaves_connection_the_slave_is_streamed_from_the_DUMP_START()
    {
        await using McpHarness mcp = await McpHarness.StartAsync(Recycling);
        long r, end;
        await using (RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0))
        {
            await using MasterLink master = await mcp.MasterAsync();
            const long N = 1200;
            await FillAndRecycleAsync(mcp, master, s0, N);
            await using (RecordingSlave early = await RecordingSlave.StartAsync(mcp, 1, next: 1))
                await HubTests.WaitUntil(() => early.LastState?.State == SlaveSyncState.DUMP);
            await HubTests.WaitUntil(() => !Slave(mcp, 1).Connected);
            r = N + 1;
            await SendAsync(master, TestRecords.Dump(3, SlaveSet.Of(1), afterN: N));
            end = r + 4;
            await SendAsync(master, Transactions(N + 1, N + 3));
            await master.WaitDurableAsync(1, 1000 + N + 3, 0).WaitAsync(TimeSpan.FromSeconds(20));
            await HubTests.WaitUntil(() => Slave(mcp, 1).DumpEndRecno == end);
        }

        // Down: forget what the watcher noted (as if the MCP died before saving it); it reads again at the start.
        await mcp.RestartAsync(() =>
        {
            McpState state = McpStateStore.Load(mcp.TxlogPath);
            SlaveRecord rec = state.Slave(1);
            Assert.Equal(SlaveSyncState.DUMP, rec.State);
            Assert.Equal(r, rec.DumpStartRecno);
            rec.ClearDumpProgress();
            McpStateStore.Save(mcp.TxlogPath, state);
        });
        await HubTests.WaitUntil(() => Slave(mcp, 1).DumpStartRecno == r);

        await using RecordingSlave s1 = await RecordingSlave.StartAsync(mcp, 1, next: 1);
        await s1.WaitForAsync(end + 3);
        Assert.Equal(r, s1.GapTo);
        Assert.Equal(RecordKind.DumpStart, s1.Snapshot()[0].Kind);
        await HubTests.WaitUntil(() => Slave(mcp, 1).State == SlaveSyncState.SYNC);
    }

    [Fact]
    public async Task A_slave_that_reconnects_in_the_middle_of_its_dump_goes_on_from_its_next_record()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using MasterLink master = await mcp.MasterAsync();
        await using (RecordingSlave s = await RecordingSlave.StartAsync(mcp, 0))
        {
            await SendAsync(master, Transactions(1, 5));
            await s.WaitForAsync(5);
            await master.SendRefreshAsync();
            await HubTests.WaitUntil(() => Slave(mcp, 0).State == SlaveSyncState.DUMP);
            s.AckLimit = 8; // it applied through record 8 when it lost its connection
            await SendAsync(master, TestRecords.Dump(4, SlaveSet.All, afterN: 5, tables: 2)); // records 6..13
            await s.WaitForAsync(13);
        }
        await HubTests.WaitUntil(() => !Slave(mcp, 0).Connected && Slave(mcp, 0).DumpEndRecno == 13);
        Assert.Equal(SlaveSyncState.DUMP, Slave(mcp, 0).State);
        await using RecordingSlave again = await RecordingSlave.StartAsync(mcp, 0, next: 9);
        await again.WaitForAsync(13);
        Assert.Equal(9, again.Snapshot()[0].Recno);
        Assert.Equal(0, again.GapTo);
        await HubTests.WaitUntil(() => Slave(mcp, 0).State == SlaveSyncState.SYNC);
    }

    [Fact]
    public void The_filter_sends_dump_markers_to_the_slaves_they_name_and_dump_sections_by_their_slave_set()
    {
        List<byte[]> dump = TestRecords.Dump(1, SlaveSet.Of(2, 5), afterN: 1);
        foreach (byte[] rec in dump)
        {
            RecordHeader h = RecordHeader.Read(rec);
            ReadOnlySpan<byte> payload = rec.AsSpan(RecordHeader.Size);
            Assert.Equal(FilterVerdict.AsIs, SlaveFilter.Classify(h.Kind, payload, 2));
            Assert.Equal(FilterVerdict.AsIs, SlaveFilter.Classify(h.Kind, payload, 5));
            Assert.Equal(FilterVerdict.Empty, SlaveFilter.Classify(h.Kind, payload, 3));
        }
        foreach (byte[] rec in TestRecords.Dump(1, SlaveSet.All, afterN: 1))
            Assert.Equal(FilterVerdict.AsIs, SlaveFilter.Classify(RecordHeader.Read(rec).Kind, rec.AsSpan(RecordHeader.Size), 63));

        // A chunk with sections for different slaves is cut down like a data record.
        using var b = new RecordBuilder(256);
        b.Begin(RecordKind.TableDumpChunk, RecordFlags.Continued);
        b.BeginSection(1, ChangeOp.Insert, SlaveSet.Of(0), 1);
        b.EndSection();
        b.BeginSection(2, ChangeOp.Insert, SlaveSet.Of(1), 1);
        b.EndSection();
        byte[] chunk = b.Finish(epoch: 1, commitLsn: 5).ToArray();
        Assert.Equal(FilterVerdict.Filtered, SlaveFilter.Classify(RecordKind.TableDumpChunk, chunk.AsSpan(RecordHeader.Size), 0));
        Assert.Equal(FilterVerdict.Empty, SlaveFilter.Classify(RecordKind.TableDumpChunk, chunk.AsSpan(RecordHeader.Size), 2));
    }
}
