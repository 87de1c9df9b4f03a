using Mammoth.Log.Inspection;
using Mammoth.Log.Storage;
using Xunit;

namespace Mammoth.Log.Tests.Storage;

/// <summary>Allocation budgets of the hot paths (bench/README.md measures the same with BenchmarkDotNet).</summary>
public class AllocationTests
{
    [Fact]
    public async Task Reading_allocates_nothing_per_record_even_across_segments()
    {
        using var dir = new TempDir("alloc-read");
        using var w = new SyntheticWorkload(300, tables: 3);
        using var log = TxLog.Open(TxLogTests.Options(dir.Path, segmentSize: 64 * 1024, flushBytes: 16 * 1024));
        for (long i = 1; i <= 3000; i++)
            log.Append(w.DataRecord(i));
        await log.FlushAsync();
        Assert.True(log.GetSegments().Count > 10, "the test must cross segments");

        using TxLogReader reader = log.OpenReader(log.FirstRecno);
        Assert.Equal(3000, ReadToEnd(reader)); // first pass: JIT, type loads
        reader.Seek(log.FirstRecno);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long n = ReadToEnd(reader);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(3000, n);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task Appending_allocates_nothing_per_record()
    {
        using var dir = new TempDir("alloc-append");
        using var w = new SyntheticWorkload(200, tables: 3);
        byte[] record = w.DataRecord(1).ToArray();
        using var log = TxLog.Open(TxLogTests.Options(dir.Path, segmentSize: 64L << 20, flushBytes: 64 * 1024));
        for (int i = 0; i < 1000; i++)
            log.Append(record); // JIT, the first roll
        const int Records = 50_000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Records; i++)
            log.Append(record);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The sparse index array doubles now and then (one entry per 1 KiB here): amortized, well under a byte a record.
        Assert.True(allocated < Records, $"{allocated} bytes allocated for {Records} appends");
        await log.FlushAsync();
    }

    private static long ReadToEnd(TxLogReader reader)
    {
        long n = 0;
        while (reader.TryRead(out LogRecord _) == ReadStatus.Ok)
            n++;
        return n;
    }
}
