using System.Buffers.Binary;
using Mammoth.Log.Index;
using Xunit;

namespace Mammoth.Log.Tests.Index;

public sealed class KeyIndexTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private KeyIndexOptions Options(long memory = 8L << 20, int pageBits = 18) => new()
    {
        Directory = _dir.Path,
        MemorySizeBytes = memory,
        PageSizeBits = pageBits,
        SegmentSizeBits = 24,
        IndexBuckets = 1 << 12,
        ReaderSessions = 4,
    };

    private static byte[] Key16(long id)
    {
        var key = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(key, id);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(8), id * 7919);
        return key;
    }

    [Fact]
    public void Open_EmptyDirectory_IsCreatedAtRecnoZero()
    {
        using var index = KeyIndex.Open(Options());
        Assert.Equal(KeyIndexRecovery.Created, index.Recovery);
        Assert.Null(index.RecoveryMessage);
        Assert.Equal(0, index.IndexedThroughRecno);
        Assert.False(index.TryGet(1, [1, 2, 3], out _));
    }

    [Fact]
    public void UpsertThenGet_RoundTripsKeysFromOneByteToMax()
    {
        var random = new Random(1);
        int[] sizes = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 40, 63, 64, 255, 256, 257, 1000, 4096, KeyIndex.MaxKeyLength];
        var keys = sizes.Select(size =>
        {
            var key = new byte[size];
            random.NextBytes(key);
            return key;
        }).ToArray();

        using var index = KeyIndex.Open(Options());
        for (var i = 0; i < keys.Length; i++)
            index.Upsert(7, keys[i], new KeyLocation(100 + i, (uint)(i * 3), (byte)(1 + i % 5)));

        for (var i = 0; i < keys.Length; i++)
        {
            Assert.True(index.TryGet(7, keys[i], out var location), $"key of {keys[i].Length} bytes not found");
            Assert.Equal(new KeyLocation(100 + i, (uint)(i * 3), (byte)(1 + i % 5)), location);
        }

        // A prefix or an extension of a stored key is a different key.
        Assert.False(index.TryGet(7, keys[^2].AsSpan(0, 4095), out _));
        Assert.False(index.TryGet(7, [.. keys[4], 0], out _));
    }

    [Fact]
    public void Upsert_KeyLongerThanMax_Throws()
    {
        using var index = KeyIndex.Open(Options());
        var tooLong = new byte[KeyIndex.MaxKeyLength + 1];
        Assert.Throws<ArgumentException>(() => index.Upsert(1, tooLong, new KeyLocation(1, 0, 1)));
        Assert.False(index.TryGet(1, tooLong, out _));
    }

    [Fact]
    public void SameKeyBytes_InDifferentTables_AreDistinct()
    {
        using var index = KeyIndex.Open(Options());
        byte[] key = [0, 0, 0, 42];
        index.Upsert(1, key, new KeyLocation(10, 1, 1));
        index.Upsert(2, key, new KeyLocation(20, 2, 2));
        index.Upsert(0x01000000, key, new KeyLocation(30, 3, 3)); // table ids differ only in byte order

        Assert.True(index.TryGet(1, key, out var a));
        Assert.True(index.TryGet(2, key, out var b));
        Assert.True(index.TryGet(0x01000000, key, out var c));
        Assert.False(index.TryGet(3, key, out _));
        Assert.Equal(new KeyLocation(10, 1, 1), a);
        Assert.Equal(new KeyLocation(20, 2, 2), b);
        Assert.Equal(new KeyLocation(30, 3, 3), c);
    }

    [Fact]
    public void Overwrite_KeepsLatest()
    {
        using var index = KeyIndex.Open(Options());
        var key = Key16(5);
        for (var recno = 1; recno <= 50; recno++)
            index.Upsert(9, key, new KeyLocation(recno, (uint)recno * 10, (byte)(1 + recno % 5)));
        index.Upsert(9, key, new KeyLocation(51, 0, 4)); // a DELETE is a change like any other

        Assert.True(index.TryGet(9, key, out var location));
        Assert.Equal(new KeyLocation(51, 0, 4), location);
    }

    [Fact]
    public void MillionUpserts_ThenSpotCheck_IncludingKeysEvictedToDisk()
    {
        const int count = 1_000_000;
        // 16 MiB of log memory holds about a third of the 48 MB of records: the rest is read from disk.
        var options = Options(memory: 16L << 20, pageBits: 20);
        options.IndexBuckets = 1 << 17;
        using var index = KeyIndex.Open(options);
        var key = new byte[16];
        for (long i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(key, i);
            BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(8), i * 7919);
            index.Upsert((uint)(i % 4), key, new KeyLocation(i + 1, (uint)i, (byte)(1 + i % 5)));
        }
        index.MarkIndexed(count);

        var random = new Random(2);
        for (var n = 0; n < 20_000; n++)
        {
            long i = n < 100 ? n : n < 200 ? count - 1 - (n - 100) : random.NextInt64(count);
            Assert.True(index.TryGet((uint)(i % 4), Key16(i), out var location), $"key {i} missing");
            Assert.Equal(new KeyLocation(i + 1, (uint)i, (byte)(1 + i % 5)), location);
        }
        Assert.False(index.TryGet(1, Key16(count + 5), out _));
        Assert.False(index.TryGet(2, Key16(1), out _)); // key 1 lives in table 1
    }

    [Fact]
    public void Upsert_AndInMemoryTryGet_AllocateNothing()
    {
        using var index = KeyIndex.Open(Options());
        var keys = Enumerable.Range(0, 1000).Select(i => Key16(i)).ToArray();
        for (var pass = 0; pass < 3; pass++) // warm up: pages, sessions, JIT
        {
            for (var i = 0; i < keys.Length; i++)
            {
                index.Upsert(1, keys[i], new KeyLocation(i, 0, 1));
                index.TryGet(1, keys[i], out _);
            }
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < keys.Length; i++)
            index.Upsert(1, keys[i], new KeyLocation(i + 5, 1, 2));
        for (var i = 0; i < keys.Length; i++)
            index.TryGet(1, keys[i], out _);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task ConcurrentReaders_WhileWritingAndCheckpointing_SeeOldOrNewNeverAMix()
    {
        const int keyCount = 2_000;
        var keys = Enumerable.Range(0, keyCount).Select(i => Key16(i)).ToArray();
        // Offset and Op are functions of Recno: a torn read would break the relation.
        static KeyLocation At(long recno) => new(recno, (uint)(recno * 31), (byte)(1 + recno % 5));

        using var index = KeyIndex.Open(Options());
        for (var k = 0; k < keyCount; k++)
            index.Upsert(1, keys[k], At(k + 1));
        index.MarkIndexed(keyCount);

        using var stop = new CancellationTokenSource();
        long reads = 0;
        var readers = Enumerable.Range(0, 6).Select(r => Task.Run(() =>
        {
            var random = new Random(r);
            var lastSeen = new long[keyCount];
            while (!stop.IsCancellationRequested)
            {
                var k = random.Next(keyCount);
                Assert.True(index.TryGet(1, keys[k], out var location));
                Assert.Equal(At(location.Recno), location);
                Assert.Equal(k, (int)((location.Recno - 1) % keyCount));
                Assert.True(location.Recno >= lastSeen[k], "a reader saw a key go back in time");
                lastSeen[k] = location.Recno;
                Interlocked.Increment(ref reads);
            }
        })).ToArray();

        var writer = Task.Run(() =>
        {
            var recno = (long)keyCount;
            var until = DateTime.UtcNow.AddSeconds(2);
            while (DateTime.UtcNow < until)
            {
                for (var k = 0; k < keyCount; k++)
                {
                    recno++;
                    index.Upsert(1, keys[(int)((recno - 1) % keyCount)], At(recno));
                }
                index.MarkIndexed(recno);
            }
        });
        var checkpointer = Task.Run(async () =>
        {
            while (!writer.IsCompleted)
                await index.CheckpointAsync();
        });

        await writer;
        await checkpointer;
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.True(reads > 1000, $"only {reads} reads ran");
    }

    [Fact]
    public async Task CheckpointDisposeReopen_GivesSameAnswersAndRecno()
    {
        var keys = Enumerable.Range(0, 5_000).Select(i => Key16(i)).ToArray();
        using (var index = KeyIndex.Open(Options()))
        {
            for (var i = 0; i < keys.Length; i++)
                index.Upsert((uint)(i % 3), keys[i], new KeyLocation(i + 1, (uint)i, 1));
            index.MarkIndexed(keys.Length);
            await index.CheckpointAsync();

            // After the checkpoint: not durable, must not come back.
            index.Upsert(0, keys[0], new KeyLocation(999_999, 0, 2));
            index.Upsert(0, Key16(-1), new KeyLocation(999_999, 0, 1));
            index.MarkIndexed(999_999);
        }

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(KeyIndexRecovery.Recovered, index.Recovery);
            Assert.Null(index.RecoveryMessage);
            Assert.Equal(keys.Length, index.IndexedThroughRecno);
            for (var i = 0; i < keys.Length; i++)
            {
                Assert.True(index.TryGet((uint)(i % 3), keys[i], out var location));
                Assert.Equal(new KeyLocation(i + 1, (uint)i, 1), location);
            }
            Assert.False(index.TryGet(0, Key16(-1), out _));

            // The recovered store takes writes and checkpoints again.
            index.Upsert(0, keys[0], new KeyLocation(6_000, 1, 2));
            index.MarkIndexed(6_000);
            await index.CheckpointAsync();
        }

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(6_000, index.IndexedThroughRecno);
            Assert.True(index.TryGet(0, keys[0], out var location));
            Assert.Equal(new KeyLocation(6_000, 1, 2), location);
        }
    }

    [Fact]
    public async Task Checkpoint_KeepsTheNewestTwo_AndSkipsWhenNothingChanged()
    {
        using var index = KeyIndex.Open(Options());
        for (var round = 1; round <= 5; round++)
        {
            index.Upsert(1, Key16(round), new KeyLocation(round, 0, 1));
            index.MarkIndexed(round);
            await index.CheckpointAsync();
        }
        await index.CheckpointAsync(); // nothing new: no sixth checkpoint

        Assert.Equal(["checkpoint-00000000000000000004.manifest", "checkpoint-00000000000000000005.manifest"], ManifestNames());
        Assert.Equal(2, CheckpointTokenDirectories("index-checkpoints").Length);
        Assert.Equal(2, CheckpointTokenDirectories("cpr-checkpoints").Length);
    }

    [Fact]
    public void MarkIndexed_GoingBackwards_Throws()
    {
        using var index = KeyIndex.Open(Options());
        index.MarkIndexed(10);
        index.MarkIndexed(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => index.MarkIndexed(9));
        Assert.Equal(10, index.IndexedThroughRecno);
    }

    [Fact]
    public void Open_Twice_SecondFailsWithClearMessage()
    {
        using var first = KeyIndex.Open(Options());
        var ex = Assert.Throws<IOException>(() => KeyIndex.Open(Options()));
        Assert.Contains("already open", ex.Message);
    }

    [Fact]
    public void Open_InvalidOptions_Throw()
    {
        Assert.Throws<ArgumentException>(() => KeyIndex.Open(new KeyIndexOptions { Directory = "" }));
        var options = Options();
        options.IndexBuckets = 1000;
        Assert.Throws<ArgumentException>(() => KeyIndex.Open(options));
        options = Options();
        options.MemorySizeBytes = 1L << 18; // one page of 2^18
        Assert.Throws<ArgumentException>(() => KeyIndex.Open(options));
    }

    [Fact]
    public async Task Reset_DropsEverything()
    {
        using (var index = KeyIndex.Open(Options()))
        {
            index.Upsert(1, Key16(1), new KeyLocation(1, 0, 1));
            index.MarkIndexed(1);
            await index.CheckpointAsync();

            index.Reset();
            Assert.Equal(0, index.IndexedThroughRecno);
            Assert.False(index.TryGet(1, Key16(1), out _));
            Assert.Empty(ManifestNames());

            index.Upsert(1, Key16(2), new KeyLocation(1, 0, 1));
            index.MarkIndexed(1);
            await index.CheckpointAsync();
        }
        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(1, index.IndexedThroughRecno);
            Assert.False(index.TryGet(1, Key16(1), out _));
            Assert.True(index.TryGet(1, Key16(2), out _));
        }
    }

    [Fact]
    public async Task OpenClose_ManyTimes_LeaksNoFileHandles()
    {
        if (!OperatingSystem.IsLinux())
            return;
        for (var i = 0; i < 20; i++)
        {
            using (var index = KeyIndex.Open(Options()))
            {
                index.Upsert(1, Key16(i), new KeyLocation(index.IndexedThroughRecno + 1, 0, 1));
                index.MarkIndexed(index.IndexedThroughRecno + 1);
                await index.CheckpointAsync();
                Assert.True(index.TryGet(1, Key16(i), out _));
                Assert.NotEmpty(_dir.OpenFiles());
            }
            Assert.Empty(_dir.OpenFiles());
        }
    }

    [Fact]
    public void TryGet_AfterDispose_ReturnsFalse_AndWritesThrow()
    {
        var index = KeyIndex.Open(Options());
        index.Upsert(1, Key16(1), new KeyLocation(1, 0, 1));
        index.Dispose();
        Assert.False(index.TryGet(1, Key16(1), out _));
        Assert.Throws<ObjectDisposedException>(() => index.Upsert(1, Key16(1), new KeyLocation(1, 0, 1)));
        index.Dispose();
    }

    private string[] ManifestNames() =>
        Directory.GetFiles(_dir.Path, "*.manifest").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private string[] CheckpointTokenDirectories(string kind)
    {
        var path = Path.Combine(_dir.Path, "checkpoints", kind);
        return Directory.Exists(path) ? Directory.GetDirectories(path) : [];
    }
}
