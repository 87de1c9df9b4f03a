using System.Buffers.Binary;
using Mammoth.Log.Records;

namespace Mammoth.Slave.Tests.Support;

/// <summary>
/// Builds records as the master agent would: recnos 1, 2, 3 … (the MCP stamps its own when they go through
/// it), one commit LSN per master transaction and seq 0, 1, 2 … for the records of one transaction.
/// </summary>
internal sealed class RecordFactory : IDisposable
{
    private readonly RecordBuilder _b = new();
    private ulong _lsn = 0x1000;
    private uint _seq;
    private bool _inContinued;

    public long Recno { get; private set; }
    public uint Epoch { get; set; } = 1;

    /// <summary>A RELATION record for these tables.</summary>
    public byte[] Relation(params RelationInfo[] relations)
    {
        _b.Begin(RecordKind.Relation);
        RelationInfo.WriteAll(_b, relations);
        return Finish(continued: false);
    }

    /// <summary>A DATA record; <paramref name="continued"/>: the master transaction goes on in the next record.</summary>
    public byte[] Data(Action<RecordBuilder> sections, bool continued = false)
    {
        _b.Begin(RecordKind.Data, continued ? RecordFlags.Continued : RecordFlags.None);
        sections(_b);
        return Finish(continued);
    }

    /// <summary>A DATA record only for slave 9: the MCP turns it into an EMPTY record for every other slave.</summary>
    public byte[] ForAnotherSlave(RelationInfo rel) =>
        Data(b => b.Add(rel, ChangeOp.Delete, Sections.Rows(Sections.Tuple(-1)), slaves: SlaveSet.Of(9)));

    public byte[] Empty()
    {
        _b.Begin(RecordKind.Empty);
        return Finish(false);
    }

    public byte[] Other(RecordKind kind)
    {
        _b.Begin(kind);
        _b.Write([1, 2, 3]);
        return Finish(false);
    }

    private byte[] Finish(bool continued)
    {
        if (!_inContinued)
        {
            _lsn += 0x100;
            _seq = 0;
        }
        else
        {
            _seq++;
        }
        _inContinued = continued;
        Recno++;
        return _b.Finish(epoch: Epoch, commitLsn: _lsn, xid: (uint)Recno, commitTime: PgTime.Now(), recno: Recno, seq: _seq).ToArray();
    }

    public static byte[] Concat(params byte[][] records) => [.. records.SelectMany(r => r)];

    public void Dispose() => _b.Dispose();
}

/// <summary>Section helpers on a RecordBuilder.</summary>
internal static class Sections
{
    public static void Add(this RecordBuilder b, RelationInfo rel, ChangeOp op, Tuples rows, byte[]? mask = null, SlaveSet? slaves = null)
    {
        b.BeginSection(rel.TableId, op, slaves ?? SlaveSet.All, rows.Fields, mask ?? []);
        b.AddTuples(rows.Bytes, rows.Count);
        b.EndSection();
    }

    public static void Truncate(this RecordBuilder b, RelationInfo rel)
    {
        b.BeginSection(rel.TableId, ChangeOp.Truncate, SlaveSet.All, 0);
        b.EndSection();
    }

    /// <summary>A column mask with the given column indexes set.</summary>
    public static byte[] Mask(params int[] columns)
    {
        var m = new byte[columns.Max() / 8 + 1];
        foreach (int c in columns)
            m[c >> 3] |= (byte)(1 << (c & 7));
        return m;
    }

    /// <summary>One tuple of int4/int8/text fields built by hand (null = NULL).</summary>
    public static byte[] Tuple(params object?[] fields)
    {
        var ms = new MemoryStream();
        Span<byte> b8 = stackalloc byte[8];
        BinaryPrimitives.WriteInt16BigEndian(b8, (short)fields.Length);
        ms.Write(b8[..2]);
        foreach (object? f in fields)
        {
            switch (f)
            {
                case null:
                    BinaryPrimitives.WriteInt32BigEndian(b8, -1);
                    ms.Write(b8[..4]);
                    break;
                case int i:
                    BinaryPrimitives.WriteInt32BigEndian(b8, 4);
                    ms.Write(b8[..4]);
                    BinaryPrimitives.WriteInt32BigEndian(b8, i);
                    ms.Write(b8[..4]);
                    break;
                case long l:
                    BinaryPrimitives.WriteInt32BigEndian(b8, 8);
                    ms.Write(b8[..4]);
                    BinaryPrimitives.WriteInt64BigEndian(b8, l);
                    ms.Write(b8);
                    break;
                case string s:
                    byte[] t = System.Text.Encoding.UTF8.GetBytes(s);
                    BinaryPrimitives.WriteInt32BigEndian(b8, t.Length);
                    ms.Write(b8[..4]);
                    ms.Write(t);
                    break;
                default:
                    throw new ArgumentException($"unsupported field {f.GetType()}");
            }
        }
        return ms.ToArray();
    }

    public static Tuples Rows(params byte[][] tuples) =>
        new([.. tuples.SelectMany(t => t)], tuples.Length, BinaryPrimitives.ReadInt16BigEndian(tuples[0]));
}
