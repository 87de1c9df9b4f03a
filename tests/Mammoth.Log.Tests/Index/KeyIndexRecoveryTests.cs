using System.Buffers.Binary;
using Mammoth.Log.Index;
using Xunit;

namespace Mammoth.Log.Tests.Index;

/// <summary>Damaged manifests and checkpoint files: Open falls back or reports, and never throws.</summary>
public sealed class KeyIndexRecoveryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private KeyIndexOptions Options() => new()
    {
        Directory = _dir.Path,
        MemorySizeBytes = 4L << 20,
        PageSizeBits = 16,
        SegmentSizeBits = 22,
        IndexBuckets = 1 << 10,
        ReaderSessions = 2,
    };

    private static byte[] Key(int id)
    {
        var key = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(key, id);
        return key;
    }

    private string ManifestPath(long sequence) => Path.Combine(_dir.Path, CheckpointManifest.FileName(sequence));

    /// <summary>Checkpoint 1 at recno 100 (keys 0–99), checkpoint 2 at recno 200 (keys 100–199, key 0 rewritten).</summary>
    private async Task<(Guid First, Guid Second)> WriteTwoCheckpointsAsync()
    {
        using var index = KeyIndex.Open(Options());
        for (var i = 0; i < 100; i++)
            index.Upsert(1, Key(i), new KeyLocation(i + 1, 0, 1));
        index.MarkIndexed(100);
        await index.CheckpointAsync();
        for (var i = 100; i < 200; i++)
            index.Upsert(1, Key(i), new KeyLocation(i + 1, 0, 1));
        index.Upsert(1, Key(0), new KeyLocation(200, 8, 2));
        index.MarkIndexed(200);
        await index.CheckpointAsync();
        return (ReadManifest(1).Token, ReadManifest(2).Token);
    }

    private CheckpointManifest ReadManifest(long sequence)
    {
        Assert.True(CheckpointManifest.TryRead(File.ReadAllBytes(ManifestPath(sequence)), out var manifest, out var problem), problem);
        return manifest;
    }

    private static void AssertFirstCheckpointState(KeyIndex index)
    {
        Assert.Equal(100, index.IndexedThroughRecno);
        Assert.True(index.TryGet(1, Key(0), out var location));
        Assert.Equal(new KeyLocation(1, 0, 1), location);
        Assert.True(index.TryGet(1, Key(99), out _));
        Assert.False(index.TryGet(1, Key(150), out _));
    }

    [Fact]
    public async Task NewestManifestChecksumBroken_FallsBackToOlderCheckpoint()
    {
        await WriteTwoCheckpointsAsync();
        var bytes = File.ReadAllBytes(ManifestPath(2));
        bytes[17] ^= 0x01; // a bit of the recno
        File.WriteAllBytes(ManifestPath(2), bytes);

        using var index = KeyIndex.Open(Options());
        Assert.Equal(KeyIndexRecovery.RecoveredOlder, index.Recovery);
        Assert.Contains("checksum", index.RecoveryMessage);
        AssertFirstCheckpointState(index);
        Assert.False(File.Exists(ManifestPath(2)), "the unusable newer manifest must be gone before new checkpoints");

        // New checkpoints continue the sequence past the discarded one.
        index.Upsert(1, Key(500), new KeyLocation(101, 0, 1));
        index.MarkIndexed(101);
        await index.CheckpointAsync();
        Assert.True(File.Exists(ManifestPath(3)));
    }

    [Fact]
    public async Task FallbackToOlderCheckpoint_WithLogPagesOnDisk_ThenContinuesAndRecoversAgain()
    {
        // 200k records of ~40 bytes overflow the 4 MiB of log memory, so both checkpoints depend on
        // pages of the main log file, and the second one's pages lie past the first one's tail.
        const int keys = 200_000;
        using (var index = KeyIndex.Open(Options()))
        {
            for (var i = 0; i < keys; i++)
                index.Upsert(1, Key(i), new KeyLocation(i + 1, 1, 1));
            index.MarkIndexed(keys);
            await index.CheckpointAsync();
            for (var i = 0; i < keys; i++)
                index.Upsert(1, Key(i), new KeyLocation(keys + i + 1, 2, 2));
            index.MarkIndexed(2 * keys);
            await index.CheckpointAsync();
        }
        File.WriteAllBytes(ManifestPath(2), new byte[CheckpointManifest.Size]);

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(KeyIndexRecovery.RecoveredOlder, index.Recovery);
            Assert.Equal(keys, index.IndexedThroughRecno);
            for (var i = 0; i < keys; i += 97)
            {
                Assert.True(index.TryGet(1, Key(i), out var location));
                Assert.Equal(new KeyLocation(i + 1, 1, 1), location);
            }

            // New writes reuse the log addresses the discarded checkpoint had used.
            for (var i = 0; i < keys; i += 2)
                index.Upsert(1, Key(i), new KeyLocation(keys + 1 + i, 3, 3));
            index.MarkIndexed(2 * keys);
            await index.CheckpointAsync();
        }

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(KeyIndexRecovery.Recovered, index.Recovery);
            Assert.Equal(2 * keys, index.IndexedThroughRecno);
            for (var i = 0; i < keys; i += 31)
            {
                Assert.True(index.TryGet(1, Key(i), out var location));
                Assert.Equal(i % 2 == 0 ? new KeyLocation(keys + 1 + i, 3, 3) : new KeyLocation(i + 1, 1, 1), location);
            }
        }
    }

    [Fact]
    public async Task NewestManifestTruncated_FallsBackToOlderCheckpoint()
    {
        await WriteTwoCheckpointsAsync();
        File.WriteAllBytes(ManifestPath(2), []);

        using var index = KeyIndex.Open(Options());
        Assert.Equal(KeyIndexRecovery.RecoveredOlder, index.Recovery);
        AssertFirstCheckpointState(index);
    }

    [Fact]
    public async Task NewestCheckpointFilesMissing_FallsBackToOlderCheckpoint()
    {
        var (_, second) = await WriteTwoCheckpointsAsync();
        Directory.Delete(Path.Combine(_dir.Path, "checkpoints", "cpr-checkpoints", second.ToString()), recursive: true);

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(KeyIndexRecovery.RecoveredOlder, index.Recovery);
            Assert.Contains("checkpoint 2 could not be recovered", index.RecoveryMessage);
            AssertFirstCheckpointState(index);
        }
        Assert.True(_dir.OpenFiles().Count == 0, string.Join(", ", _dir.OpenFiles())); // the failed recovery attempt closed its files too
    }

    [Fact]
    public async Task NewestFasterMetadataGarbage_FallsBackToOlderCheckpoint()
    {
        var (_, second) = await WriteTwoCheckpointsAsync();
        var info = Path.Combine(_dir.Path, "checkpoints", "cpr-checkpoints", second.ToString(), "info.dat.0");
        var garbage = new byte[new FileInfo(info).Length];
        new Random(3).NextBytes(garbage);
        File.WriteAllBytes(info, garbage);

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(KeyIndexRecovery.RecoveredOlder, index.Recovery);
            AssertFirstCheckpointState(index);
        }
        // FASTER leaks a handle when reading the metadata throws; KeyIndex makes sure it is closed.
        Assert.True(_dir.OpenFiles().Count == 0, string.Join(", ", _dir.OpenFiles()));
    }

    [Fact]
    public async Task ManifestAndFasterCookieDisagree_FallsBackToOlderCheckpoint()
    {
        await WriteTwoCheckpointsAsync();
        // A well-formed manifest claiming a recno that FASTER's own commit record does not carry.
        var forged = ReadManifest(2) with { Recno = 250 };
        var bytes = new byte[CheckpointManifest.Size];
        forged.Write(bytes);
        File.WriteAllBytes(ManifestPath(2), bytes);

        using var index = KeyIndex.Open(Options());
        Assert.Equal(KeyIndexRecovery.RecoveredOlder, index.Recovery);
        Assert.Contains("does not carry", index.RecoveryMessage);
        AssertFirstCheckpointState(index);
    }

    [Fact]
    public async Task EveryCheckpointDamaged_OpensUnusable_UntilReset()
    {
        await WriteTwoCheckpointsAsync();
        foreach (var sequence in new[] { 1L, 2L })
        {
            var bytes = File.ReadAllBytes(ManifestPath(sequence));
            bytes[0] = (byte)'X';
            File.WriteAllBytes(ManifestPath(sequence), bytes);
        }

        using var index = KeyIndex.Open(Options());
        Assert.Equal(KeyIndexRecovery.Unusable, index.Recovery);
        Assert.Contains("unusable", index.RecoveryMessage);
        Assert.Contains("Reset()", index.RecoveryMessage);
        Assert.Equal(0, index.IndexedThroughRecno);
        Assert.False(index.TryGet(1, Key(0), out _));
        var ex = Assert.Throws<InvalidOperationException>(() => index.Upsert(1, Key(0), new KeyLocation(1, 0, 1)));
        Assert.Equal(index.RecoveryMessage, ex.Message);
        Assert.Throws<InvalidOperationException>(() => index.MarkIndexed(1));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await index.CheckpointAsync());

        index.Reset();
        Assert.Equal(KeyIndexRecovery.Created, index.Recovery);
        Assert.Null(index.RecoveryMessage);
        index.Upsert(1, Key(0), new KeyLocation(1, 0, 1));
        index.MarkIndexed(1);
        await index.CheckpointAsync();
        Assert.True(index.TryGet(1, Key(0), out _));
    }

    [Fact]
    public async Task OnlyCheckpointSnapshotAndIndexGone_OpensUnusable()
    {
        using (var index = KeyIndex.Open(Options()))
        {
            index.Upsert(1, Key(1), new KeyLocation(1, 0, 1));
            index.MarkIndexed(1);
            await index.CheckpointAsync();
        }
        Directory.Delete(Path.Combine(_dir.Path, "checkpoints"), recursive: true);

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(KeyIndexRecovery.Unusable, index.Recovery);
            Assert.Contains("checkpoint 1 could not be recovered", index.RecoveryMessage);
        }
    }

    [Fact]
    public async Task StrayFileInTheLogDirectory_OpensUnusable_AndResetRecovers()
    {
        await WriteTwoCheckpointsAsync();
        // FASTER's file device parses every "hlog.log*" name as a segment number.
        File.WriteAllText(Path.Combine(_dir.Path, "hlog", "hlog.log.backup"), "x");

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(KeyIndexRecovery.Unusable, index.Recovery);
            Assert.Contains("could not be recovered", index.RecoveryMessage);
            index.Reset();
            Assert.Equal(KeyIndexRecovery.Created, index.Recovery);
            index.Upsert(1, Key(1), new KeyLocation(1, 0, 1));
            Assert.True(index.TryGet(1, Key(1), out _));
        }
        Assert.True(_dir.OpenFiles().Count == 0, string.Join(", ", _dir.OpenFiles()));
    }

    [Fact]
    public void NoCheckpointEverCompleted_StartsEmpty()
    {
        using (var index = KeyIndex.Open(Options()))
        {
            for (var i = 0; i < 200_000; i++) // 8 MB of records: pages get flushed to disk
                index.Upsert(1, Key(i), new KeyLocation(i + 1, 0, 1));
            index.MarkIndexed(200_000);
        }
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir.Path, "hlog")));

        using (var index = KeyIndex.Open(Options()))
        {
            Assert.Equal(KeyIndexRecovery.Created, index.Recovery);
            Assert.Equal(0, index.IndexedThroughRecno);
            Assert.False(index.TryGet(1, Key(1), out _));
        }
    }

    [Fact]
    public async Task LeftoversOfAnUnfinishedCheckpoint_ArePurgedOnOpen()
    {
        await WriteTwoCheckpointsAsync();
        var orphan = Guid.NewGuid().ToString();
        foreach (var kind in new[] { "index-checkpoints", "cpr-checkpoints" })
        {
            var path = Path.Combine(_dir.Path, "checkpoints", kind, orphan);
            Directory.CreateDirectory(path);
            File.WriteAllBytes(Path.Combine(path, "snapshot.dat.0"), new byte[4096]);
        }
        File.WriteAllBytes(ManifestPath(3) + ".tmp", new byte[10]); // a manifest that never got renamed

        using var index = KeyIndex.Open(Options());
        Assert.Equal(KeyIndexRecovery.Recovered, index.Recovery);
        Assert.Equal(200, index.IndexedThroughRecno);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "checkpoints", "cpr-checkpoints", orphan)));
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "checkpoints", "index-checkpoints", orphan)));
        Assert.False(File.Exists(ManifestPath(3) + ".tmp"));
        Assert.True(index.TryGet(1, Key(0), out var location));
        Assert.Equal(new KeyLocation(200, 8, 2), location);
    }

    [Fact]
    public void Manifest_RoundTripsAndRejectsDamage()
    {
        var manifest = new CheckpointManifest
        {
            Sequence = 42,
            Recno = 1_234_567_890_123,
            Token = Guid.NewGuid(),
            Geometry = new StoreGeometry(22, 28, 16),
            CreatedUnixMs = 1_700_000_000_000,
        };
        var bytes = new byte[CheckpointManifest.Size];
        manifest.Write(bytes);
        Assert.True(CheckpointManifest.TryRead(bytes, out var read, out _));
        Assert.Equal(manifest.Sequence, read.Sequence);
        Assert.Equal(manifest.Recno, read.Recno);
        Assert.Equal(manifest.Token, read.Token);
        Assert.Equal(manifest.Geometry, read.Geometry);

        for (var i = 0; i < 60; i++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[i] ^= 0x10;
            Assert.False(CheckpointManifest.TryRead(damaged, out _, out var problem), $"flipping byte {i} went unnoticed");
            Assert.NotNull(problem);
        }
        Assert.True(CheckpointManifest.TryParseFileName(CheckpointManifest.FileName(42), out var sequence));
        Assert.Equal(42, sequence);
        Assert.False(CheckpointManifest.TryParseFileName("checkpoint-42.manifest", out _));
    }
}
