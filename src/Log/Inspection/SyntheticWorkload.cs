using System.Buffers.Binary;
using Mammoth.Log.Records;

namespace Mammoth.Log.Inspection;

/// <summary>
/// Synthetic records for <c>txlog gen</c>, tests and benchmarks: K tables <c>public.gen_k (id int8 primary
/// key, payload text)</c>, one INSERT row per DATA record, sized so that the whole record (header included)
/// is exactly the requested number of bytes.
/// </summary>
public sealed class SyntheticWorkload : IDisposable
{
    /// <summary>Header, section header and the fixed part of the tuple: the smallest record.</summary>
    public const int MinRecordSize = RecordHeader.Size + SectionHeader.Size + 2 + 4 + 8 + 4;
    public const uint FirstTableId = 90_001;
    public const uint Int8Oid = 20, TextOid = 25;

    private readonly RecordBuilder _builder;
    private readonly int _tables;
    private readonly int _textLength;

    public SyntheticWorkload(int recordSize, int tables)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(recordSize, MinRecordSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(tables, 1);
        _tables = tables;
        _textLength = recordSize - MinRecordSize;
        _builder = new RecordBuilder(recordSize + 64);
    }

    public int Tables => _tables;

    public static uint TableId(int k) => FirstTableId + (uint)k;

    public IReadOnlyList<RelationInfo> Relations() =>
        Enumerable.Range(0, _tables).Select(k => new RelationInfo(TableId(k), "public", $"gen_{k}",
        [
            new ColumnInfo("id", Int8Oid, -1, "bigint", IsKey: true),
            new ColumnInfo("payload", TextOid, -1, "text", IsKey: false),
        ])).ToList();

    /// <summary>The RELATION record describing the synthetic tables (valid until the next call).</summary>
    public ReadOnlySpan<byte> RelationRecord()
    {
        _builder.Begin(RecordKind.Relation, RecordFlags.Synthetic);
        RelationInfo.WriteAll(_builder, (IReadOnlyCollection<RelationInfo>)Relations());
        return _builder.Finish(epoch: 1);
    }

    /// <summary>The DATA record for row <paramref name="id"/> (valid until the next call). No allocation.</summary>
    public ReadOnlySpan<byte> DataRecord(long id, ulong commitLsn = 0)
    {
        _builder.Begin(RecordKind.Data, RecordFlags.Synthetic);
        _builder.BeginSection(TableId((int)(id % _tables)), ChangeOp.Insert, SlaveSet.All, 2);
        _builder.BeginTuple(2);
        BinaryPrimitives.WriteInt64BigEndian(_builder.AddField(8), id);
        FillText(_builder.AddField(_textLength), id);
        _builder.EndSection();
        return _builder.Finish(epoch: 1, commitLsn: commitLsn, xid: (uint)id, commitTime: 0);
    }

    /// <summary>The primary-key bytes of row <paramref name="id"/> as the key index stores them (the COPY field: length + int8).</summary>
    public static void KeyOf(long id, Span<byte> key12)
    {
        BinaryPrimitives.WriteInt32BigEndian(key12, 8);
        BinaryPrimitives.WriteInt64BigEndian(key12[4..], id);
    }

    private static void FillText(Span<byte> dest, long id)
    {
        // Deterministic printable ASCII, different per row.
        ulong x = (ulong)id * 0x9E3779B97F4A7C15UL + 1;
        for (int i = 0; i < dest.Length; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            dest[i] = (byte)('a' + (int)(x % 26));
        }
    }

    public void Dispose() => _builder.Dispose();
}
