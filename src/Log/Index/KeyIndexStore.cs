using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FASTER.core;

namespace Mammoth.Log.Index;

using Session = ClientSession<SpanByte, IndexValue, Empty, IndexValue, Empty, IndexFunctions>;

/// <summary>
/// One FASTER store and everything that must live and die with it: the hybrid-log device, the
/// checkpoint manager, the writer's session and the readers' session pool.
/// <see cref="KeyIndex"/> swaps whole stores on <see cref="KeyIndex.Reset"/>, which is why they are
/// a separate object.
/// </summary>
/// <remarks>
/// FASTER key = table id (u32, big-endian) followed by the caller's key bytes, as a
/// <see cref="SpanByte"/> (length-prefixed bytes stored inline in the record). Value = <see cref="IndexValue"/>.
/// A record of a 16-byte key is 8 (header) + 24 (length 4 + table id 4 + key 16) + 16 (value) = 48 bytes.
/// </remarks>
internal sealed class KeyIndexStore : IDisposable
{
    public const string LogDirectory = "hlog";
    public const string CheckpointDirectory = "checkpoints";
    private const string IndexCheckpoints = "index-checkpoints"; // DefaultCheckpointNamingScheme's folder names
    private const string LogCheckpoints = "cpr-checkpoints";
    private const int KeyPrefixLength = sizeof(uint);
    private const int StackKeyLimit = 256;

    private readonly string _root;
    private readonly IDevice _logDevice;
    private readonly DeviceLogCommitCheckpointManager _checkpointManager;
    private readonly FasterKV<SpanByte, IndexValue> _store;
    private readonly byte[] _writerKey; // pinned; the writer builds every key here
    private Session? _writer;
    private ReaderSessionPool<Session>? _readers;
    private bool _disposed;

    public StoreGeometry Geometry { get; }

    private KeyIndexStore(string root, StoreGeometry geometry, long memorySizeBytes)
    {
        _root = root;
        Geometry = geometry;
        _writerKey = GC.AllocateArray<byte>(KeyPrefixLength + KeyIndex.MaxKeyLength, pinned: true);

        // recoverDevice: the device learns which segment files exist, so recovery can check that
        // every segment a checkpoint needs is there and trim the ones past it.
        _logDevice = Devices.CreateLogDevice(Path.Combine(root, LogDirectory, "hlog.log"), preallocateFile: false, deleteOnClose: false, recoverDevice: true);
        try
        {
            // Old checkpoints are removed by KeyIndex once a newer manifest is durable; FASTER's own
            // removeOutdated would delete them as soon as the next checkpoint's metadata is written.
            _checkpointManager = new DeviceLogCommitCheckpointManager(
                new LocalStorageNamedDeviceFactory(), new DefaultCheckpointNamingScheme(Path.Combine(root, CheckpointDirectory)), removeOutdated: false);
            _store = new FasterKV<SpanByte, IndexValue>(
                geometry.IndexBuckets,
                new LogSettings
                {
                    LogDevice = _logDevice,
                    PageSizeBits = geometry.PageSizeBits,
                    SegmentSizeBits = geometry.SegmentSizeBits,
                    MemorySizeBits = BitOperations.Log2((ulong)memorySizeBytes),
                    MutableFraction = 0.9,
                    // Readers never write: a read served from disk is not copied back into memory.
                    ReadCopyOptions = ReadCopyOptions.None,
                },
                new CheckpointSettings { CheckpointManager = _checkpointManager },
                concurrencyControlMode: ConcurrencyControlMode.LockTable);
        }
        catch
        {
            _checkpointManager?.Dispose();
            _logDevice.Dispose();
            throw;
        }
    }

    /// <summary>A new, empty store in <paramref name="root"/>, which must hold no FASTER files.</summary>
    public static KeyIndexStore Create(string root, StoreGeometry geometry, long memorySizeBytes, int readerSessions)
    {
        var store = new KeyIndexStore(root, geometry, memorySizeBytes);
        try
        {
            store.StartSessions(readerSessions);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Recovers the full checkpoint <paramref name="token"/>; throws if FASTER cannot.</summary>
    public static KeyIndexStore Recover(string root, StoreGeometry geometry, long memorySizeBytes, int readerSessions, Guid token, out byte[]? commitCookie)
    {
        // Checked up front because FASTER, asked to open a missing file, creates it (and its folder)
        // empty and then fails on it, which also gives a vaguer message.
        var missing = MissingCheckpointFile(root, token);
        if (missing is not null)
            throw new FileNotFoundException($"The checkpoint file '{missing}' is missing or empty.", missing);

        var store = new KeyIndexStore(root, geometry, memorySizeBytes);
        try
        {
            store._store.Recover(token, token);
            commitCookie = store._store.RecoveredCommitCookie;
            // Every session that was open at checkpoint time is remembered for ResumeSession; we never resume.
            store._store.DisposeRecoverableSessions();
            store.StartSessions(readerSessions);
            return store;
        }
        catch
        {
            store.Dispose();
            // A failed FASTER recovery leaks the file handles it had opened (the checkpoint's delta-log
            // device is never disposed when reading the metadata throws). Only finalizers can close
            // them; this is the rare path of a damaged checkpoint, so pay for a full collection here.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            throw;
        }
    }

    /// <summary>The first file a full checkpoint cannot be recovered without that is absent or empty, or null.</summary>
    private static string? MissingCheckpointFile(string root, Guid token)
    {
        var checkpoints = Path.Combine(root, CheckpointDirectory);
        string[] required =
        [
            Path.Combine(checkpoints, IndexCheckpoints, token.ToString(), "info.dat.0"),
            Path.Combine(checkpoints, IndexCheckpoints, token.ToString(), "ht.dat.0"),
            Path.Combine(checkpoints, LogCheckpoints, token.ToString(), "info.dat.0"),
        ];
        foreach (var path in required)
        {
            var file = new FileInfo(path);
            if (!file.Exists || file.Length == 0)
                return path;
        }
        return null;
    }

    private void StartSessions(int readerSessions)
    {
        _writer = NewSession();
        _readers = new ReaderSessionPool<Session>(readerSessions, NewSession);
    }

    private Session NewSession() => _store.For(default(IndexFunctions)).NewSession<IndexFunctions>();

    /// <summary>Writer thread only.</summary>
    public unsafe void Upsert(uint tableId, ReadOnlySpan<byte> key, KeyLocation location)
    {
        var length = KeyPrefixLength + key.Length;
        var buffer = _writerKey.AsSpan(0, length);
        BinaryPrimitives.WriteUInt32BigEndian(buffer, tableId);
        key.CopyTo(buffer[KeyPrefixLength..]);

        var spanKey = SpanByte.FromPointer((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_writerKey)), length);
        var value = new IndexValue(location);
        var status = _writer!.Upsert(ref spanKey, ref value, Empty.Default, 0);
        if (status.IsPending)
            _writer.CompletePending(wait: true); // blind upserts do not go pending today; cheap insurance
        else if (status.IsFaulted)
            ThrowFaulted("upsert");
    }

    /// <summary>Any thread. False when the key is absent or the store is closing.</summary>
    public unsafe bool TryGet(uint tableId, ReadOnlySpan<byte> key, out KeyLocation location)
    {
        location = default;
        if (!_readers!.TryRent(out var lease))
            return false;
        byte[]? rented = null;
        try
        {
            var length = KeyPrefixLength + key.Length;
            var buffer = length <= StackKeyLimit ? stackalloc byte[StackKeyLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
            BinaryPrimitives.WriteUInt32BigEndian(buffer, tableId);
            key.CopyTo(buffer[KeyPrefixLength..]);

            fixed (byte* keyBytes = buffer)
            {
                var spanKey = SpanByte.FromPointer(keyBytes, length);
                var input = default(Empty);
                var output = default(IndexValue);
                var status = lease.Session.Read(ref spanKey, ref input, ref output, Empty.Default, 0);
                if (status.IsPending)
                    status = CompletePendingRead(lease.Session, ref output);
                if (!status.Found)
                    return false;
                location = output.ToLocation();
                return true;
            }
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
            _readers.Return(lease);
        }
    }

    /// <summary>The record was evicted to disk: wait for FASTER to read it (allocates; disk reads are the slow path anyway).</summary>
    private static Status CompletePendingRead(Session session, ref IndexValue output)
    {
        var status = default(Status);
        session.CompletePendingWithOutputs(out var completed, wait: true);
        using (completed)
        {
            while (completed.Next())
            {
                output = completed.Current.Output;
                status = completed.Current.Status;
            }
        }
        if (status.IsFaulted)
            ThrowFaulted("read");
        return status;
    }

    /// <summary>
    /// Takes a full (index + hybrid log) snapshot checkpoint carrying <paramref name="commitCookie"/>,
    /// waits until FASTER reports it durable and checks that its metadata reads back.
    /// </summary>
    public async ValueTask<Guid> CheckpointAsync(byte[] commitCookie, CancellationToken cancellationToken)
    {
        // A checkpoint whose caller gave up (cancellation) keeps running inside FASTER, and FASTER
        // runs one state machine at a time; let it finish before starting ours.
        await _store.CompleteCheckpointAsync(cancellationToken).ConfigureAwait(false);

        // The cookie is written into the hybrid-log checkpoint metadata, so the recno travels inside
        // FASTER's own commit as well as in our manifest; recovery checks that the two agree.
        _store.CommitCookie = commitCookie;
        var (started, token) = await _store.TakeFullCheckpointAsync(CheckpointType.Snapshot, cancellationToken).ConfigureAwait(false);
        if (!started)
            throw new InvalidOperationException("FASTER refused to start a checkpoint because another state change (checkpoint or index resize) is running.");

        // FASTER's checkpoint manager logs write errors instead of failing the checkpoint; reading and
        // parsing both commit records back proves at least that they were written whole.
        _ = _store.GetIndexFileSize(token);
        _ = _store.GetLogFileSize(token);

        // FASTER writes with O_SYNC (FileOptions.WriteThrough), which makes file contents durable but
        // not the names of the files and folders it just created.
        DurableFiles.FlushDirectoryTree(Path.Combine(_root, CheckpointDirectory));
        DurableFiles.FlushDirectoryTree(Path.Combine(_root, LogDirectory));
        return token;
    }

    /// <summary>Checkpoint tokens present on disk, complete or not.</summary>
    public HashSet<Guid> ListCheckpointTokens()
    {
        var tokens = new HashSet<Guid>();
        foreach (var folder in new[] { IndexCheckpoints, LogCheckpoints })
        {
            var path = Path.Combine(_root, CheckpointDirectory, folder);
            if (!Directory.Exists(path))
                continue;
            foreach (var dir in Directory.GetDirectories(path))
            {
                if (Guid.TryParse(Path.GetFileName(dir), out var token))
                    tokens.Add(token);
            }
        }
        return tokens;
    }

    /// <summary>Deletes the files of one checkpoint.</summary>
    public void Purge(Guid token) => _checkpointManager.Purge(token);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowFaulted(string operation) =>
        throw new IOException($"The key index's FASTER store reported an error during a {operation} (usually a failed disk read or write).");

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;

        // Readers first: Close waits for every rented session, so nobody is inside FASTER below.
        _readers?.Close();
        _writer?.Dispose();
        try
        {
            // An abandoned (cancelled) checkpoint may still be writing; its I/O callbacks must not
            // run against a disposed store.
            _store.CompleteCheckpointAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            // The checkpoint failed; its files stay orphaned and are purged at the next Open.
        }
        _store.Dispose();
        _logDevice.Dispose();       // FasterKV does not own the device
        _checkpointManager.Dispose();
    }
}
