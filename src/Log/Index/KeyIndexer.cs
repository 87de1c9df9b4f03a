using System.Buffers;
using System.Buffers.Binary;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;

namespace Mammoth.Log.Index;

/// <summary>
/// Keeps a <see cref="KeyIndex"/> in step with a <see cref="TxLog"/>: for every row of every DATA and
/// TABLE_DUMP_CHUNK section, (table id, key) → (recno, row offset, op). The key is the key columns as
/// binary-COPY fields (int32 length + bytes each, in key order), exactly as they appear in the rows.
/// </summary>
/// <remarks>
/// Tables are known from RELATION records; the relations seen are saved beside the index at each
/// checkpoint so a restart that resumes after them still knows every table. A TRUNCATE is indexed under
/// the table's empty key, so a lookup can tell that a row's last change predates a truncate.
/// Single writer: one thread calls <see cref="CatchUp"/>/<see cref="IndexRecord"/>.
/// </remarks>
public sealed class KeyIndexer : IDisposable
{
    public const string RelationsFileName = "relations.bin";
    private readonly KeyIndex _index;
    private readonly Dictionary<uint, RelationInfo> _relations = [];
    private readonly Dictionary<(uint, ChangeOp, int, long), int[]> _keyPositions = [];
    private byte[] _key = new byte[256];
    private int[] _starts = new int[64];

    public KeyIndexer(KeyIndex index, string directory)
    {
        _index = index;
        Directory = directory;
        string path = Path.Combine(directory, RelationsFileName);
        if (index.IndexedThroughRecno > 0 && File.Exists(path))
        {
            try
            {
                foreach (RelationInfo r in RelationInfo.ReadAll(File.ReadAllBytes(path)))
                    _relations[r.TableId] = r;
            }
            catch (FormatException)
            {
                // A damaged relations file: the index cannot resume; rebuild it from the log.
                index.Reset();
            }
        }
        else if (index.IndexedThroughRecno > 0)
        {
            index.Reset();
        }
    }

    public string Directory { get; }
    public KeyIndex Index => _index;
    public IReadOnlyDictionary<uint, RelationInfo> Relations => _relations;

    /// <summary>Opens (or rebuilds, when unusable) the index of a txlog folder: <c>txlog_path/index</c>.</summary>
    public static KeyIndexer Open(string txlogPath, Action<string>? report = null, long memoryBytes = 64L << 20)
    {
        string dir = Path.Combine(txlogPath, "index");
        System.IO.Directory.CreateDirectory(dir);
        KeyIndex index = KeyIndex.Open(new KeyIndexOptions { Directory = dir, MemorySizeBytes = memoryBytes, IndexBuckets = 1L << 18 });
        if (index.RecoveryMessage is { } m)
            report?.Invoke(m);
        if (index.Recovery == KeyIndexRecovery.Unusable)
        {
            report?.Invoke("the key index is unusable; rebuilding it from the txlog");
            index.Reset();
        }
        return new KeyIndexer(index, dir);
    }

    /// <summary>Indexes every durable record after <see cref="KeyIndex.IndexedThroughRecno"/>; returns how many.</summary>
    public long CatchUp(TxLog log, long upTo = long.MaxValue)
    {
        long from = Math.Max(_index.IndexedThroughRecno + 1, log.FirstRecno);
        long last = Math.Min(upTo, log.DurableRecno);
        long n = 0;
        using TxLogReader reader = log.OpenReader(from);
        while (reader.NextRecno <= last)
        {
            ReadStatus s = reader.TryRead(out LogRecord rec);
            if (s != ReadStatus.Ok)
                break;
            IndexRecord(rec.Recno, rec.Kind, rec.Payload);
            n++;
            if ((n & 1023) == 0)
                reader.ReleaseRetired();
        }
        if (reader.NextRecno - 1 > _index.IndexedThroughRecno)
            _index.MarkIndexed(reader.NextRecno - 1);
        return n;
    }

    /// <summary>Indexes one record (records must come in recno order).</summary>
    public void IndexRecord(long recno, RecordKind kind, ReadOnlySpan<byte> payload)
    {
        if (kind == RecordKind.Relation)
        {
            foreach (RelationInfo r in RelationInfo.ReadAll(payload))
            {
                _relations[r.TableId] = r;
                ForgetPositions(r.TableId);
            }
            return;
        }
        if (kind is not (RecordKind.Data or RecordKind.TableDumpChunk) || PayloadReader.Validate(payload) is not null)
            return;
        foreach (Section s in PayloadReader.Sections(payload))
        {
            if (s.Op == ChangeOp.Truncate)
            {
                _index.Upsert(s.TableId, [], new KeyLocation(recno, (uint)s.Offset, (byte)ChangeOp.Truncate));
                continue;
            }
            if (!_relations.TryGetValue(s.TableId, out RelationInfo? rel) || rel.KeyColumns.Count == 0)
                continue;
            int[]? newKey = KeyPositions(s, rel);
            if (newKey is null)
                continue;
            int oldKeyCount = s.Op == ChangeOp.UpdateKey ? rel.KeyColumns.Count : 0;
            TupleReader t = s.GetTuples();
            if (_starts.Length < s.FieldCount + 1)
                _starts = new int[Math.Max(s.FieldCount + 1, _starts.Length * 2)];
            Span<int> starts = _starts;
            while (t.MoveNextTuple())
            {
                int tupleOffset = t.TupleOffset;
                // Field start offsets within the rows span, to cut keys out without copying twice.
                int fields = t.FieldCount;
                if (fields + 1 > starts.Length)
                    break;
                ReadOnlySpan<byte> rows = s.Rows;
                int pos = tupleOffset + 2;
                bool ok = true;
                for (int f = 0; f < fields; f++)
                {
                    starts[f] = pos;
                    if (!t.TryReadField(out ReadOnlySpan<byte> v, out bool isNull))
                    {
                        ok = false;
                        break;
                    }
                    pos += 4 + (isNull ? 0 : v.Length);
                }
                starts[fields] = pos;
                if (!ok)
                    break;
                uint offset = (uint)(s.RowsOffset + tupleOffset);
                if (oldKeyCount > 0)
                    Upsert(s.TableId, rows, starts, 0, oldKeyCount, recno, offset, ChangeOp.UpdateKey);
                if (newKey.Length > 0)
                    UpsertAt(s.TableId, rows, starts, newKey, recno, offset, s.Op);
            }
        }
    }

    /// <summary>Positions, in the section's fields, of the key columns (the new key for UPDATE_KEY); null when a key column is absent.</summary>
    private int[]? KeyPositions(in Section s, RelationInfo rel)
    {
        long maskKey = MaskHash(s.ColumnMask);
        var cacheKey = (s.TableId, s.Op, (int)s.FieldCount, maskKey);
        if (_keyPositions.TryGetValue(cacheKey, out int[]? cached))
            return cached.Length == 0 && rel.KeyColumns.Count > 0 ? null : cached;
        var fieldColumns = new List<int>();
        if (s.Op == ChangeOp.UpdateKey)
            fieldColumns.AddRange(Enumerable.Repeat(-1, rel.KeyColumns.Count));
        if (s.Op == ChangeOp.Delete && s.ColumnMask.IsEmpty)
            fieldColumns.AddRange(rel.KeyColumns);
        else
            for (int c = 0; c < rel.Columns.Count; c++)
                if (s.HasColumn(c))
                    fieldColumns.Add(c);
        var positions = new int[rel.KeyColumns.Count];
        for (int k = 0; k < positions.Length; k++)
        {
            int at = fieldColumns.IndexOf(rel.KeyColumns[k], s.Op == ChangeOp.UpdateKey ? rel.KeyColumns.Count : 0);
            if (at < 0)
            {
                _keyPositions[cacheKey] = [];
                return null;
            }
            positions[k] = at;
        }
        _keyPositions[cacheKey] = positions;
        return positions;
    }

    private void ForgetPositions(uint tableId)
    {
        foreach (var k in _keyPositions.Keys.Where(k => k.Item1 == tableId).ToList())
            _keyPositions.Remove(k);
    }

    private static long MaskHash(ReadOnlySpan<byte> mask)
    {
        long h = mask.Length;
        foreach (byte b in mask)
            h = h * 31 + b;
        return h;
    }

    private void Upsert(uint table, ReadOnlySpan<byte> rows, ReadOnlySpan<int> starts, int first, int count, long recno, uint offset, ChangeOp op)
    {
        int len = starts[first + count] - starts[first];
        if (len > KeyIndex.MaxKeyLength)
            return;
        _index.Upsert(table, rows.Slice(starts[first], len), new KeyLocation(recno, offset, (byte)op));
    }

    private void UpsertAt(uint table, ReadOnlySpan<byte> rows, ReadOnlySpan<int> starts, int[] positions, long recno, uint offset, ChangeOp op)
    {
        int len = 0;
        foreach (int p in positions)
            len += starts[p + 1] - starts[p];
        if (len > KeyIndex.MaxKeyLength)
            return;
        if (_key.Length < len)
            _key = new byte[Math.Max(len, _key.Length * 2)];
        int o = 0;
        foreach (int p in positions)
        {
            ReadOnlySpan<byte> field = rows[starts[p]..starts[p + 1]];
            field.CopyTo(_key.AsSpan(o));
            o += field.Length;
        }
        _index.Upsert(table, _key.AsSpan(0, len), new KeyLocation(recno, offset, (byte)op));
    }

    /// <summary>Saves the relations, then checkpoints the index (relations first: the checkpoint may cover them).</summary>
    public async ValueTask CheckpointAsync(CancellationToken ct = default)
    {
        var w = new ArrayBufferWriter<byte>();
        RelationInfo.WriteAll(w, _relations.Values.ToList());
        DurableFiles.WriteAtomically(Path.Combine(Directory, RelationsFileName), w.WrittenSpan);
        await _index.CheckpointAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Builds the index key for <paramref name="keyTexts"/> (one text per key column) of <paramref name="rel"/>.</summary>
    public static byte[] EncodeKey(RelationInfo rel, IReadOnlyList<string> keyTexts)
    {
        if (keyTexts.Count != rel.KeyColumns.Count)
        {
            throw new ArgumentException(
                $"table {rel} has a key of {rel.KeyColumns.Count} column(s) ({string.Join(", ", rel.KeyColumns.Select(k => rel.Columns[k].Name))}); give {rel.KeyColumns.Count} comma-separated value(s)");
        }
        var w = new ArrayBufferWriter<byte>();
        for (int i = 0; i < keyTexts.Count; i++)
        {
            ColumnInfo c = rel.Columns[rel.KeyColumns[i]];
            var value = new ArrayBufferWriter<byte>();
            if (!Types.PgBinaryText.TryEncodeKey(c.TypeOid, c.TypeModifier, keyTexts[i], value, out string? error))
                throw new ArgumentException($"key column {c.Name} ({c.TypeName}): {error}");
            BinaryPrimitives.WriteInt32BigEndian(w.GetSpan(4), value.WrittenCount);
            w.Advance(4);
            w.Write(value.WrittenSpan);
        }
        return w.WrittenSpan.ToArray();
    }

    public void Dispose() => _index.Dispose();
}
