namespace Mammoth.Bench.Log;

/// <summary>
/// What one append operation does for a record size and a cadence, shared by every append benchmark so
/// that the log, the references and the mapped alternative move exactly the same bytes with exactly the
/// same number of durable flushes.
/// </summary>
/// <remarks>
/// A flush covers <see cref="RecordsPerFlush"/> whole records: the smallest count whose bytes reach the
/// cadence (TxLog writes its buffer as soon as <c>FlushBytes</c> are pending, so this is where it writes).
/// The batched cadences move about 64 MiB per operation; every-record runs are bound by the ~0.1–0.2 ms
/// of one fdatasync on this disk, so they do 512 records per operation instead.
/// </remarks>
internal readonly record struct AppendShape(int RecordSize, Cadence Cadence)
{
    public const long BatchedVolume = 64L << 20;
    public const int EveryRecordCount = 512;

    /// <summary>TxLog's FlushBytes for this cadence (0: write every record at once).</summary>
    public int CadenceBytes => Cadence switch
    {
        Cadence.EveryRecord => 0,
        Cadence.Every64KiB => 64 << 10,
        _ => 1 << 20,
    };

    public int RecordsPerFlush => Cadence == Cadence.EveryRecord ? 1 : (CadenceBytes + RecordSize - 1) / RecordSize;

    /// <summary>Bytes written by one durable flush (a reference batch).</summary>
    public int BatchBytes => RecordsPerFlush * RecordSize;

    public int Flushes => Cadence == Cadence.EveryRecord ? EveryRecordCount : (int)Math.Max(1, BatchedVolume / BatchBytes);

    public long Records => (long)Flushes * RecordsPerFlush;

    public long Bytes => Records * RecordSize;
}
