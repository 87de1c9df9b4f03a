using System.Buffers.Binary;

namespace Mammoth.Log.Records;

/// <summary>
/// The payload of DUMP_START and DUMP_END records, which frame a full dump (see docs/dumps.md).
/// </summary>
/// <remarks>
/// <code>
///  0        4      5              13            17             25
///  +--------+------+--------------+-------------+--------------+
///  |dump_id | flags| slave_set u64| table_count | snapshot_lsn |
///  +--------+------+--------------+-------------+--------------+
///  flags bit 0 = every slave (slave_set is then 0). Big-endian.
/// </code>
/// </remarks>
public readonly record struct DumpMarker(uint DumpId, SlaveSet Slaves, int TableCount, ulong SnapshotLsn)
{
    public const int Size = 25;
    private const byte AllSlavesFlag = 1;

    public void Write(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, DumpId);
        d[4] = Slaves.IsAll ? AllSlavesFlag : (byte)0;
        BinaryPrimitives.WriteUInt64BigEndian(d[5..], Slaves.IsAll ? 0 : Slaves.Bits);
        BinaryPrimitives.WriteInt32BigEndian(d[13..], TableCount);
        BinaryPrimitives.WriteUInt64BigEndian(d[17..], SnapshotLsn);
    }

    /// <exception cref="FormatException">The payload is not a dump marker.</exception>
    public static DumpMarker Read(ReadOnlySpan<byte> s)
    {
        if (s.Length != Size)
            throw new FormatException($"a DUMP_START/DUMP_END payload is {Size} bytes, not {s.Length}");
        if (!TryRead(s, out DumpMarker m))
            throw new FormatException($"a dump marker counts {BinaryPrimitives.ReadInt32BigEndian(s[13..])} tables");
        return m;
    }

    /// <summary>Reads a marker without throwing (the MCP's hot paths); false when the payload is not one.</summary>
    public static bool TryRead(ReadOnlySpan<byte> s, out DumpMarker marker)
    {
        marker = default;
        if (s.Length != Size)
            return false;
        bool all = (s[4] & AllSlavesFlag) != 0;
        int tables = BinaryPrimitives.ReadInt32BigEndian(s[13..]);
        if (tables < 0)
            return false;
        marker = new DumpMarker(BinaryPrimitives.ReadUInt32BigEndian(s),
            new SlaveSet(all ? 0 : BinaryPrimitives.ReadUInt64BigEndian(s[5..]), all), tables,
            BinaryPrimitives.ReadUInt64BigEndian(s[17..]));
        return true;
    }
}
