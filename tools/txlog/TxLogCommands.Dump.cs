using System.Globalization;
using System.Text;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;
using Mammoth.Log.Types;

namespace Mammoth.Tools.TxLog;

internal static partial class TxLogCommands
{
    private const string DumpUsage = "txlog dump PATH [--from N] [--to M] [--rows]";
    private const int MaxValueChars = 256;

    private static int Dump(string[] args)
    {
        var cl = CommandLine.Parse("txlog dump", args, ["--rows"], ["--from", "--to"]);
        string path = PathArg(cl, DumpUsage);
        bool rows = cl.Has("--rows");
        using var log = OpenReadOnly(path);
        long from = cl.GetLong("--from", log.FirstRecno, 1);
        long to = cl.GetLong("--to", log.LastRecno, 0);
        if (from < log.FirstRecno)
            throw new UsageException($"--from {from} is before the first record the log holds ({log.FirstRecno}).");
        var relations = new Dictionary<uint, RelationInfo>();
        if (rows && from > log.FirstRecno)
            LoadRelations(log, log.FirstRecno, from - 1, relations);

        var sb = new StringBuilder();
        var output = Console.Out;
        using TxLogReader reader = log.OpenReader(from);
        int status = 0;
        while (reader.NextRecno <= to)
        {
            ReadStatus s = reader.TryRead(out LogRecord rec);
            if (s == ReadStatus.NotYet)
                break;
            if (s != ReadStatus.Ok)
            {
                Console.Error.WriteLine($"txlog: {(s == ReadStatus.Damaged ? reader.Problem : $"record {reader.NextRecno} was recycled")}");
                status = 1;
                break;
            }
            sb.Clear();
            DescribeRecord(rec, sb);
            if (rec.Kind == RecordKind.Relation)
            {
                foreach (RelationInfo r in RelationInfo.ReadAll(rec.Payload))
                {
                    relations[r.TableId] = r;
                    sb.Append("  relation ").Append(r.TableId).Append(' ').Append(r.Schema).Append('.').Append(r.Name).Append(": ");
                    sb.AppendJoin(", ", r.Columns.Select(c => $"{c.Name} {c.TypeName}{(c.IsKey ? " (key)" : "")}"));
                    sb.AppendLine();
                }
            }
            else if (rec.Kind is RecordKind.Data or RecordKind.TableDumpChunk or RecordKind.TableDumpBegin)
            {
                DescribeSections(rec.Payload, relations, rows, sb);
            }
            else if (rec.Kind == RecordKind.TableDumpEnd && rec.Payload.Length >= SectionHeader.Size)
            {
                // One section whose row_count is the table's total (the rows travelled in the chunks).
                SectionHeader end = SectionHeader.Read(rec.Payload);
                relations.TryGetValue(end.TableId, out RelationInfo? rel);
                sb.Append(CultureInfo.InvariantCulture, $"  table {end.TableId}{(rel is null ? "" : $" ({rel.Schema}.{rel.Name})")}  slaves {end.Slaves}  {end.RowCount} rows dumped").AppendLine();
            }
            else if (rec.Kind is RecordKind.DumpStart or RecordKind.DumpEnd && rec.Payload.Length == DumpMarker.Size)
            {
                DumpMarker m = DumpMarker.Read(rec.Payload);
                sb.Append(CultureInfo.InvariantCulture, $"  dump {m.DumpId}  slaves {m.Slaves}  {m.TableCount} tables  snapshot {PgTime.FormatLsn(m.SnapshotLsn)}").AppendLine();
            }
            output.Write(sb.ToString());
        }
        return status;
    }

    private static void LoadRelations(Log.Storage.TxLog log, long from, long to, Dictionary<uint, RelationInfo> relations)
    {
        using TxLogReader reader = log.OpenReader(from);
        while (reader.NextRecno <= to && reader.TryRead(out LogRecord rec) == ReadStatus.Ok)
        {
            if (rec.Kind == RecordKind.Relation)
                foreach (RelationInfo r in RelationInfo.ReadAll(rec.Payload))
                    relations[r.TableId] = r;
        }
    }

    private static void DescribeRecord(in LogRecord rec, StringBuilder sb)
    {
        RecordHeader h = rec.Header;
        sb.Append(CultureInfo.InvariantCulture, $"record {h.Recno}  {KindName(h.Kind)}");
        if (h.Flags != RecordFlags.None)
            sb.Append("  flags ").Append(h.Flags.ToString().ToLowerInvariant());
        sb.Append(CultureInfo.InvariantCulture, $"  epoch {h.Epoch}  lsn {PgTime.FormatLsn(h.CommitLsn)}  xid {h.Xid}");
        sb.Append("  time ").Append(h.CommitTime == 0 ? "-" : PgTime.ToDateTime(h.CommitTime).ToString("yyyy-MM-dd HH:mm:ss.ffffff'+00'", CultureInfo.InvariantCulture));
        sb.Append(CultureInfo.InvariantCulture, $"  payload {h.PayloadLength} B  crc 0x{h.PayloadCrc:x8}  ({rec.Segment} @ {rec.Offset})");
        sb.AppendLine();
    }

    internal static string KindName(RecordKind k) => k switch
    {
        RecordKind.Data => "DATA",
        RecordKind.Relation => "RELATION",
        RecordKind.TableDumpBegin => "TABLE_DUMP_BEGIN",
        RecordKind.TableDumpChunk => "TABLE_DUMP_CHUNK",
        RecordKind.TableDumpEnd => "TABLE_DUMP_END",
        RecordKind.DumpStart => "DUMP_START",
        RecordKind.DumpEnd => "DUMP_END",
        RecordKind.Roles => "ROLES",
        RecordKind.Acl => "ACL",
        RecordKind.Sequences => "SEQUENCES",
        RecordKind.LargeObject => "LARGE_OBJECT",
        RecordKind.Catalog => "CATALOG",
        RecordKind.Empty => "EMPTY",
        RecordKind.Mark => "MARK",
        _ => $"KIND{(byte)k}",
    };

    private static string OpName(ChangeOp op) => op switch
    {
        ChangeOp.Insert => "INSERT",
        ChangeOp.Update => "UPDATE",
        ChangeOp.UpdateKey => "UPDATE_KEY",
        ChangeOp.Delete => "DELETE",
        ChangeOp.Truncate => "TRUNCATE",
        _ => $"OP{(byte)op}",
    };

    private static void DescribeSections(ReadOnlySpan<byte> payload, Dictionary<uint, RelationInfo> relations, bool rows, StringBuilder sb)
    {
        string? bad = PayloadReader.Validate(payload);
        if (bad is not null)
        {
            sb.Append("  malformed payload: ").AppendLine(bad);
            return;
        }
        int index = 0;
        foreach (Section s in PayloadReader.Sections(payload))
        {
            relations.TryGetValue(s.TableId, out RelationInfo? rel);
            sb.Append(CultureInfo.InvariantCulture, $"  section {index++}: table {s.TableId}");
            if (rel is not null)
                sb.Append(" (").Append(rel.Schema).Append('.').Append(rel.Name).Append(')');
            sb.Append(CultureInfo.InvariantCulture, $" {OpName(s.Op)}  slaves {s.Slaves}  {s.RowCount} row{(s.RowCount == 1 ? "" : "s")}  {s.FieldCount} fields");
            sb.AppendLine();
            if (rows)
                DescribeRows(s, rel, sb);
        }
    }

    /// <summary>Which relation column each field of a section's tuples holds (-1: unknown).</summary>
    internal static int[] FieldColumns(in Section s, RelationInfo? rel)
    {
        var cols = new List<int>();
        if (rel is null)
            return Enumerable.Repeat(-1, Math.Max(0, (int)s.FieldCount)).ToArray();
        if (s.Op == ChangeOp.UpdateKey)
            cols.AddRange(rel.KeyColumns);
        if (s.Op == ChangeOp.Delete && s.ColumnMask.IsEmpty)
        {
            cols.AddRange(rel.KeyColumns);
        }
        else
        {
            for (int c = 0; c < rel.Columns.Count; c++)
                if (s.HasColumn(c))
                    cols.Add(c);
        }
        return [.. cols];
    }

    private static void DescribeRows(in Section s, RelationInfo? rel, StringBuilder sb, int maxRows = int.MaxValue)
    {
        int[] fieldCols = FieldColumns(s, rel);
        int keyCount = s.Op == ChangeOp.UpdateKey && rel is not null ? rel.KeyColumns.Count : 0;
        TupleReader t = s.GetTuples();
        int shown = 0;
        while (shown++ < maxRows && t.MoveNextTuple())
        {
            sb.Append("    ");
            if (keyCount > 0)
                sb.Append("old key ");
            sb.Append('(');
            for (int f = 0; f < t.FieldCount; f++)
            {
                if (!t.TryReadField(out ReadOnlySpan<byte> v, out bool isNull))
                    break;
                if (f > 0)
                    sb.Append(f == keyCount ? ") new (" : ", ");
                int col = f < fieldCols.Length ? fieldCols[f] : -1;
                if (rel is not null && col >= 0)
                    sb.Append(rel.Columns[col].Name).Append('=');
                if (isNull)
                {
                    sb.Append("NULL");
                    continue;
                }
                uint type = rel is not null && col >= 0 ? rel.Columns[col].TypeOid : 0;
                int start = sb.Length;
                PgBinaryText.Format(type, v, sb);
                if (sb.Length - start > MaxValueChars)
                {
                    int full = sb.Length - start;
                    sb.Length = start + MaxValueChars;
                    sb.Append(CultureInfo.InvariantCulture, $"…({full} chars)");
                }
            }
            sb.AppendLine(")");
        }
    }
}
