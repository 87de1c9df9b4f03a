using System.Buffers.Binary;

namespace Mammoth.Log.Records;

/// <summary>
/// The fixed part of a payload section: rows of one table, one operation and one set of present columns.
/// </summary>
/// <remarks>
/// <code>
///  0          4    5     6            8                        16          20            24      26
///  +----------+----+-----+------------+------------------------+-----------+-------------+-------+
///  | table_id | op |flags| field_count| slave_set u64 (bitmap) | row_count | rows_length | mask_n|
///  +----------+----+-----+------------+------------------------+-----------+-------------+-------+
///  26: column mask, mask_n bytes (bit i of byte i/8, LSB first = column i of the RELATION; mask_n = 0
///      means all columns for INSERT/UPDATE and the key columns for DELETE)
///  then rows_length bytes of rows, each a PostgreSQL binary-COPY tuple:
///      int16 field count, then per field int32 length (-1 = NULL) and the bytes.
/// </code>
/// flags bit 0 = every slave (slave_set is then 0). A section's rows can be written straight into
/// <c>COPY staging FROM STDIN (FORMAT binary)</c> behind the 19-byte COPY header.
/// </remarks>
public readonly struct SectionHeader
{
    public const int Size = 26;
    internal const byte AllSlavesFlag = 1;

    public uint TableId { get; init; }
    public ChangeOp Op { get; init; }
    public SlaveSet Slaves { get; init; }
    public short FieldCount { get; init; }
    public int RowCount { get; init; }
    public int RowsLength { get; init; }
    public int MaskLength { get; init; }

    /// <summary>Bytes of the whole section: fixed part, mask and rows.</summary>
    public int TotalLength => Size + MaskLength + RowsLength;

    public void Write(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, TableId);
        d[4] = (byte)Op;
        d[5] = Slaves.IsAll ? AllSlavesFlag : (byte)0;
        BinaryPrimitives.WriteInt16BigEndian(d[6..], FieldCount);
        BinaryPrimitives.WriteUInt64BigEndian(d[8..], Slaves.IsAll ? 0 : Slaves.Bits);
        BinaryPrimitives.WriteInt32BigEndian(d[16..], RowCount);
        BinaryPrimitives.WriteInt32BigEndian(d[20..], RowsLength);
        BinaryPrimitives.WriteUInt16BigEndian(d[24..], (ushort)MaskLength);
    }

    public static SectionHeader Read(ReadOnlySpan<byte> s)
    {
        bool all = (s[5] & AllSlavesFlag) != 0;
        return new SectionHeader
        {
            TableId = BinaryPrimitives.ReadUInt32BigEndian(s),
            Op = (ChangeOp)s[4],
            Slaves = new SlaveSet(all ? 0 : BinaryPrimitives.ReadUInt64BigEndian(s[8..]), all),
            FieldCount = BinaryPrimitives.ReadInt16BigEndian(s[6..]),
            RowCount = BinaryPrimitives.ReadInt32BigEndian(s[16..]),
            RowsLength = BinaryPrimitives.ReadInt32BigEndian(s[20..]),
            MaskLength = BinaryPrimitives.ReadUInt16BigEndian(s[24..]),
        };
    }
}
