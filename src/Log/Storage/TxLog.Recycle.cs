namespace Mammoth.Log.Storage;

/// <summary>A slave's acknowledged position, as recycling sees it.</summary>
public readonly record struct SlavePosition(int SlaveNo, long AckRecno);

/// <summary>What <see cref="TxLog.Recycle"/> did.</summary>
/// <param name="SegmentsRemoved">Whole segments deleted.</param>
/// <param name="BytesFreed">Record bytes they held.</param>
/// <param name="FirstRecno">The oldest record still held afterwards.</param>
/// <param name="SlavesBehind">Slaves whose next record (ack + 1) is now gone: they need a dump.</param>
public sealed record RecycleResult(int SegmentsRemoved, long BytesFreed, long FirstRecno, IReadOnlyList<int> SlavesBehind);

public sealed partial class TxLog
{
    /// <summary>
    /// Drops whole oldest segments (never the one being appended to, never one not yet durable):
    /// (a) while the log would still hold at least <paramref name="minBytes"/> and every slave has
    /// acknowledged past the segment (the guide's <c>mcp_queue_min_size</c>), and
    /// (b) while the log holds more than <paramref name="maxBytes"/>, acknowledged or not
    /// (<c>mcp_queue_max_size</c>). Reports the slaves that fell behind the new start.
    /// </summary>
    public RecycleResult Recycle(long minBytes, long maxBytes, ReadOnlySpan<SlavePosition> slaves)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long minAck = long.MaxValue;
        foreach (SlavePosition s in slaves)
            minAck = Math.Min(minAck, s.AckRecno);

        Segment[] removed;
        long first;
        long freed = 0;
        long durable = DurableRecno;
        lock (_segmentsLock)
        {
            Segment[] segs = _segments;
            long total = 0;
            foreach (Segment s in segs)
                total += s.DataBytes;
            int drop = 0;
            while (drop < segs.Length - 1)
            {
                Segment s = segs[drop];
                if (!s.IsSealed || s.LastRecno > durable)
                    break;
                bool acked = minAck >= s.LastRecno;
                if (total > maxBytes || (acked && total - s.DataBytes >= minBytes))
                {
                    total -= s.DataBytes;
                    freed += s.DataBytes;
                    drop++;
                }
                else
                {
                    break;
                }
            }
            if (drop == 0)
                return new RecycleResult(0, 0, FirstRecno, []);
            removed = segs[..drop];
            _segments = segs[drop..];
            first = _segments[0].BaseRecno;
        }

        foreach (Segment s in removed)
        {
            s.MarkRemoved();
            TryDelete(s.Path);
            TryDelete(SidecarPath(s));
            s.Release();
        }
        var behind = new List<int>();
        foreach (SlavePosition s in slaves)
        {
            if (s.AckRecno + 1 < first)
                behind.Add(s.SlaveNo);
        }
        return new RecycleResult(removed.Length, freed, first, behind);
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException ex)
        {
            _options.Report?.Invoke($"could not delete recycled file {path}: {ex.Message}");
        }
    }

    /// <summary>
    /// A reader whose first <see cref="TxLogReader.TryRead"/> returns <paramref name="fromRecno"/>. With
    /// <paramref name="holdRetired"/> the segments it moves past stay leased until
    /// <see cref="TxLogReader.ReleaseRetired"/> (senders that batch records across segments).
    /// </summary>
    public TxLogReader OpenReader(long fromRecno, bool holdRetired = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new TxLogReader(this, fromRecno, holdRetired);
    }
}

public sealed partial class TxLog
{
    /// <summary>Bytes of records from <paramref name="recno"/> to the end of the log (0 when past the end).</summary>
    public long BytesFrom(long recno)
    {
        if (recno > LastRecno)
            return 0;
        recno = Math.Max(recno, FirstRecno);
        long total = 0;
        bool found = false;
        foreach (Segment s in Volatile.Read(ref _segments))
        {
            if (found)
            {
                total += s.DataBytes;
                continue;
            }
            if (s.LastRecno < recno)
                continue;
            found = true;
            using TxLogReader r = OpenReader(recno);
            long offset = r.TryRead(out LogRecord rec) == ReadStatus.Ok ? rec.Offset : SegmentHeader.Size;
            total += s.DataEnd - offset;
        }
        return total;
    }

    /// <summary>The header of record <paramref name="recno"/>, if the log holds it.</summary>
    public bool TryReadHeader(long recno, out Records.RecordHeader header)
    {
        header = default;
        using TxLogReader r = OpenReader(recno);
        if (r.TryRead(out LogRecord rec) != ReadStatus.Ok)
            return false;
        header = rec.Header;
        return true;
    }
}
