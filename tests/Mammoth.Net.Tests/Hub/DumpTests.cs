using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Xunit;

namespace Mammoth.Net.Tests.Hub;

/// <summary>Full dumps through the MCP (docs/dumps.md, "The MCP"), with a fake master and recording slaves.</summary>
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
}
