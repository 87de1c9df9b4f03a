using System.Buffers;
using Mammoth.Log.Records;

namespace Mammoth.Log.Storage;

/// <summary>
/// The MCP's transaction log: an append-only sequence of records numbered 1, 2, 3… (recno), stored in
/// preallocated segment files named by the recno of their first record.
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> One appender thread calls <see cref="Append"/> and <see cref="Flush"/>; a dedicated
/// flusher thread makes written bytes durable (fdatasync, grouped) and publishes <see cref="DurableRecno"/>;
/// any number of <see cref="TxLogReader"/>s read durable records concurrently, straight from the mapping.</para>
/// <para><b>Write path.</b> Records are copied into one pooled buffer and written with pwrite when
/// <see cref="TxLogOptions.FlushBytes"/> are pending or on <see cref="Flush"/>; see bench/README.md for why
/// pwrite and not stores into the mapping.</para>
/// <para><b>Durability.</b> A record is durable once the flusher has fdatasynced every segment it touched
/// (and the folder, after a segment roll). Only durable records are visible to readers.</para>
/// </remarks>
public sealed partial class TxLog : IDisposable
{
    public const string IdentityFileName = "TXLOG";
    public const string LockFileName = "LOCK";
    private const string SpareFileName = "spare.seg.tmp";
    private const string IdentityText = "MammothFast transaction log\nformat 1\n";

    private readonly TxLogOptions _options;
    private readonly FileStream? _lockFile;
    private readonly object _segmentsLock = new();
    private Segment[] _segments = [];

    private TxLog(TxLogOptions options, FileStream? lockFile)
    {
        _options = options;
        _lockFile = lockFile;
        int bufferSize = Math.Max(options.FlushBytes, 256 * 1024);
        _buffer = options.ReadOnly ? [] : ArrayPool<byte>.Shared.Rent(bufferSize + RecordHeader.Size);
        _durableAdvanced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public string Path => _options.Path;
    public TxLogOptions Options => _options;

    /// <summary>Recno of the oldest record still held (the next record to be appended when the log is empty).</summary>
    public long FirstRecno
    {
        get
        {
            Segment[] s = Volatile.Read(ref _segments);
            return s.Length > 0 ? s[0].BaseRecno : Volatile.Read(ref _nextRecno);
        }
    }

    /// <summary>Recno of the last appended record (FirstRecno - 1 when empty). Appender's view; may not be durable yet.</summary>
    public long LastRecno => Volatile.Read(ref _nextRecno) - 1;

    /// <summary>Recno the next <see cref="Append"/> will assign.</summary>
    public long NextRecno => Volatile.Read(ref _nextRecno);

    /// <summary>Every record ≤ this is on stable storage and visible to readers.</summary>
    public long DurableRecno => Volatile.Read(ref _durableRecno);

    /// <summary>Header of the last record in the log (default when empty): the MCP's dedup point after a restart.</summary>
    public RecordHeader LastHeader => _lastHeader;

    /// <summary>Bytes of records held (the queue size the recycling limits count).</summary>
    public long DataBytes
    {
        get
        {
            long n = 0;
            foreach (Segment s in Volatile.Read(ref _segments))
                n += s.DataBytes;
            return n;
        }
    }

    /// <summary>Bytes of segment files on disk.</summary>
    public long FileBytes
    {
        get
        {
            long n = 0;
            foreach (Segment s in Volatile.Read(ref _segments))
                n += s.Capacity;
            return n;
        }
    }

    /// <summary>What recovery did when the log was opened.</summary>
    public RecoveryReport Recovery { get; private set; } = new(0, 0, 0, null);

    /// <summary>A snapshot of the segments, oldest first.</summary>
    public IReadOnlyList<SegmentInfo> GetSegments()
    {
        Segment[] segs = Volatile.Read(ref _segments);
        var list = new List<SegmentInfo>(segs.Length);
        foreach (Segment s in segs)
            list.Add(new SegmentInfo(s.FileName, s.BaseRecno, s.LastRecno, s.DataBytes, s.Capacity, s.IsSealed));
        return list;
    }

    /// <summary>Is <paramref name="path"/> a txlog folder (has the TXLOG identity file)?</summary>
    public static bool IsTxLog(string path) => File.Exists(System.IO.Path.Combine(path, IdentityFileName));

    /// <summary>Opens (or creates) the log and recovers it: see <see cref="Recovery"/> for what was done.</summary>
    public static TxLog Open(TxLogOptions options)
    {
        options.Validate();
        string dir = System.IO.Path.GetFullPath(options.Path);
        PrepareFolder(dir, options);
        FileStream? lockFile = options.ReadOnly ? null : TakeLock(dir);
        var log = new TxLog(options, lockFile);
        try
        {
            log.Recover(dir);
            if (!options.ReadOnly)
            {
                log.StartFlusher();
                log.StartSpare();
            }
            return log;
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    private static void PrepareFolder(string dir, TxLogOptions options)
    {
        bool mayCreate = !options.OpenExistingOnly && !options.ReadOnly;
        if (!Directory.Exists(dir))
        {
            if (File.Exists(dir))
                throw new NotATxLogException($"txlog path \"{dir}\" is a file, not a folder; give the folder that holds the txlog.");
            if (!mayCreate)
                throw new NotATxLogException($"txlog path \"{dir}\" does not exist; check mcp_txlog_path.");
            Directory.CreateDirectory(dir);
        }
        string identity = System.IO.Path.Combine(dir, IdentityFileName);
        if (File.Exists(identity))
        {
            string text = File.ReadAllText(identity);
            if (!text.StartsWith("MammothFast transaction log", StringComparison.Ordinal))
                throw new NotATxLogException($"\"{identity}\" is not a MammothFast txlog identity file; point mcp_txlog_path at a txlog folder.");
            return;
        }
        bool empty = !Directory.EnumerateFileSystemEntries(dir).Any();
        if (!mayCreate || !empty)
        {
            throw new NotATxLogException(empty
                ? $"\"{dir}\" is not a txlog (it is empty); check the path."
                : $"\"{dir}\" is not a txlog (it has files but no {IdentityFileName} file); give a txlog folder or an empty one.");
        }
        string tmp = identity + ".tmp";
        File.WriteAllText(tmp, IdentityText);
        using (SafeFileHandleScope(tmp))
        {
        }
        File.Move(tmp, identity);
        Posix.SyncDirectory(dir);
    }

    private static IDisposable SafeFileHandleScope(string path)
    {
        var h = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.FlushToDisk(h);
        return h;
    }

    private static FileStream TakeLock(string dir)
    {
        string path = System.IO.Path.Combine(dir, LockFileName);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException)
        {
            throw new TxLogLockedException($"txlog \"{dir}\" is in use by another process (its {LockFileName} file is locked); stop that process first.");
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Exception? error = null;
        if (!_options.ReadOnly)
        {
            try
            {
                if (_failure is null && _active is not null)
                    WriteBuffer();
            }
            catch (Exception ex)
            {
                error = ex;
            }
            StopFlusher();
            WaitSpare();
        }
        lock (_segmentsLock)
        {
            foreach (Segment s in _segments)
                s.Release();
            _segments = [];
        }
        _active = null;
        if (_buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _lockFile?.Dispose();
        if (error is not null)
            throw new TxLogException($"txlog \"{Path}\": the last records could not be written at shutdown: {error.Message}", error);
    }

    private bool _disposed;

    internal Segment[] SegmentsSnapshot => Volatile.Read(ref _segments);
}

/// <summary>A segment as <see cref="TxLog.GetSegments"/> reports it.</summary>
public readonly record struct SegmentInfo(string FileName, long BaseRecno, long LastRecno, long DataBytes, long FileBytes, bool Sealed)
{
    public long RecordCount => LastRecno - BaseRecno + 1;
}

/// <summary>What recovery found and did.</summary>
/// <param name="Segments">Segments opened.</param>
/// <param name="TailRecords">Records verified in the tail segment.</param>
/// <param name="BytesDropped">Bytes of a torn tail that were zeroed (0 when the log was clean).</param>
/// <param name="Message">A sentence for the log when something was dropped or rebuilt.</param>
public sealed record RecoveryReport(int Segments, long TailRecords, long BytesDropped, string? Message);
