using System.Text;
using Mammoth.Log.Index;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;

namespace Mammoth.Tools.TxLog;

internal static partial class TxLogCommands
{
    private const string LookupUsage = "txlog lookup PATH --table T --key K";

    private static int Lookup(string[] args)
    {
        var cl = CommandLine.Parse("txlog lookup", args, [], ["--table", "--key"]);
        string path = PathArg(cl, LookupUsage);
        string table = cl.Require("--table", "TABLE (a table id or schema.name)");
        string key = cl.Require("--key", "VALUE (comma-separated for a composite key)");
        using Log.Storage.TxLog log = OpenReadOnly(path);

        KeyIndexer? indexer = null;
        try
        {
            try
            {
                indexer = KeyIndexer.Open(log.Path, m => Console.Error.WriteLine($"txlog: {m}"));
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
                // The MCP holds the index: answer from a scan of the log instead.
                Console.Error.WriteLine($"txlog: the key index is in use ({ex.Message.TrimEnd('.')}); scanning the log instead");
            }
            Dictionary<uint, RelationInfo> relations;
            if (indexer is not null)
            {
                indexer.CatchUp(log);
                relations = indexer.Relations.ToDictionary();
            }
            else
            {
                relations = [];
                LoadRelations(log, log.FirstRecno, log.LastRecno, relations);
            }
            RelationInfo rel = ResolveTable(relations, table);
            byte[] keyBytes;
            try
            {
                keyBytes = KeyIndexer.EncodeKey(rel, SplitKey(key));
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message + ".");
            }

            KeyLocation? found = null, truncated = null;
            if (indexer is not null)
            {
                if (indexer.Index.TryGet(rel.TableId, keyBytes, out KeyLocation loc))
                    found = loc;
                if (indexer.Index.TryGet(rel.TableId, [], out KeyLocation t))
                    truncated = t;
                indexer.CheckpointAsync().AsTask().GetAwaiter().GetResult();
            }
            else
            {
                (found, truncated) = Scan(log, rel, keyBytes);
            }
            Console.WriteLine($"table {rel.Schema}.{rel.Name} ({rel.TableId}), key {key}:");
            if (found is not KeyLocation f)
            {
                Console.WriteLine($"  no change of this row is in the log (records {log.FirstRecno}..{log.LastRecno})");
                return 0;
            }
            if (f.Recno < log.FirstRecno)
            {
                Console.WriteLine($"  its latest change was in record {f.Recno}, which has been recycled (the log starts at {log.FirstRecno})");
                return 0;
            }
            PrintChange(log, f, rel, relations);
            if (truncated is KeyLocation tr && tr.Recno > f.Recno)
                Console.WriteLine($"  the table was truncated later, in record {tr.Recno}");
            return 0;
        }
        finally
        {
            indexer?.Dispose();
        }
    }

    private static RelationInfo ResolveTable(Dictionary<uint, RelationInfo> relations, string table)
    {
        if (uint.TryParse(table, out uint id) && relations.TryGetValue(id, out RelationInfo? byId))
            return byId;
        var matches = relations.Values.Where(r => $"{r.Schema}.{r.Name}" == table || r.Name == table).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new UsageException($"the log has no table \"{table}\" (tables: {string.Join(", ", relations.Values.Select(r => $"{r.Schema}.{r.Name}").Order().Take(10))}{(relations.Count > 10 ? ", …" : "")})."),
            _ => throw new UsageException($"\"{table}\" names {matches.Count} tables; write it as schema.name."),
        };
    }

    /// <summary>Splits K on commas outside double quotes (so a text key may hold a comma: "a,b").</summary>
    private static List<string> SplitKey(string key)
    {
        var parts = new List<string>();
        var cur = new StringBuilder();
        bool quoted = false;
        foreach (char c in key)
        {
            if (c == '"')
                quoted = !quoted;
            else if (c == ',' && !quoted)
            {
                parts.Add(cur.ToString());
                cur.Clear();
            }
            else
                cur.Append(c);
        }
        parts.Add(cur.ToString());
        return parts;
    }

    /// <summary>Without the index: the last change of the key by a scan of the whole log.</summary>
    private static (KeyLocation?, KeyLocation?) Scan(Log.Storage.TxLog log, RelationInfo rel, byte[] key)
    {
        string dir = Path.Combine(Path.GetTempPath(), "mammoth-txlog-lookup-" + Environment.ProcessId);
        try
        {
            using var index = KeyIndex.Open(new KeyIndexOptions { Directory = dir, MemorySizeBytes = 32L << 20, IndexBuckets = 1L << 16 });
            using var indexer = new KeyIndexer(index, dir);
            indexer.CatchUp(log);
            KeyLocation? f = index.TryGet(rel.TableId, key, out KeyLocation a) ? a : null;
            KeyLocation? t = index.TryGet(rel.TableId, [], out KeyLocation b) ? b : null;
            return (f, t);
        }
        finally
        {
            try
            {
                Directory.Delete(dir, true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static void PrintChange(Log.Storage.TxLog log, KeyLocation loc, RelationInfo rel, Dictionary<uint, RelationInfo> relations)
    {
        using TxLogReader reader = log.OpenReader(loc.Recno);
        if (reader.TryRead(out LogRecord rec) != ReadStatus.Ok)
        {
            Console.WriteLine($"  record {loc.Recno} cannot be read: {reader.Problem ?? "not available"}");
            return;
        }
        var sb = new StringBuilder();
        sb.Append("  latest change: ");
        DescribeRecord(rec, sb);
        foreach (Section s in PayloadReader.Sections(rec.Payload))
        {
            if (s.TableId != rel.TableId || loc.Offset < s.RowsOffset || loc.Offset >= s.RowsOffset + s.Rows.Length)
                continue;
            sb.Append("  ").Append(OpName(s.Op)).AppendLine(":");
            var one = new Section(s.Header, s.Offset, s.ColumnMask, s.Rows[(int)(loc.Offset - s.RowsOffset)..]);
            DescribeRows(one, relations.GetValueOrDefault(rel.TableId), sb, maxRows: 1);
        }
        Console.Write(sb.ToString());
    }
}
