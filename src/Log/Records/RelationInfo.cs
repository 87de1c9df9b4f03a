using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Mammoth.Log.Records;

/// <summary>One column of a replicated table as the RELATION record describes it.</summary>
public sealed record ColumnInfo(string Name, uint TypeOid, int TypeModifier, string TypeName, bool IsKey);

/// <summary>
/// Table id → schema, name, columns, types and key: the payload of a RELATION record.
/// </summary>
/// <remarks>
/// <code>
/// payload := count u16, then count × relation
/// relation := table_id u32 | schema str | name str | column_count u16 | column × column_count
/// column   := flags u8 (bit 0 = key column) | type_oid u32 | typmod i32 | name str | type_name str
/// str      := length u16 | UTF-8 bytes
/// </code>
/// Key columns are listed in the order of the primary key's columns by <see cref="KeyColumns"/>.
/// </remarks>
public sealed record RelationInfo(uint TableId, string Schema, string Name, IReadOnlyList<ColumnInfo> Columns)
{
    private int[]? _keyColumns;

    /// <summary>Indexes (into <see cref="Columns"/>) of the key columns.</summary>
    public IReadOnlyList<int> KeyColumns => _keyColumns ??= Columns.Select((c, i) => (c, i)).Where(x => x.c.IsKey).Select(x => x.i).ToArray();

    /// <summary>"schema"."name", quoted as PostgreSQL needs.</summary>
    public string QualifiedName => $"{QuoteIdent(Schema)}.{QuoteIdent(Name)}";

    public override string ToString() => $"{Schema}.{Name}";

    public static void WriteAll(IBufferWriter<byte> w, IReadOnlyCollection<RelationInfo> relations)
    {
        WriteU16(w, (ushort)relations.Count);
        foreach (RelationInfo r in relations)
        {
            Span<byte> s = w.GetSpan(4);
            BinaryPrimitives.WriteUInt32BigEndian(s, r.TableId);
            w.Advance(4);
            WriteStr(w, r.Schema);
            WriteStr(w, r.Name);
            WriteU16(w, (ushort)r.Columns.Count);
            foreach (ColumnInfo c in r.Columns)
            {
                s = w.GetSpan(9);
                s[0] = c.IsKey ? (byte)1 : (byte)0;
                BinaryPrimitives.WriteUInt32BigEndian(s[1..], c.TypeOid);
                BinaryPrimitives.WriteInt32BigEndian(s[5..], c.TypeModifier);
                w.Advance(9);
                WriteStr(w, c.Name);
                WriteStr(w, c.TypeName);
            }
        }
    }

    /// <summary>Parses a RELATION payload; throws <see cref="FormatException"/> when it is malformed.</summary>
    public static List<RelationInfo> ReadAll(ReadOnlySpan<byte> p)
    {
        int o = 0;
        int count = ReadU16(p, ref o);
        var list = new List<RelationInfo>(count);
        for (int i = 0; i < count; i++)
        {
            Need(p, o, 4);
            uint id = BinaryPrimitives.ReadUInt32BigEndian(p[o..]);
            o += 4;
            string schema = ReadStr(p, ref o);
            string name = ReadStr(p, ref o);
            int ncols = ReadU16(p, ref o);
            var cols = new ColumnInfo[ncols];
            for (int c = 0; c < ncols; c++)
            {
                Need(p, o, 9);
                bool key = (p[o] & 1) != 0;
                uint type = BinaryPrimitives.ReadUInt32BigEndian(p[(o + 1)..]);
                int typmod = BinaryPrimitives.ReadInt32BigEndian(p[(o + 5)..]);
                o += 9;
                string cname = ReadStr(p, ref o);
                string tname = ReadStr(p, ref o);
                cols[c] = new ColumnInfo(cname, type, typmod, tname, key);
            }
            list.Add(new RelationInfo(id, schema, name, cols));
        }
        if (o != p.Length)
            throw new FormatException($"RELATION payload has {p.Length - o} trailing bytes");
        return list;
    }

    public static string QuoteIdent(string s)
    {
        bool plain = s.Length > 0 && (char.IsAsciiLetterLower(s[0]) || s[0] == '_');
        foreach (char ch in s)
            plain &= char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '_';
        return plain ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    private static void WriteU16(IBufferWriter<byte> w, ushort v)
    {
        BinaryPrimitives.WriteUInt16BigEndian(w.GetSpan(2), v);
        w.Advance(2);
    }

    private static void WriteStr(IBufferWriter<byte> w, string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        if (n > ushort.MaxValue)
            throw new ArgumentException($"name too long: {s[..32]}…");
        Span<byte> d = w.GetSpan(2 + n);
        BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)n);
        Encoding.UTF8.GetBytes(s, d[2..]);
        w.Advance(2 + n);
    }

    private static int ReadU16(ReadOnlySpan<byte> p, ref int o)
    {
        Need(p, o, 2);
        int v = BinaryPrimitives.ReadUInt16BigEndian(p[o..]);
        o += 2;
        return v;
    }

    private static string ReadStr(ReadOnlySpan<byte> p, ref int o)
    {
        int n = ReadU16(p, ref o);
        Need(p, o, n);
        string s = Encoding.UTF8.GetString(p.Slice(o, n));
        o += n;
        return s;
    }

    private static void Need(ReadOnlySpan<byte> p, int o, int n)
    {
        if (p.Length - o < n)
            throw new FormatException("RELATION payload is truncated");
    }
}
