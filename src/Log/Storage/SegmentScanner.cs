using Mammoth.Log.Records;

namespace Mammoth.Log.Storage;

/// <summary>What a scan of one segment found.</summary>
internal readonly record struct ScanResult(
    long LastRecno,
    long DataEnd,
    long Records,
    string? Problem,
    long ProblemOffset,
    long TrailingBytes)
{
    /// <summary>A record failed its checks at <see cref="ProblemOffset"/> (recno <c>LastRecno + 1</c>).</summary>
    public bool Damaged => Problem is not null;
}

/// <summary>Walks the records of a segment image and checks each one.</summary>
internal static class SegmentScanner
{
    /// <summary>
    /// Scans records from the segment header on. Stops at the first all-zero header (the end of data) or at
    /// the first record that fails a check: magic, version, header CRC, the expected recno, length within the
    /// segment and (if <paramref name="verifyPayload"/>) payload CRC. <see cref="ScanResult.TrailingBytes"/>
    /// counts the bytes between the end of good data and the last non-zero byte of the file: what a
    /// recovery drops.
    /// </summary>
    public static ScanResult Scan(ReadOnlySpan<byte> file, long baseRecno, bool verifyPayload, SparseIndex? index, int indexInterval)
    {
        long offset = SegmentHeader.Size;
        long expected = baseRecno;
        long records = 0;
        string? problem = null;
        while (true)
        {
            if (file.Length - offset < RecordHeader.Size)
            {
                if (file[(int)offset..].IndexOfAnyExcept((byte)0) >= 0)
                    problem = "a record header is cut off by the end of the segment";
                break;
            }
            ReadOnlySpan<byte> hb = file.Slice((int)offset, RecordHeader.Size);
            if (hb.IndexOfAnyExcept((byte)0) < 0)
                break; // end of data
            RecordHeader h = RecordHeader.Read(hb);
            problem = CheckHeader(h, expected, file.Length - offset - RecordHeader.Size);
            if (problem is null && verifyPayload
                && Crc32C.Compute(file.Slice((int)offset + RecordHeader.Size, h.PayloadLength)) != h.PayloadCrc)
            {
                problem = "the payload checksum does not match";
            }
            if (problem is not null)
                break;
            index?.MaybeAdd(expected, offset, indexInterval);
            offset += h.TotalLength;
            expected++;
            records++;
        }
        int lastNonZero = file[(int)offset..].LastIndexOfAnyExcept((byte)0);
        long trailing = lastNonZero < 0 ? 0 : lastNonZero + 1;
        return new ScanResult(expected - 1, offset, records, problem, offset, trailing);
    }

    /// <summary>Why a header cannot be the record <paramref name="expected"/>, or null when it can.</summary>
    public static string? CheckHeader(in RecordHeader h, long expected, long roomForPayload)
    {
        if (h.Magic != RecordHeader.MagicValue)
            return $"bad magic 0x{h.Magic:x4}";
        if (h.HeaderCrc != h.ComputeHeaderCrc())
            return "the header checksum does not match";
        if (h.Version != RecordHeader.CurrentVersion)
            return $"unsupported record version {h.Version}";
        if (h.Recno != expected)
            return $"record number {h.Recno} where {expected} was expected";
        if (h.PayloadLength < 0 || h.PayloadLength > roomForPayload)
            return $"payload length {h.PayloadLength} runs past the end of the segment";
        return null;
    }
}
