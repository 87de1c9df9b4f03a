using System.Diagnostics;
using System.Globalization;
using Mammoth.Nodes.Master;
using Mammoth.Testing;
using Xunit.Abstractions;

namespace Mammoth.Master.Tests;

/// <summary>
/// Master commit → MCP DURABLE throughput, printed; the MCP runs as its own process (mcp_server), so the CPU
/// and allocation figures are the agent's (plus the test's polling). Sizes from MAMMOTH_BENCH_TX (single-row transactions,
/// default 20000), MAMMOTH_BENCH_ROWS (rows of the one big transaction, default 200000) and MAMMOTH_BENCH_PART
/// (MaxRecordPayload, default 8 MiB).
/// </summary>
[Collection("master")]
public sealed class ThroughputTests(PgServerFixture pg, ITestOutputHelper output)
{
    [Fact]
    public async Task Throughput_from_commit_to_durable()
    {
        int txs = Size("MAMMOTH_BENCH_TX", 20_000);
        int rows = Size("MAMMOTH_BENCH_ROWS", 200_000);
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg, """
            CREATE TABLE bench (id int8 PRIMARY KEY, a int4, b text, c timestamptz, d numeric);
            CREATE PROCEDURE gen(n int, base bigint) LANGUAGE plpgsql AS $$
            BEGIN
                FOR i IN 1..n LOOP
                    INSERT INTO bench VALUES (base + i, i, md5(i::text), now(), i * 1.5);
                    COMMIT;
                END LOOP;
            END $$;
            """, ["SELECT mammoth.enable_replication('bench', NULL)"], new MasterAgentOptions { ReconnectDelay = TimeSpan.FromMilliseconds(200), MaxRecordPayload = Size("MAMMOTH_BENCH_PART", 8 << 20) }, mcpProcess: true);
        await bed.ExecAsync("INSERT INTO bench VALUES (0, 0, '', now(), 0)");
        await WaitDurableAsync(bed, 1);

        // 1. Live: the agent streams while PostgreSQL commits.
        long before = bed.Agent!.Statistics.Rows;
        var clock = Stopwatch.StartNew();
        await bed.ExecAsync($"CALL gen({txs}, 1000000)");
        double generated = clock.Elapsed.TotalSeconds;
        await WaitDurableAsync(bed, before + txs);
        double live = clock.Elapsed.TotalSeconds;

        // 2. Backlog: the same workload committed while the agent was stopped, then drained.
        await bed.StopAgentAsync();
        await bed.ExecAsync($"CALL gen({txs}, 2000000)");
        clock.Restart();
        bed.StartAgent();
        while (bed.Agent.Statistics.Rows == 0)
            await Task.Delay(1);
        double firstRow = clock.Elapsed.TotalSeconds;
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        int gc0 = GC.CollectionCount(0);
        await WaitDurableAsync(bed, txs);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        int gcs = GC.CollectionCount(0) - gc0;
        double backlog = clock.Elapsed.TotalSeconds;
        double backlogCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;

        // 3. One big transaction.
        before = bed.Agent.Statistics.Rows;
        long bigAlloc0 = GC.GetTotalAllocatedBytes(precise: true);

        clock.Restart();
        await bed.ExecAsync($"INSERT INTO bench SELECT 3000000 + g, g, md5(g::text), now(), g * 1.5 FROM generate_series(1, {rows}) AS g");
        double inserted = clock.Elapsed.TotalSeconds;
        await WaitDurableAsync(bed, before + rows);
        double big = clock.Elapsed.TotalSeconds;
        long bigAllocated = GC.GetTotalAllocatedBytes(precise: true) - bigAlloc0;


        string F(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
        output.WriteLine($"{txs} single-row transactions, live:    {F(txs / live)} tx/s commit→durable ({live:F2} s; PostgreSQL committed them in {generated:F2} s)");
        output.WriteLine($"{txs} single-row transactions, backlog: {F(txs / backlog)} tx/s from agent start to durable ({backlog:F2} s), " +
            $"{F(txs / (backlog - firstRow))} tx/s from the first row ({backlog - firstRow:F2} s; agent CPU {backlogCpu:F2} s)");
        output.WriteLine($"1 transaction of {rows} rows:        {F(rows / big)} rows/s from the INSERT's start to durable ({big:F2} s; the INSERT itself took {inserted:F2} s, " +
            $"so {F(rows / (big - inserted))} rows/s from its commit)");
        output.WriteLine($"big transaction: allocated {bigAllocated / 1024 / 1024} MiB in the agent ({(double)bigAllocated / rows:F1} B per row; mostly the first part buffers, a fixed cost)");
        output.WriteLine($"backlog: allocated {allocated / txs} B per transaction in the agent, {gcs} gen0 GCs");
        output.WriteLine($"records {bed.Agent.Statistics.Records}, bytes {bed.Agent.Statistics.RecordBytes}, peak in flight {bed.Agent.Statistics.PeakInFlightBytes}");
        Assert.True(txs / backlog > 200, "fewer than 200 transactions per second");
        Assert.True(rows / big > 2000, "fewer than 2000 rows per second");
    }

    /// <summary>Waits until the agent shipped <paramref name="rows"/> rows in total and the MCP made the last of them durable.</summary>
    private static async Task WaitDurableAsync(MasterTestBed bed, long rows)
    {
        DateTime until = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            MasterStatistics s = bed.Agent!.Statistics;
            if (s.Rows >= rows && s.DurableLsn >= s.LastShippedLsn && s.LastShippedLsn != 0)
                return;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"{s.Rows} of {rows} rows shipped, durable {s.DurableLsn:X} of {s.LastShippedLsn:X}\n{bed.Context()}");
            await Task.Delay(5);
        }
    }

    private static int Size(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out int n) && n > 0 ? n : fallback;
}
