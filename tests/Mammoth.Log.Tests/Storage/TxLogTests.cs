using Mammoth.Log.Inspection;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;
using Xunit;

namespace Mammoth.Log.Tests.Storage;

public class TxLogTests
{
    internal static TxLogOptions Options(string path, long segmentSize = 64 * 1024, int flushBytes = 8 * 1024, SegmentPreallocation prealloc = SegmentPreallocation.Sparse) =>
        new() { Path = path, SegmentSize = segmentSize, FlushBytes = flushBytes, Preallocation = prealloc, IndexIntervalBytes = 1024 };

    /// <summary>Record n: a DATA record whose single field is n's bytes repeated to a size that varies with n.</summary>
    internal static ReadOnlySpan<byte> Make(RecordBuilder b, long n)
    {
        b.Begin(RecordKind.Data);
        b.BeginSection((uint)(n % 3), ChangeOp.Insert, SlaveSet.All, 1);
        b.BeginTuple(1);
        Span<byte> f = b.AddField((int)(n * 37 % 3000));
        for (int i = 0; i < f.Length; i++)
            f[i] = (byte)(n + i);
        b.EndSection();
        return b.Finish(epoch: 1, commitLsn: (ulong)n * 10);
    }

    internal static void AssertIsRecord(in LogRecord rec, long n)
    {
        using var b = new RecordBuilder();
        byte[] expected = Make(b, n).ToArray();
        RecordHeader.StampRecno(expected, n);
        Assert.Equal(n, rec.Recno);
        Assert.True(expected.AsSpan().SequenceEqual(rec.Bytes.Span), $"record {n} differs");
    }

    [Theory]
    [InlineData(SegmentPreallocation.Sparse, 0)]
    [InlineData(SegmentPreallocation.ZeroFill, 8192)]
    [InlineData(SegmentPreallocation.Fallocate, 1 << 20)]
    public async Task Appends_and_reads_across_segment_rolls_and_a_reopen(SegmentPreallocation prealloc, int flushBytes)
    {
        using var dir = new TempDir();
        using var b = new RecordBuilder();
        using (var log = TxLog.Open(Options(dir.Path, flushBytes: flushBytes, prealloc: prealloc)))
        {
            Assert.Equal(1, log.NextRecno);
            for (long n = 1; n <= 500; n++)
                Assert.Equal(n, log.Append(Make(b, n)));
            await log.FlushAsync();
            Assert.Equal(500, log.DurableRecno);
            Assert.True(log.GetSegments().Count > 5, "the test must roll segments");
            ReadAll(log, 1, 500);
            ReadAll(log, 250, 500); // a seek into the middle uses the sparse index
        }
        using (var log = TxLog.Open(Options(dir.Path, flushBytes: flushBytes, prealloc: prealloc)))
        {
            Assert.Null(log.Recovery.Message);
            Assert.Equal(500, log.LastRecno);
            Assert.Equal(500, log.LastHeader.Recno);
            Assert.Equal(5000ul, log.LastHeader.CommitLsn);
            for (long n = 501; n <= 700; n++)
                Assert.Equal(n, log.Append(Make(b, n)));
            await log.FlushAsync();
            ReadAll(log, 1, 700);
        }
        Assert.True(TxLogVerifier.Verify(dir.Path).Clean);
        Assert.Equal(700, TxLogVerifier.Verify(dir.Path).GoodRecords);
    }

    internal static void ReadAll(TxLog log, long from, long to)
    {
        using TxLogReader r = log.OpenReader(from);
        for (long n = from; n <= to; n++)
        {
            Assert.Equal(ReadStatus.Ok, r.TryRead(out LogRecord rec));
            AssertIsRecord(rec, n);
        }
        Assert.Equal(ReadStatus.NotYet, r.TryRead(out _));
    }

    [Fact]
    public async Task Readers_only_see_durable_records_and_wake_when_more_arrive()
    {
        using var dir = new TempDir();
        using var b = new RecordBuilder();
        using var log = TxLog.Open(Options(dir.Path, flushBytes: 1 << 20));
        using TxLogReader r = log.OpenReader(1);
        log.Append(Make(b, 1));
        Assert.Equal(ReadStatus.NotYet, r.TryRead(out _)); // buffered, not durable
        Task advanced = log.DurableAdvanced;
        log.Flush();
        await advanced.WaitAsync(TimeSpan.FromSeconds(10));
        await log.WaitForDurableAsync(1).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ReadStatus.Ok, r.TryRead(out LogRecord rec));
        AssertIsRecord(rec, 1);
    }

    [Fact]
    public async Task Concurrent_readers_follow_a_live_appender_in_order_without_gaps()
    {
        using var dir = new TempDir();
        using var log = TxLog.Open(Options(dir.Path, flushBytes: 4096));
        const int total = 3000;
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            using TxLogReader r = log.OpenReader(1);
            while (r.NextRecno <= total)
            {
                Task advanced = log.DurableAdvanced;
                ReadStatus s = r.TryRead(out LogRecord rec);
                if (s == ReadStatus.NotYet)
                {
                    await advanced.WaitAsync(TimeSpan.FromSeconds(30));
                    continue;
                }
                Assert.Equal(ReadStatus.Ok, s);
                AssertIsRecord(rec, r.NextRecno - 1);
            }
        })).ToArray();
        using (var b = new RecordBuilder())
        {
            for (long n = 1; n <= total; n++)
            {
                log.Append(Make(b, n));
                if (n % 17 == 0)
                    log.Flush();
            }
        }
        await log.FlushAsync();
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task A_record_larger_than_a_segment_gets_a_segment_of_its_own()
    {
        using var dir = new TempDir();
        using var b = new RecordBuilder();
        using (var log = TxLog.Open(Options(dir.Path, segmentSize: 64 * 1024, flushBytes: 16 * 1024)))
        {
            log.Append(Make(b, 1));
            b.Begin(RecordKind.Data);
            b.BeginSection(1, ChangeOp.Insert, SlaveSet.All, 1);
            b.BeginTuple(1);
            b.AddField(200_000).Fill(7);
            b.EndSection();
            Assert.Equal(2, log.Append(b.Finish()));
            log.Append(Make(b, 3));
            await log.FlushAsync();
            using TxLogReader r = log.OpenReader(2);
            Assert.Equal(ReadStatus.Ok, r.TryRead(out LogRecord big));
            Assert.True(big.Length > 200_000);
        }
        using (var log = TxLog.Open(Options(dir.Path)))
        {
            Assert.Equal(3, log.LastRecno);
            Assert.True(log.GetSegments().Count >= 2);
            ReadAll(log, 3, 3);
        }
        Assert.True(TxLogVerifier.Verify(dir.Path).Clean);
    }

    [Fact]
    public async Task A_record_in_pieces_is_appended_as_one()
    {
        using var dir = new TempDir();
        using var b = new RecordBuilder();
        using var log = TxLog.Open(Options(dir.Path, flushBytes: 4096));
        for (long n = 1; n <= 60; n++)
        {
            byte[] rec = Make(b, n).ToArray();
            // Split into pieces of 1..97 bytes, as a pipe's segments would be.
            var pieces = new List<byte[]>();
            for (int o = 0; o < rec.Length;)
            {
                int len = Math.Min(rec.Length - o, 1 + (int)((n * 31 + o) % 97));
                pieces.Add(rec[o..(o + len)]);
                o += len;
            }
            Assert.Equal(n, log.Append(Sequence(pieces)));
        }
        await log.FlushAsync();
        ReadAll(log, 1, 60);
    }

    internal static System.Buffers.ReadOnlySequence<byte> Sequence(IReadOnlyList<byte[]> pieces)
    {
        if (pieces.Count == 1)
            return new System.Buffers.ReadOnlySequence<byte>(pieces[0]);
        var first = new Piece(pieces[0], 0);
        Piece last = first;
        for (int i = 1; i < pieces.Count; i++)
            last = last.Append(pieces[i]);
        return new System.Buffers.ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Piece : System.Buffers.ReadOnlySequenceSegment<byte>
    {
        public Piece(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Piece Append(byte[] data)
        {
            var next = new Piece(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    [Fact]
    public void Appends_allocate_nothing_per_record()
    {
        using var dir = new TempDir();
        using var b = new RecordBuilder();
        using var log = TxLog.Open(Options(dir.Path, segmentSize: 64L << 20, flushBytes: 1 << 20));
        byte[] rec = Make(b, 5).ToArray();
        for (int i = 0; i < 1000; i++)
            log.Append(rec);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20_000; i++)
            log.Append(rec);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Buffer writes hand off to the flusher (a lock and a semaphore release), never allocate per record.
        Assert.True(allocated < 20_000, $"allocated {allocated} bytes for 20000 appends");
    }

    [Fact]
    public void Bad_paths_give_one_clear_sentence()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Sub("stray.txt"), "x");
        var e1 = Assert.Throws<NotATxLogException>(() => TxLog.Open(Options(dir.Path)));
        Assert.Contains("is not a txlog", e1.Message);
        var e2 = Assert.Throws<NotATxLogException>(() => TxLog.Open(new TxLogOptions { Path = dir.Sub("missing"), OpenExistingOnly = true }));
        Assert.Contains("does not exist", e2.Message);
        using var log = TxLog.Open(Options(dir.Sub("q")));
        var e3 = Assert.Throws<TxLogLockedException>(() => TxLog.Open(Options(dir.Sub("q"))));
        Assert.Contains("in use by another process", e3.Message);
    }
}
