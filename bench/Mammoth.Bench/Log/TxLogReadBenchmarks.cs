using BenchmarkDotNet.Attributes;
using Mammoth.Log.Storage;

namespace Mammoth.Bench.Log;

/// <summary>
/// Sequential read of a ~512 MiB log that is in the page cache, through the zero-copy reader.
/// </summary>
/// <remarks>
/// <para>The global setup writes the log once (default 64 MiB segments), makes it durable, reopens it
/// read-only and reads every byte once, so every page is cached and mapped before timing. Each operation opens a reader at
/// the first record and reads to the end.</para>
/// <list type="bullet">
/// <item><see cref="Read"/>: <c>TryRead</c> only. With <see cref="VerifyOnRead"/> (the default) the payload
/// CRC reads every byte: the log's whole read cost, the figure held against the 2 GB/s target. Without it
/// only headers are touched: the cost of handing out zero-copy views.</item>
/// <item><see cref="ReadAndCopy"/>: the consumer also copies each record into a 1 MiB buffer, as a sender
/// filling a socket buffer at least does (a copy the log itself never makes).</item>
/// </list>
/// </remarks>
[MemoryDiagnoser]
public class TxLogReadBenchmarks : IThroughputBenchmark
{
    private const long Volume = 512L << 20;
    private const int DistinctRecords = 64;

    private string? _dir;
    private TxLog? _log;
    private readonly byte[] _sendBuffer = new byte[1 << 20];

    [Params(1024, 16384)]
    public int RecordSize { get; set; } = 1024;

    [Params(true, false)]
    public bool VerifyOnRead { get; set; } = true;

    public long RecordsPerOperation => Volume / RecordSize;
    public long BytesPerOperation => RecordsPerOperation * RecordSize;

    [GlobalSetup]
    public void GlobalSetup()
    {
        byte[] records = BenchFiles.Records(RecordSize, DistinctRecords);
        _dir = BenchFiles.NewDirectory("read");
        // Sparse segments: the log is built faster, and a page-cache read does not care how blocks were allocated.
        var write = new TxLogOptions { Path = _dir, Preallocation = SegmentPreallocation.Sparse };
        using (TxLog w = TxLog.Open(write))
        {
            for (long i = 0; i < RecordsPerOperation; i++)
                w.Append(records.AsSpan((int)(i % DistinctRecords) * RecordSize, RecordSize));
            w.FlushAsync().AsTask().GetAwaiter().GetResult();
        }
        _log = TxLog.Open(new TxLogOptions { Path = _dir, VerifyOnRead = VerifyOnRead, ReadOnly = true });
        ReadAndCopy(); // touches every byte through the mapping: page-table entries are in place before timing
    }

    [Benchmark]
    public long Read()
    {
        using TxLogReader reader = _log!.OpenReader(_log.FirstRecno);
        long n = 0;
        while (reader.TryRead(out LogRecord _) == ReadStatus.Ok)
            n++;
        return Check(n, reader);
    }

    [Benchmark]
    public long ReadAndCopy()
    {
        using TxLogReader reader = _log!.OpenReader(_log.FirstRecno);
        Span<byte> buffer = _sendBuffer;
        int used = 0;
        long n = 0;
        while (reader.TryRead(out LogRecord record) == ReadStatus.Ok)
        {
            ReadOnlySpan<byte> bytes = record.Bytes.Span;
            if (used + bytes.Length > buffer.Length)
                used = 0; // "sent"
            bytes.CopyTo(buffer[used..]);
            used += bytes.Length;
            n++;
        }
        return Check(n, reader);
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        _log?.Dispose();
        _log = null;
        BenchFiles.Delete(_dir);
    }

    private long Check(long n, TxLogReader reader) => n == RecordsPerOperation
        ? n
        : throw new InvalidOperationException($"read {n} records of {RecordsPerOperation}: {reader.Problem}");
}
