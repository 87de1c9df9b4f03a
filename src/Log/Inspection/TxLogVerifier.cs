using Mammoth.Log.Storage;

namespace Mammoth.Log.Inspection;

/// <summary>The first bad record <see cref="TxLogVerifier"/> found.</summary>
public sealed record VerifyProblem(long Recno, string Segment, long Offset, string Problem, bool TornTail);

/// <summary>Result of a full check of every record.</summary>
public sealed record VerifyReport(long GoodRecords, long FirstRecno, long LastGoodRecno, int Segments, long Bytes, VerifyProblem? FirstProblem, IReadOnlyList<string> Warnings)
{
    public bool Clean => FirstProblem is null;
}

/// <summary>
/// Checks every record of every segment of a txlog without changing it: segment headers, record headers,
/// recno sequence, payload CRCs, and that nothing but zeros follows the last record of a segment.
/// Safe to run while the MCP writes (it opens files read-only; a record being written at that moment may
/// show as a torn tail).
/// </summary>
public static class TxLogVerifier
{
    public static VerifyReport Verify(string path, Action<long, long>? progress = null)
    {
        string dir = Path.GetFullPath(path);
        if (!Directory.Exists(dir))
            throw new NotATxLogException($"txlog path \"{dir}\" does not exist.");
        if (!TxLog.IsTxLog(dir))
            throw new NotATxLogException($"\"{dir}\" is not a txlog (no {TxLog.IdentityFileName} file).");

        var bases = new List<long>();
        foreach (string f in Directory.EnumerateFiles(dir, "*.seg"))
            if (Segment.TryParseFileName(Path.GetFileName(f), out long b))
                bases.Add(b);
        bases.Sort();

        long good = 0, bytes = 0, lastGood = 0;
        VerifyProblem? first = null;
        var warnings = new List<string>();
        long totalBytes = 0;
        foreach (long b in bases)
            totalBytes += new FileInfo(Path.Combine(dir, Segment.FileNameFor(b))).Length;
        long seen = 0;

        for (int i = 0; i < bases.Count; i++)
        {
            bool tail = i == bases.Count - 1;
            string name = Segment.FileNameFor(bases[i]);
            Segment seg = Segment.Open(Path.Combine(dir, name), bases[i], writable: false);
            try
            {
                seen += seg.Capacity;
                if (!SegmentHeader.TryRead(seg.Bytes, out SegmentHeader sh, out string? hp) || sh.BaseRecno != bases[i])
                {
                    first ??= new VerifyProblem(bases[i], name, 0, "segment header: " + (hp ?? $"base recno {sh.BaseRecno} does not match the file name"), false);
                    continue;
                }
                if (i > 0 && lastGood != 0 && first is null && bases[i] != lastGood + 1)
                    first = new VerifyProblem(lastGood + 1, name, 0, $"records {lastGood + 1}..{bases[i] - 1} are missing (this segment starts at {bases[i]})", false);

                ScanResult r = SegmentScanner.Scan(seg.Bytes, bases[i], verifyPayload: true, null, int.MaxValue);
                good += r.Records;
                bytes += r.DataEnd - SegmentHeader.Size;
                if (r.Records > 0)
                    lastGood = r.LastRecno;
                bool endsEarly = !tail && r.LastRecno != bases[i + 1] - 1;
                if (r.Damaged || r.TrailingBytes > 0 || endsEarly)
                {
                    string problem = r.Problem
                        ?? (r.TrailingBytes > 0 ? $"{r.TrailingBytes} non-zero bytes follow the last record" : $"the segment ends at record {r.LastRecno} but the next one starts at {bases[i + 1]}");
                    first ??= new VerifyProblem(r.LastRecno + 1, name, r.DataEnd, problem, tail && !endsEarly);
                }
                string idx = Path.ChangeExtension(seg.Path, ".idx");
                if (File.Exists(idx) && !SparseIndex.TryFromSidecar(File.ReadAllBytes(idx), bases[i], out _, out _, out _))
                    warnings.Add($"sparse index {Path.GetFileName(idx)} is damaged; the MCP rebuilds it at its next start");
                progress?.Invoke(seen, totalBytes);
            }
            finally
            {
                seg.Release();
            }
        }
        return new VerifyReport(good, bases.Count > 0 ? bases[0] : 0, lastGood, bases.Count, bytes, first, warnings);
    }
}
