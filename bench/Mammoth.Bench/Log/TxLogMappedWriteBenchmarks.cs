using System.IO.MemoryMappedFiles;
using BenchmarkDotNet.Attributes;
using Mammoth.Log;
using Mammoth.Log.Storage;
using Microsoft.Win32.SafeHandles;

namespace Mammoth.Bench.Log;

/// <summary>
/// The write path TxLog did not take: records copied into a writable mapping of the segment and made
/// durable with msync, against the path it took (records copied into a buffer, pwrite, fdatasync).
/// </summary>
/// <remarks>
/// <para>1 KiB records at the three cadences of <see cref="TxLogAppendBenchmarks"/> (same
/// <see cref="AppendShape"/>), into a fresh 128 MiB file per iteration, zero-filled or fallocated and
/// fsynced in the (untimed) setup; the mapping is created in the setup too.</para>
/// <list type="bullet">
/// <item><see cref="Pwrite_Fdatasync"/> (baseline): copy each record into a batch buffer; per batch one
/// pwrite and one fdatasync. TxLog's path without the log around it.</item>
/// <item><see cref="Mmap_Msync"/>: copy each record into the mapping; per batch msync(MS_SYNC) of the
/// pages just written. The first store to each page takes a page fault.</item>
/// <item><see cref="Mmap_Msync_Prefaulted"/>: the same after madvise(MADV_POPULATE_WRITE) of the whole
/// file in the setup, so every page is already mapped writable when the timed stores happen.</item>
/// </list>
/// </remarks>
[MemoryDiagnoser]
public unsafe class TxLogMappedWriteBenchmarks : IThroughputBenchmark
{
    private const long FileSize = 128L << 20;
    private const int RecordSize = 1024;
    private const int DistinctRecords = 64;

    private byte[] _records = [];
    private byte[] _batch = [];
    private string? _dir;
    private SafeFileHandle? _file;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _pointer;

    [Params(Cadence.EveryRecord, Cadence.Every64KiB, Cadence.Every1MiB)]
    public Cadence Cadence { get; set; } = Cadence.Every1MiB;

    [Params(SegmentPreallocation.ZeroFill, SegmentPreallocation.Fallocate)]
    public SegmentPreallocation Preallocation { get; set; } = SegmentPreallocation.ZeroFill;

    private AppendShape Shape => new(RecordSize, Cadence);

    public long BytesPerOperation => Shape.Bytes;
    public long RecordsPerOperation => Shape.Records;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _records = BenchFiles.Records(RecordSize, DistinctRecords);
        _batch = new byte[Shape.BatchBytes];
    }

    [IterationSetup(Targets = [nameof(Pwrite_Fdatasync), nameof(Mmap_Msync)])]
    public void Setup() => CreateMappedFile(prefault: false);

    [IterationSetup(Target = nameof(Mmap_Msync_Prefaulted))]
    public void SetupPrefaulted() => CreateMappedFile(prefault: true);

    [Benchmark(Baseline = true)]
    public void Pwrite_Fdatasync()
    {
        SafeFileHandle h = _file!;
        AppendShape shape = Shape;
        long offset = 0, i = 0;
        for (int f = 0; f < shape.Flushes; f++)
        {
            int used = 0;
            for (int r = 0; r < shape.RecordsPerFlush; r++, used += RecordSize)
                Record(i++).CopyTo(_batch.AsSpan(used));
            RandomAccess.Write(h, _batch.AsSpan(0, used), offset);
            Posix.DataSync(h);
            offset += used;
        }
    }

    [Benchmark]
    public void Mmap_Msync() => CopyAndSync();

    [Benchmark]
    public void Mmap_Msync_Prefaulted() => CopyAndSync();

    private void CopyAndSync()
    {
        byte* map = _pointer;
        AppendShape shape = Shape;
        long offset = 0, i = 0;
        for (int f = 0; f < shape.Flushes; f++)
        {
            long start = offset;
            for (int r = 0; r < shape.RecordsPerFlush; r++, offset += RecordSize)
                Record(i++).CopyTo(new Span<byte>(map + offset, RecordSize));
            Mman.Sync(map, start, offset - start);
        }
    }

    [IterationCleanup]
    public void Cleanup()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
        _file?.Dispose();
        (_view, _map, _file) = (null, null, null);
        _pointer = null;
        BenchFiles.Delete(_dir);
    }

    private void CreateMappedFile(bool prefault)
    {
        _dir = BenchFiles.NewDirectory("mapped");
        _file = BenchFiles.CreatePreallocated(Path.Combine(_dir, "mapped.dat"), FileSize, Preallocation);
        _map = MemoryMappedFile.CreateFromFile(_file, null, FileSize, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, FileSize, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + _view.PointerOffset;
        if (prefault)
            Mman.Advise(_pointer, FileSize, Mman.MADV_POPULATE_WRITE);
    }

    private ReadOnlySpan<byte> Record(long i) => _records.AsSpan((int)(i % DistinctRecords) * RecordSize, RecordSize);
}
