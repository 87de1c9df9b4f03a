namespace Mammoth.Log.Index;

/// <summary>
/// Settings of a <see cref="KeyIndex"/>. FASTER's own defaults (16 GiB of log memory, 64 MiB of
/// hash index) are far too large for a side index, so every size is set here explicitly.
/// </summary>
public sealed class KeyIndexOptions
{
    /// <summary>Directory that holds the index's hybrid log, checkpoints and manifests. Created if missing.</summary>
    public string Directory { get; set; } = "";

    /// <summary>
    /// Memory for the in-memory part of FASTER's hybrid log, in bytes: a power of two holding at
    /// least 4 pages. A record takes 8 (header) + (4 length + 4 table id + key length, rounded up
    /// to 8) + 16 (value) bytes — 48 for a 16-byte key — so the default 64 MiB holds about 1.2M such
    /// keys in its mutable 90%.
    /// Size it to hold the live key set: records beyond it are evicted to disk, where a read costs a
    /// file read and every update appends a new record (the log is not compacted yet, so it grows).
    /// Each checkpoint writes the part of this memory not yet flushed to the log file, up to all of it.
    /// </summary>
    public long MemorySizeBytes { get; set; } = 64L << 20;

    /// <summary>
    /// Number of hash buckets: a power of two. Each bucket is one 64-byte cache line holding up to
    /// 7 entries (more spill into overflow buckets), so the index takes <c>IndexBuckets * 64</c> bytes
    /// of memory — 4 MiB for the default 65,536 — and is written whole at every checkpoint.
    /// Size it at about one bucket per 4–8 live keys.
    /// </summary>
    public long IndexBuckets { get; set; } = 1L << 16;

    /// <summary>
    /// Log page size as a power of two (16–30). A record must fit in a page, so keys are limited to
    /// <see cref="KeyIndex.MaxKeyLength"/> bytes whatever this is. Default 22 (4 MiB pages).
    /// </summary>
    public int PageSizeBits { get; set; } = 22;

    /// <summary>Size of each on-disk hybrid-log file as a power of two (at least the page size). Default 28 (256 MiB).</summary>
    public int SegmentSizeBits { get; set; } = 28;

    /// <summary>
    /// FASTER sessions kept for <see cref="KeyIndex.TryGet"/> callers. A session serves one thread at
    /// a time; when more threads read at once, the extra ones get a short-lived session (slower and
    /// allocating), so set this to the number of threads expected to read concurrently.
    /// </summary>
    public int ReaderSessions { get; set; } = Environment.ProcessorCount;

    /// <summary>Completed checkpoints kept on disk; recovery falls back to an older one if the newest is damaged. Default 2.</summary>
    public int CheckpointsToKeep { get; set; } = 2;
}
