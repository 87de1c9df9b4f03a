using Mammoth.Log.Records;

namespace Mammoth.Log.Storage;

/// <summary>
/// A cursor over durable records, from a given recno on. Zero-copy: records are views of the mapped
/// segment; they stay valid while the reader is positioned in their segment, or — for a reader opened
/// with holdRetired — until <see cref="ReleaseRetired"/>, and never after <see cref="Dispose"/>. One reader per consumer; a reader
/// is not thread-safe, many readers run concurrently with each other and with the appender.
/// </summary>
public sealed class TxLogReader : IDisposable
{
    private readonly TxLog _log;
    private Segment? _segment;   // leased while positioned in it
    private readonly List<Segment>? _retired;   // left behind, still leased until ReleaseRetired (holdRetired readers)
    private long _offset;
    private long _next;

    internal TxLogReader(TxLog log, long next, bool holdRetired)
    {
        _log = log;
        _next = next;
        if (holdRetired)
            _retired = new List<Segment>(8);
    }

    /// <summary>Recno the next <see cref="TryRead"/> returns.</summary>
    public long NextRecno => _next;

    /// <summary>Why the last read returned <see cref="ReadStatus.Damaged"/>.</summary>
    public string? Problem { get; private set; }

    /// <summary>Moves the cursor; the next read returns <paramref name="recno"/>.</summary>
    public void Seek(long recno)
    {
        _next = recno;
        Leave();
    }

    public ReadStatus TryRead(out LogRecord record)
    {
        record = default;
        if (_next > _log.DurableRecno)
            return ReadStatus.NotYet;
        Segment? seg = _segment;
        if (seg is null || _next < seg.BaseRecno || (seg.IsSealed && _next > seg.LastRecno))
        {
            ReadStatus s = Position();
            if (s != ReadStatus.Ok)
                return s;
            seg = _segment!;
        }

        if (_offset + RecordHeader.Size > seg.Capacity)
            return Damage(seg, "the record header would run past the end of the segment");
        RecordHeader h = RecordHeader.Read(seg.Slice(_offset, RecordHeader.Size));
        string? problem = SegmentScanner.CheckHeader(h, _next, seg.Capacity - _offset - RecordHeader.Size);
        if (problem is not null)
            return Damage(seg, problem);
        if (_log.Options.VerifyOnRead && Crc32C.Compute(seg.Slice(_offset + RecordHeader.Size, h.PayloadLength)) != h.PayloadCrc)
            return Damage(seg, "the payload checksum does not match");

        record = new LogRecord(h, seg.SliceMemory(_offset, h.TotalLength), seg.FileName, _offset);
        _offset += h.TotalLength;
        _next++;
        return ReadStatus.Ok;
    }

    private ReadStatus Damage(Segment seg, string problem)
    {
        Problem = $"record {_next} in segment {seg.FileName} at offset {_offset}: {problem}";
        return ReadStatus.Damaged;
    }

    /// <summary>Finds and leases the segment holding <see cref="_next"/> and the offset of that record.</summary>
    private ReadStatus Position()
    {
        Leave();
        Segment[] segs = _log.SegmentsSnapshot;
        int lo = 0, hi = segs.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (segs[mid].BaseRecno <= _next)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (found < 0)
            return ReadStatus.Recycled;
        Segment seg = segs[found];
        if (!seg.TryAcquire())
            return ReadStatus.Recycled;
        if (seg.Removed)
        {
            seg.Release();
            return ReadStatus.Recycled;
        }
        _segment = seg;

        long offset = SegmentHeader.Size, recno = seg.BaseRecno;
        if (seg.Index.TryFind(_next, out SparseIndex.Entry e))
        {
            offset = e.Offset;
            recno = e.Recno;
        }
        while (recno < _next)
        {
            string? problem = offset + RecordHeader.Size > seg.Capacity
                ? "the segment ends before this record"
                : SegmentScanner.CheckHeader(RecordHeader.Read(seg.Slice(offset, RecordHeader.Size)), recno, seg.Capacity - offset - RecordHeader.Size);
            if (problem is not null)
            {
                Leave();
                Problem = $"record {recno} in segment {seg.FileName} at offset {offset} (looking for record {_next}): {problem}";
                return ReadStatus.Damaged;
            }
            RecordHeader h = RecordHeader.Read(seg.Slice(offset, RecordHeader.Size));
            offset += h.TotalLength;
            recno++;
        }
        _offset = offset;
        return ReadStatus.Ok;
    }

    /// <summary>
    /// Leaves the current segment. A reader opened with holdRetired keeps its lease (bytes handed out from
    /// it stay valid) until <see cref="ReleaseRetired"/> or <see cref="Dispose"/>: a sender can batch records
    /// across a segment boundary and release the old segments once the batch is sent. Other readers release
    /// it at once.
    /// </summary>
    private void Leave()
    {
        if (_segment is not null)
        {
            if (_retired is not null)
                _retired.Add(_segment);
            else
                _segment.Release();
        }
        _segment = null;
    }

    /// <summary>The reader has moved past a segment whose lease it still holds (see <see cref="ReleaseRetired"/>).</summary>
    public bool HasRetired => _retired is { Count: > 0 };

    /// <summary>Releases the segments this reader has moved past; bytes from them must no longer be used.</summary>
    public void ReleaseRetired()
    {
        if (_retired is null)
            return;
        foreach (Segment s in _retired)
            s.Release();
        _retired.Clear();
    }

    public void Dispose()
    {
        Leave();
        ReleaseRetired();
    }
}
