namespace Mammoth.Log.Storage;

/// <summary>How segment files are given their space before records are written into them.</summary>
public enum SegmentPreallocation
{
    /// <summary>Write zeros over the whole file and fsync it once, in the background: later fdatasyncs flush data only, no extent conversion.</summary>
    ZeroFill,
    /// <summary>fallocate(2): fast to create, but the first write to every block converts an unwritten extent (a journal commit per flush).</summary>
    Fallocate,
    /// <summary>ftruncate only (sparse file): blocks are allocated at the first flush of each one.</summary>
    Sparse,
}

/// <summary>Options of a <see cref="TxLog"/>.</summary>
public sealed class TxLogOptions
{
    /// <summary>Folder of the log (<c>mcp_txlog_path</c>).</summary>
    public required string Path { get; init; }

    /// <summary>Size of each segment file. Records never span segments; a record larger than this gets a segment of its own.</summary>
    public long SegmentSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Group-commit size: appended records are buffered and written (pwrite) to the segment when this many
    /// bytes are pending or when the appender calls <see cref="TxLog.Flush"/>; each write wakes the flusher,
    /// which fdatasyncs and publishes the new durable position. 0 writes every record at once.
    /// </summary>
    public int FlushBytes { get; init; } = 1024 * 1024;

    public SegmentPreallocation Preallocation { get; init; } = SegmentPreallocation.ZeroFill;

    /// <summary>One sparse-index entry (recno → offset) per this many bytes of a segment.</summary>
    public int IndexIntervalBytes { get; init; } = 16 * 1024;

    /// <summary>Check each record's payload CRC when a reader hands it out (never serve a damaged record).</summary>
    public bool VerifyOnRead { get; init; } = true;

    /// <summary>Recno of the first record when the log is created empty.</summary>
    public long InitialRecno { get; init; } = 1;

    /// <summary>Open an existing log only; do not create the folder or the TXLOG file.</summary>
    public bool OpenExistingOnly { get; init; }

    /// <summary>Open without the lock, without recovery writes and without appending (inspection tools).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Called with human-readable lines about recovery (torn tail dropped, sidecar rebuilt...).</summary>
    public Action<string>? Report { get; init; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
            throw new ArgumentException("the txlog path is empty");
        if (SegmentSize < 64 * 1024 || SegmentSize > (1L << 40))
            throw new ArgumentOutOfRangeException(nameof(SegmentSize), SegmentSize, "segment size must be between 64 KiB and 1 TiB");
        ArgumentOutOfRangeException.ThrowIfNegative(FlushBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(IndexIntervalBytes, 512);
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialRecno, 1);
    }
}
