using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Mammoth.Log.Index;

namespace Mammoth.Bench.Log;

/// <summary>
/// KeyIndex over 1M 16-byte keys, all resident in log memory (the steady state the MCP is sized for).
/// Each invocation touches <see cref="Batch"/> keys in a shuffled order, so the figures include the
/// cache misses of a random access pattern rather than one hot key. Allocation must read 0 B.
/// </summary>
[MemoryDiagnoser]
public class KeyIndexBenchmarks
{
    private const int KeyCount = 1_000_000;
    private const int KeyLength = 16;
    private const int Batch = 4096;

    private string _directory = "";
    private KeyIndex _index = null!;
    private byte[] _keys = [];   // KeyCount keys of KeyLength bytes, back to back
    private int[] _order = [];   // a shuffled visiting order
    private int _cursor;
    private long _recno;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "mammoth-bench", Guid.NewGuid().ToString("N"));
        _index = KeyIndex.Open(new KeyIndexOptions
        {
            Directory = _directory,
            MemorySizeBytes = 128L << 20, // 1M records of 48 bytes fit
            IndexBuckets = 1L << 18,      // ~4 keys per bucket; 16 MiB
        });

        _keys = new byte[KeyCount * KeyLength];
        for (var i = 0; i < KeyCount; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(_keys.AsSpan(i * KeyLength), i);
            BinaryPrimitives.WriteInt64BigEndian(_keys.AsSpan(i * KeyLength + 8), (long)((ulong)i * 0x9E3779B97F4A7C15UL));
        }
        _order = Enumerable.Range(0, KeyCount).ToArray();
        new Random(42).Shuffle(_order);

        for (var i = 0; i < KeyCount; i++)
            _index.Upsert(1, Key(i), new KeyLocation(++_recno, 0, 1));
        _index.MarkIndexed(_recno);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _index.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private ReadOnlySpan<byte> Key(int i) => _keys.AsSpan(i * KeyLength, KeyLength);

    [Benchmark(OperationsPerInvoke = Batch)]
    public void Upsert()
    {
        var cursor = _cursor;
        for (var n = 0; n < Batch; n++)
        {
            _index.Upsert(1, Key(_order[cursor]), new KeyLocation(++_recno, 64, 2));
            cursor = cursor + 1 == KeyCount ? 0 : cursor + 1;
        }
        _cursor = cursor;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int TryGet()
    {
        var cursor = _cursor;
        var found = 0;
        for (var n = 0; n < Batch; n++)
        {
            if (_index.TryGet(1, Key(_order[cursor]), out _))
                found++;
            cursor = cursor + 1 == KeyCount ? 0 : cursor + 1;
        }
        _cursor = cursor;
        return found;
    }
}
