using Mammoth.Log.Records;

namespace Mammoth.Log.Storage;

/// <summary>
/// A record handed out by a <see cref="TxLogReader"/>: a view of the mapped segment, not a copy.
/// </summary>
/// <remarks>
/// <see cref="Bytes"/> stays valid while the reader that returned it is positioned in the same segment;
/// for a reader opened with holdRetired, until <see cref="TxLogReader.ReleaseRetired"/>. A sender batches
/// records (possibly across segments), sends them, then calls ReleaseRetired.
/// </remarks>
public readonly struct LogRecord
{
    internal LogRecord(RecordHeader header, ReadOnlyMemory<byte> bytes, string segment, long offset)
    {
        Header = header;
        Bytes = bytes;
        Segment = segment;
        Offset = offset;
    }

    public RecordHeader Header { get; }

    /// <summary>Header and payload, exactly as stored.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    public ReadOnlySpan<byte> Payload => Bytes.Span[RecordHeader.Size..];

    public long Recno => Header.Recno;
    public RecordKind Kind => Header.Kind;
    public int Length => Bytes.Length;

    /// <summary>Segment file name and offset (for error messages and the inspection tool).</summary>
    public string Segment { get; }
    public long Offset { get; }
}

/// <summary>Result of <see cref="TxLogReader.TryRead"/>.</summary>
public enum ReadStatus
{
    /// <summary>A record was returned.</summary>
    Ok,
    /// <summary>The next record is not durable yet: await <see cref="TxLog.WaitForDurableAsync"/>.</summary>
    NotYet,
    /// <summary>The next record was recycled: the reader is behind the start of the log (its slave needs a dump).</summary>
    Recycled,
    /// <summary>The next record failed its checks: see <see cref="TxLogReader.Problem"/>. It is never served.</summary>
    Damaged,
}
