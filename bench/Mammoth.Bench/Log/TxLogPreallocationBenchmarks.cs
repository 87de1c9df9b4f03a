using BenchmarkDotNet.Attributes;
using Mammoth.Log.Storage;

namespace Mammoth.Bench.Log;

/// <summary>
/// TxLog appends of 1 KiB records with a durable flush every 64 KiB, for each way of preallocating segments.
/// </summary>
/// <remarks>
/// <para><b>Prepared</b> (<see cref="SteadyState"/> = false): as in <see cref="TxLogAppendBenchmarks"/>, 64 MiB
/// into a 128 MiB segment that is in place before timing starts and with the next one already prepared:
/// what each mode costs per flush (ZeroFill: data only; Fallocate: unwritten extents converted; Sparse:
/// blocks allocated).</para>
/// <para><b>Steady state</b> (<see cref="SteadyState"/> = true): 128 MiB through default 64 MiB segments, and
/// the setup does not wait for the next segment: the timed run includes two rolls and the background
/// preparation of two segments (ZeroFill writes and fsyncs 64 MiB of zeros per segment while appends go
/// on, the other modes a posix_fallocate or an ftruncate): what a long-running MCP sees.</para>
/// </remarks>
[MemoryDiagnoser]
public class TxLogPreallocationBenchmarks : IThroughputBenchmark
{
    private const int RecordSize = 1024;
    private const int DistinctRecords = 64;
    private const int FlushBytes = 64 << 10;

    private byte[] _records = [];
    private string? _dir;
    private TxLog? _log;

    [Params(SegmentPreallocation.ZeroFill, SegmentPreallocation.Fallocate, SegmentPreallocation.Sparse)]
    public SegmentPreallocation Preallocation { get; set; }

    [Params(false, true)]
    public bool SteadyState { get; set; }

    private long SegmentSize => SteadyState ? 64L << 20 : 128L << 20;

    public long RecordsPerOperation => (SteadyState ? 128L << 20 : 64L << 20) / RecordSize;
    public long BytesPerOperation => RecordsPerOperation * RecordSize;

    [GlobalSetup]
    public void GlobalSetup() => _records = BenchFiles.Records(RecordSize, DistinctRecords);

    [IterationSetup]
    public void Setup()
    {
        _dir = BenchFiles.NewDirectory("prealloc");
        _log = TxLog.Open(new TxLogOptions { Path = _dir, SegmentSize = SegmentSize, FlushBytes = FlushBytes, Preallocation = Preallocation });
        _log.Append(Record(0));
        _log.FlushAsync().AsTask().GetAwaiter().GetResult();
        if (!SteadyState)
            _log.SpareReady.GetAwaiter().GetResult();
    }

    [Benchmark]
    public async Task Append()
    {
        TxLog log = _log!;
        const int PerFlush = FlushBytes / RecordSize;
        long records = RecordsPerOperation;
        for (long i = 1; i <= records; i++)
        {
            log.Append(Record(i));
            if (i % PerFlush == 0)
                await log.FlushAsync().ConfigureAwait(false);
        }
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _log?.Dispose();
        _log = null;
        BenchFiles.Delete(_dir);
    }

    private ReadOnlySpan<byte> Record(long i) => _records.AsSpan((int)(i % DistinctRecords) * RecordSize, RecordSize);
}
