using Mammoth.Log.Records;
using Mammoth.Log.Storage;
using Xunit;
using static Mammoth.Log.Tests.Storage.TxLogTests;

namespace Mammoth.Log.Tests.Storage;

public class RecycleTests
{
    private static async Task<TxLog> Filled(TempDir dir, int records)
    {
        var log = TxLog.Open(Options(dir.Path, segmentSize: 64 * 1024));
        using var b = new RecordBuilder();
        for (long n = 1; n <= records; n++)
            log.Append(Make(b, n));
        await log.FlushAsync();
        return log;
    }

    [Fact]
    public async Task Min_size_keeps_unacknowledged_segments_and_at_least_min_bytes()
    {
        using var dir = new TempDir();
        using TxLog log = await Filled(dir, 600);
        IReadOnlyList<SegmentInfo> segs = log.GetSegments();
        long total = log.DataBytes;

        // Nobody acknowledged anything: below max, nothing goes.
        RecycleResult none = log.Recycle(0, long.MaxValue, [new SlavePosition(0, 0), new SlavePosition(1, 600)]);
        Assert.Equal(0, none.SegmentsRemoved);

        // Both slaves past the first two segments; min allows it.
        long ack = segs[1].LastRecno;
        RecycleResult two = log.Recycle(0, long.MaxValue, [new SlavePosition(0, ack), new SlavePosition(1, 600)]);
        Assert.Equal(2, two.SegmentsRemoved);
        Assert.Equal(segs[2].BaseRecno, log.FirstRecno);
        Assert.Empty(two.SlavesBehind);
        Assert.Equal(total - segs[0].DataBytes - segs[1].DataBytes, log.DataBytes);

        // Everything acknowledged, but min size equal to what is held: exactly at the boundary, nothing goes.
        RecycleResult atMin = log.Recycle(log.DataBytes, long.MaxValue, [new SlavePosition(0, 600)]);
        Assert.Equal(0, atMin.SegmentsRemoved);
        // One byte less than what would remain after dropping one segment: one goes, not more.
        long afterOne = log.DataBytes - log.GetSegments()[0].DataBytes;
        RecycleResult one = log.Recycle(afterOne, long.MaxValue, [new SlavePosition(0, 600)]);
        Assert.Equal(1, one.SegmentsRemoved);
        Assert.Equal(afterOne, log.DataBytes);
        // The active segment is never recycled.
        log.Recycle(0, 0, [new SlavePosition(0, 600)]);
        Assert.Single(log.GetSegments());
        Assert.Equal(600, log.LastRecno);
    }

    [Fact]
    public async Task Max_size_recycles_past_lagging_slaves_and_reports_them()
    {
        using var dir = new TempDir();
        using TxLog log = await Filled(dir, 600);
        IReadOnlyList<SegmentInfo> segs = log.GetSegments();
        long max = log.DataBytes - segs[0].DataBytes - segs[1].DataBytes; // forces exactly two out
        using TxLogReader lagging = log.OpenReader(5);
        Assert.Equal(ReadStatus.Ok, lagging.TryRead(out LogRecord held)); // leases segment 0

        RecycleResult r = log.Recycle(0, max, [new SlavePosition(0, 3), new SlavePosition(1, segs[1].LastRecno), new SlavePosition(2, 600)]);
        Assert.Equal(2, r.SegmentsRemoved);
        Assert.Equal([0], r.SlavesBehind); // slave 1 acknowledged exactly the last recycled record: its next one is still there
        Assert.Equal(segs[2].BaseRecno, r.FirstRecno);
        Assert.False(File.Exists(dir.Sub(segs[0].FileName)));

        // The lagging reader's bytes stay valid while it holds them; its next segment is gone.
        AssertIsRecord(held, 5);
        using TxLogReader fresh = log.OpenReader(3);
        Assert.Equal(ReadStatus.Recycled, fresh.TryRead(out _));
        lagging.Seek(segs[1].BaseRecno);
        Assert.Equal(ReadStatus.Recycled, lagging.TryRead(out _));
        lagging.Seek(segs[2].BaseRecno);
        Assert.Equal(ReadStatus.Ok, lagging.TryRead(out LogRecord ok));
        AssertIsRecord(ok, segs[2].BaseRecno);
    }

    [Fact]
    public async Task Recycled_log_reopens_with_the_new_first_recno()
    {
        using var dir = new TempDir();
        long first;
        using (TxLog log = await Filled(dir, 400))
        {
            log.Recycle(0, 0, []);
            first = log.FirstRecno;
            Assert.True(first > 1);
        }
        using (var log = TxLog.Open(Options(dir.Path, segmentSize: 64 * 1024)))
        {
            Assert.Equal(first, log.FirstRecno);
            Assert.Equal(400, log.LastRecno);
            ReadAll(log, first, 400);
        }
    }
}
