using BenchmarkDotNet.Attributes;
using Mammoth.Log;
using Mammoth.Log.Storage;
using Microsoft.Win32.SafeHandles;

namespace Mammoth.Bench.Log;

/// <summary>
/// TxLog append throughput against the plain-file reference, per record size and durability cadence.
/// </summary>
/// <remarks>
/// <para><b>What is timed.</b> <see cref="AppendShape"/>: the same records, the same bytes, the same number
/// of durable flushes for every method. <see cref="TxLog"/> appends each record (copy into the log's
/// buffer, recno stamped, header CRC resealed, pwrite once FlushBytes = cadence are pending) and awaits
/// durability after each batch (fdatasync on the flusher thread, then the durable position is published).
/// The references write the same batch with one <c>RandomAccess.Write</c> and then sync, inline.</para>
/// <para><b>Fair preallocation.</b> TxLog's default segments are zero-filled and fsynced in the background
/// before they are used. Every iteration gets a fresh folder; the setup (not timed) opens the log,
/// appends one record so that the first segment is in place, and waits for the background preparation
/// of the next one, so nothing but appends runs while timed. The segment is 128 MiB so that the 64 MiB
/// operation never rolls; the reference file is 128 MiB too, zero-filled and fsynced the same way. The
/// reference is also run on a fallocated and on a sparse file, and once with fdatasync (what TxLog
/// calls) instead of <c>RandomAccess.FlushToDisk</c> (fsync), to show what the sync call itself costs.</para>
/// </remarks>
[MemoryDiagnoser]
public class TxLogAppendBenchmarks : IThroughputBenchmark
{
    private const long FileSize = 128L << 20;
    private const int DistinctRecords = 64;

    private byte[] _records = [];
    private byte[] _batch = [];
    private string? _dir;
    private TxLog? _log;
    private SafeFileHandle? _file;

    [Params(100, 1024, 16384)]
    public int RecordSize { get; set; } = 1024;

    [Params(Cadence.EveryRecord, Cadence.Every64KiB, Cadence.Every1MiB)]
    public Cadence Cadence { get; set; } = Cadence.Every1MiB;

    private AppendShape Shape => new(RecordSize, Cadence);

    public long BytesPerOperation => Shape.Bytes;
    public long RecordsPerOperation => Shape.Records;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _records = BenchFiles.Records(RecordSize, DistinctRecords);
        _batch = new byte[Shape.BatchBytes];
        for (int i = 0; i < Shape.RecordsPerFlush; i++)
            _records.AsSpan(i % DistinctRecords * RecordSize, RecordSize).CopyTo(_batch.AsSpan(i * RecordSize));
    }

    // ---- TxLog -------------------------------------------------------------------------------------

    [IterationSetup(Target = nameof(TxLog))]
    public void SetupLog()
    {
        _dir = BenchFiles.NewDirectory("append");
        _log = Mammoth.Log.Storage.TxLog.Open(new TxLogOptions
        {
            Path = _dir,
            SegmentSize = FileSize,
            FlushBytes = Shape.CadenceBytes,
            Preallocation = SegmentPreallocation.ZeroFill,
        });
        _log.Append(Record(0));
        _log.FlushAsync().AsTask().GetAwaiter().GetResult();
        _log.SpareReady.GetAwaiter().GetResult();
    }

    [Benchmark]
    public async Task TxLog()
    {
        TxLog log = _log!;
        AppendShape shape = Shape;
        long i = 1;
        for (int f = 0; f < shape.Flushes; f++)
        {
            for (int r = 0; r < shape.RecordsPerFlush; r++)
                log.Append(Record(i++));
            // The last Append reached FlushBytes and wrote the batch (EveryRecord: FlushBytes = 0 writes
            // each record), so this only waits for the flusher's fdatasync.
            await log.FlushAsync().ConfigureAwait(false);
        }
    }

    [IterationCleanup(Target = nameof(TxLog))]
    public void CleanupLog()
    {
        _log?.Dispose();
        _log = null;
        BenchFiles.Delete(_dir);
    }

    // ---- references: RandomAccess.Write of whole batches into a preallocated file ---------------------

    [IterationSetup(Target = nameof(Reference_ZeroFilled))]
    public void SetupZeroFilled() => SetupFile(SegmentPreallocation.ZeroFill);

    [IterationSetup(Target = nameof(Reference_ZeroFilled_Fdatasync))]
    public void SetupZeroFilledFdatasync() => SetupFile(SegmentPreallocation.ZeroFill);

    [IterationSetup(Target = nameof(Reference_Fallocated))]
    public void SetupFallocated() => SetupFile(SegmentPreallocation.Fallocate);

    [IterationSetup(Target = nameof(Reference_Sparse))]
    public void SetupSparse() => SetupFile(SegmentPreallocation.Sparse);

    /// <summary>The reference of the issue: zero-filled file (as TxLog's segments), RandomAccess.FlushToDisk (fsync).</summary>
    [Benchmark(Baseline = true)]
    public void Reference_ZeroFilled() => WriteBatches(fdatasync: false);

    [Benchmark]
    public void Reference_ZeroFilled_Fdatasync() => WriteBatches(fdatasync: true);

    [Benchmark]
    public void Reference_Fallocated() => WriteBatches(fdatasync: false);

    [Benchmark]
    public void Reference_Sparse() => WriteBatches(fdatasync: false);

    [IterationCleanup(Targets = [nameof(Reference_ZeroFilled), nameof(Reference_ZeroFilled_Fdatasync), nameof(Reference_Fallocated), nameof(Reference_Sparse)])]
    public void CleanupFile()
    {
        _file?.Dispose();
        _file = null;
        BenchFiles.Delete(_dir);
    }

    private void SetupFile(SegmentPreallocation mode)
    {
        _dir = BenchFiles.NewDirectory("reference");
        _file = BenchFiles.CreatePreallocated(Path.Combine(_dir, "reference.dat"), FileSize, mode);
    }

    private void WriteBatches(bool fdatasync)
    {
        SafeFileHandle h = _file!;
        AppendShape shape = Shape;
        ReadOnlySpan<byte> batch = _batch;
        long offset = 0;
        for (int f = 0; f < shape.Flushes; f++)
        {
            RandomAccess.Write(h, batch, offset);
            if (fdatasync)
                Posix.DataSync(h);
            else
                RandomAccess.FlushToDisk(h);
            offset += batch.Length;
        }
    }

    private ReadOnlySpan<byte> Record(long i) => _records.AsSpan((int)(i % DistinctRecords) * RecordSize, RecordSize);
}
