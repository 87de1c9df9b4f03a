namespace Mammoth.Log.Records;

/// <summary>What a transaction-log record carries. Values are on disk and on the wire: never renumber.</summary>
public enum RecordKind : byte
{
    /// <summary>One committed master transaction (or one part of it, see <see cref="RecordFlags.Continued"/>).</summary>
    Data = 1,
    /// <summary>Table id → schema, name, columns, types and key.</summary>
    Relation = 2,
    TableDumpBegin = 3,
    TableDumpChunk = 4,
    TableDumpEnd = 5,
    DumpStart = 6,
    DumpEnd = 7,
    Roles = 8,
    Acl = 9,
    Sequences = 10,
    LargeObject = 11,
    /// <summary>The mammoth.* settings as of this point of the stream.</summary>
    Catalog = 12,
    /// <summary>Keeps a slave's recno sequence gapless when a record holds nothing for it.</summary>
    Empty = 13,
    /// <summary>Promotion marker.</summary>
    Mark = 14,
}

/// <summary>Record flags (u16).</summary>
[Flags]
public enum RecordFlags : ushort
{
    None = 0,
    /// <summary>The master transaction continues in the next record; a slave applies both in one local transaction.</summary>
    Continued = 1 << 0,
    /// <summary>Synthetic record written by <c>txlog gen</c> or a test.</summary>
    Synthetic = 1 << 1,
}

/// <summary>Change kind of a section (u8).</summary>
public enum ChangeOp : byte
{
    Insert = 1,
    Update = 2,
    /// <summary>Update that changes the primary key: rows carry the old key columns first, then the new columns.</summary>
    UpdateKey = 3,
    Delete = 4,
    Truncate = 5,
}
