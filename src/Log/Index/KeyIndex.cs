using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Mammoth.Log.Index;

/// <summary>
/// The MCP's key index: (table id, primary-key bytes) → <see cref="KeyLocation"/> of the latest
/// change of that row in the txlog, kept in a Microsoft FASTER store beside the log.
/// </summary>
/// <remarks>
/// <para>Threads: one writer calls <see cref="Upsert"/> and <see cref="MarkIndexed"/>; any number of
/// threads may call <see cref="TryGet"/> at the same time. <see cref="CheckpointAsync"/> may run on any
/// thread while the writer keeps writing. <see cref="Reset"/> and <see cref="Dispose"/> must not race
/// with the writer; concurrent readers are safe (they get false while the store is swapped).</para>
/// <para>Durability: nothing is durable until <see cref="CheckpointAsync"/> completes. After a crash,
/// <see cref="Open"/> recovers the newest complete checkpoint and the caller replays the txlog from
/// <see cref="IndexedThroughRecno"/> + 1. A checkpoint may also contain some changes of records after
/// its recno (those the writer applied while it ran); replaying them in log order yields the same
/// state, so this is harmless as long as the writer only indexes records that are already durable in
/// the txlog. If the txlog no longer holds <see cref="IndexedThroughRecno"/> + 1 (recycled), the
/// index cannot catch up: <see cref="Reset"/> it.</para>
/// <para>On disk, under <see cref="KeyIndexOptions.Directory"/>: <c>LOCK</c> (held while open),
/// <c>hlog/</c> (FASTER's hybrid log segments), <c>checkpoints/index-checkpoints/&lt;token&gt;/</c> and
/// <c>checkpoints/cpr-checkpoints/&lt;token&gt;/</c> (FASTER's checkpoints) and
/// <c>checkpoint-&lt;sequence&gt;.manifest</c> (ours: which checkpoints are complete, and their recno).</para>
/// <para>FASTER keeps no checksums on its pages, so a damaged page that still parses gives wrong
/// answers rather than errors; callers should treat a hit as a hint and check the key against the
/// txlog record it points at.</para>
/// </remarks>
public sealed class KeyIndex : IDisposable
{
    /// <summary>Longest primary-key byte string accepted by <see cref="Upsert"/>.</summary>
    public const int MaxKeyLength = 8192;

    private const string LockFileName = "LOCK";
    private const int CookieLength = 16;

    private readonly string _directory;
    private readonly StoreGeometry _configuredGeometry;
    private readonly long _memorySizeBytes;
    private readonly int _readerSessions;
    private readonly int _checkpointsToKeep;
    private readonly FileStream _lockFile;

    // Serialises CheckpointAsync, Reset and Dispose with each other.
    private readonly SemaphoreSlim _gate = new(1, 1);

    private volatile KeyIndexStore? _store;
    private volatile bool _disposed;
    private long _indexedThrough;
    private long _upserts;                    // written by the writer only
    private long _checkpointedRecno = -1;     // what the newest manifest holds, to skip empty checkpoints
    private long _checkpointedUpserts = -1;
    private long _nextSequence = 1;

    private KeyIndex(string directory, StoreGeometry geometry, KeyIndexOptions options, FileStream lockFile)
    {
        _directory = directory;
        _configuredGeometry = geometry;
        _memorySizeBytes = options.MemorySizeBytes;
        _readerSessions = options.ReaderSessions;
        _checkpointsToKeep = options.CheckpointsToKeep;
        _lockFile = lockFile;
    }

    /// <summary>What <see cref="Open"/> found on disk; <see cref="KeyIndexRecovery.Created"/> again after <see cref="Reset"/>.</summary>
    public KeyIndexRecovery Recovery { get; private set; }

    /// <summary>One sentence when recovery fell back, found the index unusable or kept on-disk settings that differ from the options; otherwise null.</summary>
    public string? RecoveryMessage { get; private set; }

    /// <summary>
    /// Every txlog record with recno ≤ this value is reflected in the index. After <see cref="Open"/>
    /// it is the recovered checkpoint's recno (0 when none): replay the txlog from here + 1.
    /// </summary>
    public long IndexedThroughRecno => Volatile.Read(ref _indexedThrough);

    /// <summary>
    /// Opens the index in <see cref="KeyIndexOptions.Directory"/>, creating it or recovering its newest
    /// complete checkpoint. Damaged checkpoints never make this throw: it falls back to an older one or
    /// opens the index as <see cref="KeyIndexRecovery.Unusable"/> and says why in <see cref="RecoveryMessage"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="IOException">The directory cannot be created, or another process or instance has it open.</exception>
    public static KeyIndex Open(KeyIndexOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var geometry = Validate(options);
        var directory = Path.GetFullPath(options.Directory);
        Directory.CreateDirectory(directory);

        var index = new KeyIndex(directory, geometry, options, AcquireLock(directory));
        try
        {
            index.Recover();
        }
        catch (Exception ex)
        {
            index.MarkUnusable($"opening it failed ({ex.GetType().Name}: {ex.Message})");
        }
        return index;
    }

    /// <summary>
    /// Records that the row <paramref name="key"/> of table <paramref name="tableId"/> last changed at
    /// <paramref name="location"/>. Writer thread only; allocates nothing.
    /// </summary>
    public void Upsert(uint tableId, ReadOnlySpan<byte> key, KeyLocation location)
    {
        var store = _store ?? ThrowNoStore<KeyIndexStore>();
        if (key.Length > MaxKeyLength)
            ThrowKeyTooLong(key.Length);
        store.Upsert(tableId, key, location);
        _upserts++;
    }

    /// <summary>The writer has applied every record with recno ≤ <paramref name="recno"/>. Recnos never go backwards.</summary>
    public void MarkIndexed(long recno)
    {
        if (_store is null)
            ThrowNoStore<KeyIndexStore>();
        var current = Volatile.Read(ref _indexedThrough);
        if (recno < current)
            throw new ArgumentOutOfRangeException(nameof(recno), recno, $"Records are indexed in order: recno {recno} is below IndexedThroughRecno {current}.");
        // Release: the upserts of these records happen-before a checkpoint that reads this value.
        Volatile.Write(ref _indexedThrough, recno);
    }

    /// <summary>
    /// Looks up the latest change of a row. Safe from any number of threads concurrently with the
    /// writer: a reader sees the value before or after a concurrent upsert, never a mix. Returns false
    /// when the key is unknown or the index is unusable, reset or disposed.
    /// </summary>
    public bool TryGet(uint tableId, ReadOnlySpan<byte> key, out KeyLocation location)
    {
        var store = _store;
        if (store is null || key.Length > MaxKeyLength)
        {
            location = default;
            return false;
        }
        return store.TryGet(tableId, key, out location);
    }

    /// <summary>
    /// Makes everything written so far durable, together with <see cref="IndexedThroughRecno"/> as it was
    /// when the call started. Keeps the newest <see cref="KeyIndexOptions.CheckpointsToKeep"/> checkpoints
    /// and deletes older ones. Returns at once when nothing changed since the last checkpoint.
    /// </summary>
    /// <remarks>
    /// Uses a FASTER snapshot checkpoint of index and hybrid log: the in-memory part of the log is
    /// copied to a snapshot file and stays mutable, so hot keys keep being updated in place. (A fold-over
    /// checkpoint would make the whole log read-only, so every later update of a key would append a new
    /// record and the log would grow by the write set of each checkpoint interval.)
    /// Cancelling stops the wait, not FASTER: the checkpoint then finishes unrecorded and is purged later.
    /// </remarks>
    public async ValueTask CheckpointAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var store = _store ?? ThrowNoStore<KeyIndexStore>();

            // Read the recno before the checkpoint starts: every upsert of records up to it finished
            // before MarkIndexed published it, so all of them land in the checkpoint's version.
            var recno = Volatile.Read(ref _indexedThrough);
            var upserts = Volatile.Read(ref _upserts);
            if (recno == _checkpointedRecno && upserts == _checkpointedUpserts)
                return;

            var sequence = _nextSequence;
            var token = await store.CheckpointAsync(MakeCookie(sequence, recno), ct).ConfigureAwait(false);

            // The checkpoint counts from the moment its manifest exists.
            WriteManifest(new CheckpointManifest
            {
                Sequence = sequence,
                Recno = recno,
                Token = token,
                Geometry = store.Geometry,
                CreatedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            });
            _nextSequence = sequence + 1;
            _checkpointedRecno = recno;
            _checkpointedUpserts = upserts;

            PruneCheckpoints(store);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Drops the whole index, on disk too, and starts empty with <see cref="IndexedThroughRecno"/> = 0;
    /// the way out of <see cref="KeyIndexRecovery.Unusable"/>, and what to do when the txlog was recycled
    /// past <see cref="IndexedThroughRecno"/>. Must not race with the writer.
    /// </summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _gate.Wait();
        try
        {
            var old = _store;
            _store = null;
            old?.Dispose();

            try
            {
                DeleteStoreFiles(includeManifests: true);
                _store = KeyIndexStore.Create(_directory, _configuredGeometry, _memorySizeBytes, _readerSessions);
            }
            catch (Exception ex)
            {
                MarkUnusable($"resetting it failed ({ex.Message})");
                throw;
            }
            Volatile.Write(ref _indexedThrough, 0);
            _upserts = 0;
            _checkpointedRecno = -1;
            _checkpointedUpserts = -1;
            Recovery = KeyIndexRecovery.Created;
            RecoveryMessage = null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the store and its files. Does not checkpoint: changes since the last <see cref="CheckpointAsync"/> are lost.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _gate.Wait(); // let a running checkpoint or reset finish
        try
        {
            var store = _store;
            _store = null;
            store?.Dispose();
        }
        finally
        {
            _lockFile.Dispose();
            _gate.Release();
        }
    }

    private void Recover()
    {
        foreach (var temp in Directory.GetFiles(_directory, "*.tmp"))
            File.Delete(temp); // a manifest whose rename never happened

        var manifests = ReadManifests();
        _nextSequence = manifests.Count == 0 ? 1 : manifests[0].Sequence + 1;
        if (manifests.Count == 0)
        {
            // Never checkpointed (or the first checkpoint never finished): whatever FASTER files are
            // here belong to no recoverable state.
            DeleteStoreFiles(includeManifests: false);
            _store = KeyIndexStore.Create(_directory, _configuredGeometry, _memorySizeBytes, _readerSessions);
            Recovery = KeyIndexRecovery.Created;
            return;
        }

        string? firstProblem = null;
        for (var i = 0; i < manifests.Count; i++)
        {
            var entry = manifests[i];
            if (entry.Problem is not null)
            {
                firstProblem ??= $"manifest {entry.FileName} is damaged: {entry.Problem}";
                continue;
            }
            var manifest = entry.Manifest;
            KeyIndexStore store;
            byte[]? cookie;
            try
            {
                store = KeyIndexStore.Recover(_directory, manifest.Geometry, _memorySizeBytes, _readerSessions, manifest.Token, out cookie);
            }
            catch (Exception ex)
            {
                firstProblem ??= $"checkpoint {manifest.Sequence} could not be recovered ({ex.GetType().Name}: {ex.Message})";
                continue;
            }
            if (cookie is null || !cookie.AsSpan().SequenceEqual(MakeCookie(manifest.Sequence, manifest.Recno)))
            {
                store.Dispose();
                firstProblem ??= $"checkpoint {manifest.Sequence} does not carry the sequence and recno its manifest names";
                continue;
            }

            try
            {
                // Newer checkpoints were unusable. Their manifests must go before anything new is written:
                // the recovered store appends over the log addresses they depend on.
                for (var j = 0; j < i; j++)
                    DeleteManifest(manifests[j]);
                _store = store;
                PruneCheckpoints(store);
            }
            catch
            {
                _store = null;
                store.Dispose();
                throw;
            }

            Volatile.Write(ref _indexedThrough, manifest.Recno);
            _checkpointedRecno = manifest.Recno;
            _checkpointedUpserts = 0;
            if (firstProblem is not null)
            {
                Recovery = KeyIndexRecovery.RecoveredOlder;
                RecoveryMessage = $"Key index in '{_directory}': {firstProblem}; recovered the older checkpoint {manifest.Sequence} (recno {manifest.Recno}) instead.";
            }
            else
            {
                Recovery = KeyIndexRecovery.Recovered;
                if (manifest.Geometry != _configuredGeometry)
                    RecoveryMessage = $"Key index in '{_directory}' was recovered with the page, segment and bucket sizes it was created with ({Describe(manifest.Geometry)}); the configured {Describe(_configuredGeometry)} take effect after Reset().";
            }
            return;
        }
        MarkUnusable(firstProblem!);
    }

    private void MarkUnusable(string problem)
    {
        var store = _store;
        _store = null;
        store?.Dispose();
        Volatile.Write(ref _indexedThrough, 0);
        Recovery = KeyIndexRecovery.Unusable;
        RecoveryMessage = $"Key index in '{_directory}' is unusable: {problem}; call Reset() and rebuild it from the txlog.";
    }

    private sealed record ManifestFile(string Path, string FileName, long Sequence, CheckpointManifest Manifest, string? Problem);

    /// <summary>All manifest files, newest first, each parsed or with the reason it could not be.</summary>
    private List<ManifestFile> ReadManifests()
    {
        var result = new List<ManifestFile>();
        foreach (var path in Directory.GetFiles(_directory, CheckpointManifest.FilePrefix + "*" + CheckpointManifest.FileSuffix))
        {
            var name = Path.GetFileName(path);
            if (!CheckpointManifest.TryParseFileName(name, out var sequence))
                continue;
            CheckpointManifest manifest = default;
            string? problem;
            try
            {
                if (CheckpointManifest.TryRead(File.ReadAllBytes(path), out manifest, out problem) && manifest.Sequence != sequence)
                    problem = $"it holds sequence {manifest.Sequence}";
            }
            catch (IOException ex)
            {
                problem = $"it cannot be read ({ex.Message})";
            }
            result.Add(new ManifestFile(path, name, sequence, manifest, problem));
        }
        result.Sort((a, b) => b.Sequence.CompareTo(a.Sequence));
        return result;
    }

    private void WriteManifest(CheckpointManifest manifest)
    {
        Span<byte> bytes = stackalloc byte[CheckpointManifest.Size];
        manifest.Write(bytes);
        DurableFiles.WriteAtomically(Path.Combine(_directory, CheckpointManifest.FileName(manifest.Sequence)), bytes);
    }

    private void DeleteManifest(ManifestFile file)
    {
        File.Delete(file.Path);
        DurableFiles.FlushDirectory(_directory);
    }

    /// <summary>
    /// Keeps the newest <see cref="_checkpointsToKeep"/> manifests and deletes the rest, then deletes
    /// every FASTER checkpoint no kept manifest names (older ones, and leftovers of checkpoints that
    /// never got a manifest because of a crash or a cancellation). Manifest first, files after: a crash
    /// in between leaves orphan files, never a manifest without its files.
    /// </summary>
    private void PruneCheckpoints(KeyIndexStore store)
    {
        var manifests = ReadManifests();
        for (var i = _checkpointsToKeep; i < manifests.Count; i++)
            File.Delete(manifests[i].Path);
        if (manifests.Count > _checkpointsToKeep)
            DurableFiles.FlushDirectory(_directory);

        var kept = new HashSet<Guid>();
        for (var i = 0; i < Math.Min(_checkpointsToKeep, manifests.Count); i++)
        {
            if (manifests[i].Problem is null)
                kept.Add(manifests[i].Manifest.Token);
        }
        foreach (var token in store.ListCheckpointTokens())
        {
            if (!kept.Contains(token))
                store.Purge(token);
        }
    }

    private void DeleteStoreFiles(bool includeManifests)
    {
        foreach (var folder in new[] { KeyIndexStore.LogDirectory, KeyIndexStore.CheckpointDirectory })
        {
            var path = Path.Combine(_directory, folder);
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
        }
        if (includeManifests)
        {
            foreach (var path in Directory.GetFiles(_directory, CheckpointManifest.FilePrefix + "*"))
                File.Delete(path);
        }
        DurableFiles.FlushDirectory(_directory);
    }

    /// <summary>[sequence u64 BE][recno u64 BE], stored by FASTER inside its own checkpoint metadata.</summary>
    private static byte[] MakeCookie(long sequence, long recno)
    {
        var cookie = new byte[CookieLength];
        BinaryPrimitives.WriteInt64BigEndian(cookie, sequence);
        BinaryPrimitives.WriteInt64BigEndian(cookie.AsSpan(8), recno);
        return cookie;
    }

    private static FileStream AcquireLock(string directory)
    {
        var path = Path.Combine(directory, LockFileName);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock on Unix); the kernel drops it when
            // the process dies, so a crashed MCP never leaves the index locked.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The key index in '{directory}' is already open in another process or KeyIndex instance; only one may use it at a time.", ex);
        }
    }

    private static StoreGeometry Validate(KeyIndexOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Directory))
            throw new ArgumentException("KeyIndexOptions.Directory must name the directory that holds the key index.", nameof(options));
        if (options.IndexBuckets <= 0 || !BitOperations.IsPow2(options.IndexBuckets))
            throw new ArgumentException($"KeyIndexOptions.IndexBuckets must be a power of two; {options.IndexBuckets} is not.", nameof(options));
        if (options.MemorySizeBytes <= 0 || !BitOperations.IsPow2(options.MemorySizeBytes))
            throw new ArgumentException($"KeyIndexOptions.MemorySizeBytes must be a power of two; {options.MemorySizeBytes} is not.", nameof(options));
        var geometry = new StoreGeometry(options.PageSizeBits, options.SegmentSizeBits, BitOperations.Log2((ulong)options.IndexBuckets));
        if (!geometry.IsValid(out var problem))
            throw new ArgumentException($"KeyIndexOptions are out of range: {problem}.", nameof(options));
        if (options.MemorySizeBytes < 4L << options.PageSizeBits)
            throw new ArgumentException($"KeyIndexOptions.MemorySizeBytes ({options.MemorySizeBytes}) must hold at least 4 pages of 2^{options.PageSizeBits} bytes; raise it or lower PageSizeBits.", nameof(options));
        if (options.ReaderSessions < 1)
            throw new ArgumentException("KeyIndexOptions.ReaderSessions must be at least 1.", nameof(options));
        if (options.CheckpointsToKeep < 1)
            throw new ArgumentException("KeyIndexOptions.CheckpointsToKeep must be at least 1.", nameof(options));
        return geometry;
    }

    private static string Describe(StoreGeometry g) =>
        $"pages 2^{g.PageSizeBits}, segments 2^{g.SegmentSizeBits}, {g.IndexBuckets} buckets";

    [DoesNotReturn]
    private T ThrowNoStore<T>()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        throw new InvalidOperationException(RecoveryMessage ?? "The key index is being reset.");
    }

    [DoesNotReturn]
    private static void ThrowKeyTooLong(int length) =>
        throw new ArgumentException($"A key of {length} bytes is longer than the key index accepts ({MaxKeyLength} bytes).", "key");
}
