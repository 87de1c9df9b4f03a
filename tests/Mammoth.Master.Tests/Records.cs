using System.Buffers.Binary;
using Mammoth.Log.Records;

namespace Mammoth.Master.Tests;

/// <summary>One section of a received DATA record, decoded.</summary>
public sealed record Sec(uint TableId, ChangeOp Op, SlaveSet Slaves, short FieldCount, byte[] Mask, List<byte[]> Rows, byte[] RowBytes)
{
    /// <summary>Fields of row <paramref name="i"/> (null = SQL NULL).</summary>
    public List<byte[]?> Fields(int i) => Records.Fields(Rows[i]);

    /// <summary>Whether column <paramref name="c"/> is present (empty mask = all).</summary>
    public bool Has(int c) => Mask.Length == 0 || (Mask[c >> 3] & (1 << (c & 7))) != 0;
}

/// <summary>A record as a slave received it.</summary>
public sealed record Rec(long Recno, RecordKind Kind, RecordFlags Flags, uint Epoch, ulong CommitLsn, uint Seq, uint Xid, long CommitTime,
    byte[] Payload, List<Sec> Sections, List<RelationInfo> Relations)
{
    public bool Continued => (Flags & RecordFlags.Continued) != 0;

    public override string ToString() =>
        $"#{Recno} {Kind} lsn={PgTime.FormatLsn(CommitLsn)} seq={Seq} xid={Xid}{(Continued ? " continued" : "")} " +
        (Kind == RecordKind.Relation ? string.Join(",", Relations) : string.Join(" ", Sections.Select(s => $"[{s.TableId} {s.Op} {s.Slaves} rows={s.Rows.Count}]")));
}

public static class Records
{
    public static Rec Decode(RecordHeader h, byte[] record)
    {
        byte[] payload = record[RecordHeader.Size..];
        var sections = new List<Sec>();
        var relations = new List<RelationInfo>();
        if (h.Kind == RecordKind.Data)
        {
            string? problem = PayloadReader.Validate(payload);
            if (problem is not null)
                throw new InvalidOperationException($"record {h.Recno}: {problem}");
            foreach (Section s in PayloadReader.Sections(payload))
            {
                var rows = new List<byte[]>();
                TupleReader t = s.GetTuples();
                while (t.MoveNextTuple())
                {
                    for (int f = 0; f < t.FieldCount; f++)
                        t.TryReadField(out _, out _);
                    rows.Add(t.CurrentTupleBytes.ToArray());
                }
                sections.Add(new Sec(s.TableId, s.Op, s.Slaves, s.FieldCount, s.ColumnMask.ToArray(), rows, s.Rows.ToArray()));
            }
        }
        else if (h.Kind == RecordKind.Relation)
        {
            relations = RelationInfo.ReadAll(payload);
        }
        return new Rec(h.Recno, h.Kind, h.Flags, h.Epoch, h.CommitLsn, h.Seq, h.Xid, h.CommitTime, payload, sections, relations);
    }

    public static List<byte[]?> Fields(byte[] tuple)
    {
        var list = new List<byte[]?>();
        var t = new TupleReader(tuple);
        t.MoveNextTuple();
        for (int f = 0; f < t.FieldCount; f++)
        {
            t.TryReadField(out ReadOnlySpan<byte> v, out bool isNull);
            list.Add(isNull ? null : v.ToArray());
        }
        return list;
    }

    public static int Int4(byte[]? v) => BinaryPrimitives.ReadInt32BigEndian(v);

    public static long Int8(byte[]? v) => BinaryPrimitives.ReadInt64BigEndian(v);

    public static string Text(byte[]? v) => System.Text.Encoding.UTF8.GetString(v!);

    public static byte[] Int4Bytes(int v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        return b;
    }
}
