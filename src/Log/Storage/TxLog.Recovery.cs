using Mammoth.Log.Records;

namespace Mammoth.Log.Storage;

public sealed partial class TxLog
{
    private void Recover(string dir)
    {
        Action<string> report = _options.Report ?? (_ => { });
        if (!_options.ReadOnly)
        {
            foreach (string tmp in Directory.EnumerateFiles(dir, "*.tmp"))
                File.Delete(tmp);
        }

        var bases = new List<long>();
        foreach (string file in Directory.EnumerateFiles(dir, "*.seg"))
        {
            if (Segment.TryParseFileName(System.IO.Path.GetFileName(file), out long b))
                bases.Add(b);
        }
        bases.Sort();

        var segments = new List<Segment>(bases.Count);
        long tailRecords = 0, dropped = 0;
        string? message = null;
        try
        {
            for (int i = 0; i < bases.Count; i++)
            {
                bool tail = i == bases.Count - 1;
                string path = System.IO.Path.Combine(dir, Segment.FileNameFor(bases[i]));
                Segment seg = Segment.Open(path, bases[i], writable: tail && !_options.ReadOnly);
                segments.Add(seg);
                if (!SegmentHeader.TryRead(seg.Bytes, out SegmentHeader sh, out string? problem) || sh.BaseRecno != bases[i])
                {
                    problem ??= $"the header says base recno {sh.BaseRecno}";
                    if (tail && seg.Bytes[SegmentHeader.Size..].IndexOfAnyExcept((byte)0) < 0 || tail && seg.Bytes[..SegmentHeader.Size].IndexOfAnyExcept((byte)0) < 0)
                    {
                        // A roll that crashed before its first write reached the file: nothing durable was in it.
                        long junk = seg.Bytes.LastIndexOfAnyExcept((byte)0) + 1;
                        segments.RemoveAt(segments.Count - 1);
                        seg.Release();
                        if (!_options.ReadOnly)
                        {
                            File.Delete(path);
                            dropped += junk;
                            message = $"removed segment {Segment.FileNameFor(bases[i])}, created by a roll that crashed before its first write ({junk} bytes dropped)";
                        }
                        continue;
                    }
                    throw new TxLogCorruptException(
                        $"txlog segment \"{path}\" is damaged ({problem}); run `txlog verify {dir}` and move the folder aside to start a fresh queue (slaves will get a dump).",
                        path, 0, bases[i]);
                }
                if (i > 0)
                {
                    Segment prev = segments[^2];
                    if (prev.LastRecno + 1 != seg.BaseRecno)
                    {
                        throw new TxLogCorruptException(
                            $"txlog segment \"{path}\" starts at recno {seg.BaseRecno} but the segment before it ends at {prev.LastRecno}; records are missing, run `txlog verify {dir}`.",
                            path, 0, seg.BaseRecno);
                    }
                }
                if (!tail)
                {
                    LoadSealed(seg, bases[i + 1], report);
                    continue;
                }

                // The tail segment: every record is checked, a torn tail is cut off.
                ScanResult r = SegmentScanner.Scan(seg.Bytes, seg.BaseRecno, verifyPayload: true, seg.Index, _options.IndexIntervalBytes);
                seg.DataEnd = r.DataEnd;
                seg.LastRecno = r.LastRecno;
                tailRecords = r.Records;
                if (r.TrailingBytes > 0)
                {
                    string why = r.Damaged ? $"record {r.LastRecno + 1} at offset {r.DataEnd}: {r.Problem}" : $"non-zero bytes after the last record at offset {r.DataEnd}";
                    if (_options.ReadOnly)
                    {
                        message = $"torn tail in {seg.FileName}: {why}; {r.TrailingBytes} bytes would be dropped by recovery";
                    }
                    else
                    {
                        ZeroRange(seg, r.DataEnd, r.TrailingBytes);
                        dropped += r.TrailingBytes;
                        message = $"recovered txlog: dropped {r.TrailingBytes} bytes of a torn tail in {seg.FileName} ({why}); the last good record is {r.LastRecno}";
                    }
                }
            }
        }
        catch
        {
            foreach (Segment s in segments)
                s.Release();
            throw;
        }

        _segments = [.. segments];
        Segment? last = segments.Count > 0 ? segments[^1] : null;
        _nextRecno = last is not null ? last.LastRecno + 1 : _options.InitialRecno;
        _durableRecno = _writtenRecno = _nextRecno - 1;
        if (last is not null)
        {
            _active = last;
            _bufferFileOffset = last.DataEnd;
            _lastHeader = FindLastHeader(segments);
        }
        Recovery = new RecoveryReport(segments.Count, tailRecords, dropped, message);
        if (message is not null)
            report(message);
    }

    private void LoadSealed(Segment seg, long nextBase, Action<string> report)
    {
        string idx = SidecarPath(seg);
        if (File.Exists(idx)
            && SparseIndex.TryFromSidecar(File.ReadAllBytes(idx), seg.BaseRecno, out SparseIndex loaded, out long last, out long end)
            && last == nextBase - 1)
        {
            CopyIndex(loaded, seg.Index);
            seg.LastRecno = last;
            seg.DataEnd = end;
            seg.Seal();
            return;
        }
        // No (valid) sidecar: walk the headers to rebuild the sparse index; payloads are checked on read.
        ScanResult r = SegmentScanner.Scan(seg.Bytes, seg.BaseRecno, verifyPayload: false, seg.Index, _options.IndexIntervalBytes);
        if (r.Damaged || r.LastRecno != nextBase - 1)
        {
            report($"segment {seg.FileName}: record {r.LastRecno + 1} at offset {r.DataEnd} is damaged ({r.Problem ?? "the segment ends early"}); " +
                   $"records {r.LastRecno + 1}..{nextBase - 1} will not be served and slaves that need them will get a dump");
        }
        seg.LastRecno = nextBase - 1;
        seg.DataEnd = r.DataEnd;
        seg.Seal();
        if (!_options.ReadOnly && !r.Damaged)
            WriteSidecar(seg);
    }

    private static void CopyIndex(SparseIndex from, SparseIndex to)
    {
        foreach (SparseIndex.Entry e in from.Entries())
            to.Add(e.Recno, e.Offset);
    }

    private static RecordHeader FindLastHeader(List<Segment> segments)
    {
        for (int i = segments.Count - 1; i >= 0; i--)
        {
            Segment s = segments[i];
            if (s.LastRecno < s.BaseRecno)
                continue;
            long offset = SegmentHeader.Size;
            long recno = s.BaseRecno;
            if (s.Index.TryFind(s.LastRecno, out SparseIndex.Entry e))
            {
                offset = e.Offset;
                recno = e.Recno;
            }
            while (offset + RecordHeader.Size <= s.Capacity)
            {
                RecordHeader h = RecordHeader.Read(s.Slice(offset, RecordHeader.Size));
                if (h.Magic != RecordHeader.MagicValue || h.Recno != recno)
                    break;
                if (recno == s.LastRecno)
                    return h;
                offset += h.TotalLength;
                recno++;
            }
            break;
        }
        return default;
    }

    private static void ZeroRange(Segment seg, long offset, long length)
    {
        var zeros = new byte[Math.Min(length, 1 << 20)];
        for (long done = 0; done < length;)
        {
            int n = (int)Math.Min(zeros.Length, length - done);
            RandomAccess.Write(seg.Handle, zeros.AsSpan(0, n), offset + done);
            done += n;
        }
        Posix.DataSync(seg.Handle);
    }

    internal static string SidecarPath(Segment seg) => System.IO.Path.ChangeExtension(seg.Path, ".idx");

    /// <summary>Writes the sparse index of a sealed segment beside it (a cache: validated by CRC when read).</summary>
    internal static void WriteSidecar(Segment seg)
    {
        string path = SidecarPath(seg);
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, seg.Index.ToSidecar(seg.BaseRecno, seg.LastRecno, seg.DataEnd));
        File.Move(tmp, path, overwrite: true);
    }
}
