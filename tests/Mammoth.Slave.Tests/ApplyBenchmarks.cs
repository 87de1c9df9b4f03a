using System.Diagnostics;
using System.Globalization;
using Mammoth.Log.Records;
using Mammoth.Nodes.Slave;
using Mammoth.Slave.Tests.Support;
using Mammoth.Testing;
using Xunit.Abstractions;

namespace Mammoth.Slave.Tests;

/// <summary>Runs only when MAMMOTH_SLAVE_BENCH=1 (they take minutes and print numbers rather than check them).</summary>
public sealed class BenchFactAttribute : FactAttribute
{
    public BenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("MAMMOTH_SLAVE_BENCH") != "1")
            Skip = "apply benchmark: set MAMMOTH_SLAVE_BENCH=1 to run it";
    }
}

/// <summary>
/// Apply throughput of the engine (docs/slave-agent.md quotes these). Run:
/// <c>MAMMOTH_SLAVE_BENCH=1 dotnet test tests/Mammoth.Slave.Tests -c Release --filter FullyQualifiedName~ApplyBenchmarks --logger "console;verbosity=detailed"</c>
/// </summary>
public sealed class ApplyBenchmarks(PgServerFixture fx, ITestOutputHelper output) : IClassFixture<PgServerFixture>
{
    private const string Schema = "CREATE TABLE bench (id bigint PRIMARY KEY, a int, b text, c timestamptz, d numeric)";

    private static string Rows(long from, long to) =>
        $"SELECT g::bigint, (g % 1000)::int, 'some text value of thirty bytes' || (g % 10), now(), g / 7.0 FROM generate_series({from}, {to}) g";

    /// <summary>Records of <paramref name="rowsPerRecord"/>-row INSERT sections, ids from 1, built from one COPY.</summary>
    private static async Task<(byte[] Relation, List<byte[]> Records)> BuildAsync(Pair p, RecordFactory f, int records, int rowsPerRecord)
    {
        RelationInfo bench = await p.RelationAsync("bench");
        byte[] relation = f.Relation(bench);
        Tuples all = await Pair.CopyOutAsync(p.Master, Rows(1, (long)records * rowsPerRecord));
        var list = new List<byte[]>(records);
        int offset = 0;
        for (int r = 0; r < records; r++)
        {
            int start = offset;
            for (int i = 0; i < rowsPerRecord; i++)
                offset += TupleLength(all.Bytes, offset);
            byte[] slice = all.Bytes[start..offset];
            list.Add(f.Data(b => b.Add(bench, ChangeOp.Insert, new Tuples(slice, rowsPerRecord, all.Fields))));
        }
        return (relation, list);
    }

    private static int TupleLength(byte[] b, int o)
    {
        int start = o;
        int fields = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(b.AsSpan(o));
        o += 2;
        for (int i = 0; i < fields; i++)
        {
            int len = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(o));
            o += 4 + Math.Max(0, len);
        }
        return o - start;
    }

    /// <summary>
    /// Applies records in frames of about <paramref name="frameBytes"/> (the MCP sends up to 256 kB), as the agent
    /// does with a queue of frames (commit when none is left); frameBytes 1 = one record per frame, each committed.
    /// </summary>
    private static List<byte[]> Frames(List<byte[]> records, int frameBytes)
    {
        var frames = new List<byte[]>();
        var current = new List<byte[]>();
        int size = 0;
        foreach (byte[] r in records)
        {
            if (size + r.Length > frameBytes && current.Count > 0)
            {
                frames.Add(RecordFactory.Concat([.. current]));
                current.Clear();
                size = 0;
            }
            current.Add(r);
            size += r.Length;
        }
        if (current.Count > 0)
            frames.Add(RecordFactory.Concat([.. current]));
        return frames;
    }

    private static async Task<TimeSpan> ApplyFramesAsync(RecordApplier a, List<byte[]> frames, bool commitEach)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < frames.Count; i++)
            await a.ApplyAsync(frames[i], commitAtEnd: commitEach || i == frames.Count - 1, default); // as the agent: commit when nothing more is queued
        return sw.Elapsed;
    }

    private async Task<string> RunAsync(string name, int records, int rowsPerRecord, int frameBytes, ApplyOptions options)
    {
        Pair p = await Pair.CreateAsync(fx, "bench", Schema);
        using var f = new RecordFactory();
        (byte[] relation, List<byte[]> list) = await BuildAsync(p, f, records, rowsPerRecord);
        await using RecordApplier a = await p.ApplierAsync(options);
        await a.ApplyAsync(relation, true, default);
        List<byte[]> frames = Frames(list, frameBytes);
        long gc = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan t = await ApplyFramesAsync(a, frames, commitEach: frameBytes == 1);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - gc;
        Assert.Equal((long)records * rowsPerRecord, await PgTables.CountAsync(p.Slave, "bench"));
        Assert.Equal(records + 1, await p.AppliedRecnoAsync());
        double rows = (double)records * rowsPerRecord;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{name,-58} {records,6} records x {rowsPerRecord,4} rows: {rows / t.TotalSeconds,9:0} rows/s {records / t.TotalSeconds,8:0} records/s  ({t.TotalMilliseconds:0} ms, {allocated / rows:0} B allocated per row in the process, Npgsql included)");
        output.WriteLine(line);
        return line;
    }

    [BenchFact]
    public async Task Throughput_of_one_row_and_thousand_row_transactions()
    {
        var trickle = new ApplyOptions();
        // One record per frame, committed on its own: a slave that keeps up with a master doing one-row transactions.
        await RunAsync("1-row transactions, one per frame (a commit each)", 5000, 1, 1, trickle);
        // A backlog: 256 kB frames, up to 1000 records per local transaction.
        await RunAsync("1-row transactions, backlog (256 kB frames, grouped)", 50000, 1, 256 * 1024, trickle);
        await RunAsync("1000-row transactions, one per frame", 200, 1000, 1, trickle);
        await RunAsync("1000-row transactions, backlog", 200, 1000, 256 * 1024, trickle);
    }

    [BenchFact]
    public async Task Prepared_rows_against_copy_by_section_size()
    {
        // Each record committed on its own (one per frame) so that the section's own cost shows.
        foreach (int rows in new[] { 1, 2, 3, 5, 10, 20, 50, 100, 200, 500 })
        {
            int records = Math.Max(200, 4000 / rows);
            await RunAsync($"row path (prepared statements), section of {rows}", records, rows, 1, new ApplyOptions { RowPathMaxRows = int.MaxValue });
            await RunAsync($"COPY path (staging + set statement), section of {rows}", records, rows, 1, new ApplyOptions { RowPathMaxRows = 0 });
        }
    }
    [BenchFact]
    public async Task End_to_end_through_the_mcp_and_the_agent()
    {
        foreach ((int records, int rows) in new[] { (30000, 1), (100, 1000) })
        {
            Pair p = await Pair.CreateAsync(fx, "bench_e2e", Schema);
            using var f = new RecordFactory();
            (byte[] relation, List<byte[]> list) = await BuildAsync(p, f, records, rows);
            await using TestMcp mcp = await TestMcp.StartAsync();
            await mcp.SendAsync(relation);
            for (int i = 0; i < list.Count; i += 500)
                await mcp.SendAsync([.. list.Skip(i).Take(500)]);
            var sw = Stopwatch.StartNew();
            await using (RunningAgent agent = RunningAgent.Start(mcp.NodeConf(p.Slave)))
            {
                await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == records + 1, "the backlog", TimeSpan.FromMinutes(5), () => agent.Log.Text);
                sw.Stop();
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"end to end (MCP backlog -> agent), {records} records x {rows} rows: {(double)records * rows / sw.Elapsed.TotalSeconds:0} rows/s, {records / sw.Elapsed.TotalSeconds:0} records/s ({sw.ElapsedMilliseconds} ms incl. connecting)"));
        }
    }
    /// <summary>Not a benchmark: the row path's own per-row work allocates nothing once its pooled commands exist.</summary>
    [Fact]
    public async Task The_row_path_allocates_nothing_per_row()
    {
        Pair p = await Pair.CreateAsync(fx, "alloc", Schema);
        using var f = new RecordFactory();
        (byte[] relation, List<byte[]> list) = await BuildAsync(p, f, 2, 5000);
        await using RecordApplier a = await p.ApplierAsync(new ApplyOptions { RowPathMaxRows = int.MaxValue, MaxBatchCommands = 10_000 });
        await a.ApplyAsync(RecordFactory.Concat(relation, list[0]), true, default); // builds the plan and its 5000 pooled commands
        RelationInfo bench = await p.RelationAsync("bench");
        Tuples rows = await Pair.CopyOutAsync(p.Master, Rows(1, 5000));
        a.MeasureRowPath(bench.TableId, ChangeOp.Insert, rows.Bytes, rows.Count); // warm: JIT, batch list capacity
        long allocated = a.MeasureRowPath(bench.TableId, ChangeOp.Insert, rows.Bytes, rows.Count);
        output.WriteLine($"row path: {allocated} bytes allocated for {rows.Count} rows");
        Assert.Equal(0, allocated);
    }
}
