using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Mammoth.Log.Records;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;

namespace Mammoth.Nodes.Master;

/// <summary>What a commit left behind.</summary>
internal readonly record struct CommitOutcome(bool HadRecords, bool SettingsChanged);

/// <summary>
/// Turns the changes of one committed transaction, as pgoutput streams them, into records: sections of
/// binary-COPY tuples copied byte for byte from <see cref="ReplicationValue.GetStream"/>, split into parts
/// of at most <see cref="MasterAgentOptions.MaxRecordPayload"/>, each preceded by a RELATION record when a
/// relation it uses is new or changed for the MCP.
/// </summary>
/// <remarks>
/// <para><b>Sections.</b> A new section starts whenever the table, the operation, the slave set or the set
/// of present columns changes, so the order of changes is kept exactly. INSERT: all columns, empty mask.
/// UPDATE: the columns pgoutput sent (an unchanged TOASTed value is absent: its mask bit is clear); empty
/// mask when all are present. UPDATE_KEY (key change, or any UPDATE of a REPLICA IDENTITY FULL table): the
/// old key columns first (in column order), then the new row's present columns per the mask; the field
/// count is key columns + present columns. DELETE: the key columns, empty mask. TRUNCATE: one section per
/// table without rows; its field count carries pgoutput's options (bit 0 CASCADE, bit 1 RESTART IDENTITY).</para>
/// <para><b>Record identity.</b> Every record of a transaction carries the commit's LSN (the start of its
/// commit record, known at BEGIN: parts are shipped before COMMIT tells the end LSN), its xid and commit
/// time. seq is 2k for the RELATION record in front of data part k and 2k+1 for data part k, so the data
/// parts keep the same seq whether or not a RELATION record precedes them. That matters for dedup: after a
/// reconnect the relation cache is empty and RELATION records appear where the first session had none,
/// while the MCP drops whatever is at or below the last (commit LSN, seq) it stored. Part boundaries depend
/// only on the stream's bytes, so a re-streamed transaction is cut at the same places.</para>
/// <para><b>Memory.</b> One part in the builder, one row in the scratch buffer; finished parts go to the
/// <see cref="RecordPipeline"/>, which bounds what is not yet durable. Nothing is allocated per row.</para>
/// </remarks>
internal sealed class TransactionEncoder : IDisposable
{
    private readonly uint _epoch;
    private readonly int _maxPayload;
    private readonly RelationCache _relations;
    private readonly SettingsMap _settings;
    private readonly RecordPipeline _pipeline;
    private readonly MasterStatistics _stats;
    private RecordBuilder _data;
    private readonly RecordBuilder _relationRecord = new(4096);
    private readonly List<RelationInfo> _pendingRelations = [];

    private const int RowBufferKeep = 4 * 1024 * 1024;

    // The row being read: int16 field count, then fields (int32 length or -1, bytes).
    private byte[] _row = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _rowLength;
    // Present columns of the row being read (bit i = column i); _partialMask when some are absent.
    private byte[] _mask = new byte[64];
    private bool _partialMask;

    private bool _sectionOpen;
    private uint _sectionTable;
    private ChangeOp _sectionOp;
    private SlaveSet _sectionSlaves;
    private byte[] _sectionMask = new byte[64];
    private int _sectionMaskLength;

    private long _partSerial;   // parts finished in this session
    private uint _part;         // parts finished in this transaction

    private bool _inTransaction;
    private uint _xid;
    private ulong _commitLsn;
    private long _commitTime;
    private long _rows;
    private bool _settingsChanged;

    public TransactionEncoder(uint epoch, MasterAgentOptions options, RelationCache relations, SettingsMap settings,
        RecordPipeline pipeline, MasterStatistics stats)
    {
        _epoch = epoch;
        _maxPayload = options.MaxRecordPayload;
        _relations = relations;
        _settings = settings;
        _pipeline = pipeline;
        _stats = stats;
        _data = NewDataBuilder();
    }

    private RecordBuilder NewDataBuilder() => new(Math.Min(_maxPayload + RecordHeader.Size + 1024, 1024 * 1024));

    /// <summary>Commit LSN of the transaction being read (0 between transactions).</summary>
    public ulong CommitLsn => _inTransaction ? _commitLsn : 0;

    public void Begin(uint xid, ulong commitLsn, long commitTime)
    {
        _xid = xid;
        _commitLsn = commitLsn;
        _commitTime = commitTime;
        _inTransaction = true;
        _part = 0;
        _rows = 0;
        _settingsChanged = false;
        _sectionOpen = false;
        _pendingRelations.Clear();
        _data.Begin(RecordKind.Data);
    }

    // ---- changes ---------------------------------------------------------------------------------------

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask OnInsertAsync(InsertMessage m, CancellationToken ct)
    {
        CapturedRelation rel = _relations.Get(m.Relation.RelationId);
        if (!Route(rel, out SlaveSet slaves))
            return; // Npgsql skips the unread row
        StartRow(rel);
        int fields = await ReadFieldsAsync(m.NewRow, rel, keyOnly: false, ct).ConfigureAwait(false);
        FinishRow(fields);
        if (rel.Role == RelationRole.Settings)
            ApplySettingsRow(rel, ChangeOp.Insert);
        await AppendRowAsync(rel, ChangeOp.Insert, slaves, fields, ct).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask OnUpdateAsync(UpdateMessage m, CancellationToken ct)
    {
        CapturedRelation rel = _relations.Get(m.Relation.RelationId);
        if (!Route(rel, out SlaveSet slaves))
            return;
        // The old key comes first on the wire (pgoutput 'K' or 'O' before 'N'); values are forward-only.
        ReplicationTuple? oldKey = m switch
        {
            IndexUpdateMessage k => k.Key,
            FullUpdateMessage f => f.OldRow,
            _ => null,
        };
        StartRow(rel);
        int keyFields = 0;
        if (oldKey is not null)
        {
            keyFields = await ReadFieldsAsync(oldKey, rel, keyOnly: true, ct).ConfigureAwait(false);
            if (keyFields != rel.KeyCount)
                throw new InvalidOperationException($"UPDATE of {rel.Info} carried {keyFields} old key columns, expected {rel.KeyCount}");
            ResetMask(rel);
        }
        int fields = keyFields + await ReadFieldsAsync(m.NewRow, rel, keyOnly: false, ct).ConfigureAwait(false);
        FinishRow(fields);
        ChangeOp op = oldKey is null ? ChangeOp.Update : ChangeOp.UpdateKey;
        if (rel.Role == RelationRole.Settings)
            ApplySettingsRow(rel, op);
        await AppendRowAsync(rel, op, slaves, fields, ct).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask OnDeleteAsync(DeleteMessage m, CancellationToken ct)
    {
        CapturedRelation rel = _relations.Get(m.Relation.RelationId);
        if (!Route(rel, out SlaveSet slaves))
            return;
        ReplicationTuple key = m switch
        {
            KeyDeleteMessage k => k.Key,
            FullDeleteMessage f => f.OldRow,
            _ => throw new InvalidOperationException($"unexpected {m.GetType().Name}"),
        };
        StartRow(rel);
        int fields = await ReadFieldsAsync(key, rel, keyOnly: true, ct).ConfigureAwait(false);
        FinishRow(fields);
        _partialMask = false; // DELETE sections have an empty mask: the key columns
        if (rel.Role == RelationRole.Settings)
            ApplySettingsRow(rel, ChangeOp.Delete);
        await AppendRowAsync(rel, ChangeOp.Delete, slaves, fields, ct).ConfigureAwait(false);
    }

    public async ValueTask OnTruncateAsync(TruncateMessage m, CancellationToken ct)
    {
        short options = (short)m.Options;
        foreach (RelationMessage r in m.Relations)
        {
            CapturedRelation rel = _relations.Get(r.RelationId);
            if (rel.Role == RelationRole.Settings)
            {
                _settings.Clear();
                _settingsChanged = true;
            }
            if (!Route(rel, out SlaveSet slaves))
                continue;
            _partialMask = false;
            await PrepareSectionAsync(rel, SectionHeader.Size, sameSection: false, ct).ConfigureAwait(false);
            if (_sectionOpen)
                _data.EndSection();
            _data.BeginSection(rel.Oid, ChangeOp.Truncate, slaves, options);
            _data.EndSection();
            _sectionOpen = false;
            rel.PartSerial = _partSerial;
        }
    }

    /// <summary>Ships the last part; the caller then records the commit (after persisting settings if they changed).</summary>
    public async ValueTask<CommitOutcome> CommitAsync(CancellationToken ct)
    {
        bool had = _part > 0;
        if (!_data.IsEmpty)
        {
            await FlushPartAsync(continued: false, ct).ConfigureAwait(false);
            had = true;
        }
        _stats.AddRows(_rows);
        if (had)
            _stats.Shipped(_commitLsn);
        _stats.Transaction(had);
        var outcome = new CommitOutcome(had, _settingsChanged);
        _inTransaction = false;
        if (_row.Length > RowBufferKeep)
        {
            ArrayPool<byte>.Shared.Return(_row);
            _row = ArrayPool<byte>.Shared.Rent(64 * 1024);
        }
        return outcome;
    }

    // ---- routing -----------------------------------------------------------------------------------------

    /// <summary>Whether rows of <paramref name="rel"/> are shipped now, and to which slaves.</summary>
    private bool Route(CapturedRelation rel, out SlaveSet slaves)
    {
        if (rel.RouteVersion != rel.Version || rel.RouteMapVersion != _settings.Version)
        {
            bool include;
            SlaveSet set = SlaveSet.All;
            switch (rel.Role)
            {
                case RelationRole.Settings:
                case RelationRole.AllSlaves:
                    include = true;
                    break;
                case RelationRole.User:
                    include = _settings.TryGet(rel.Info.Schema, rel.Info.Name, out TableSetting s) && s.Enabled && !s.Slaves.IsEmpty;
                    set = include ? s.Slaves : SlaveSet.None;
                    break;
                default:
                    include = false;
                    break;
            }
            rel.RouteInclude = include;
            rel.RouteSlaves = set;
            rel.RouteVersion = rel.Version;
            rel.RouteMapVersion = _settings.Version;
        }
        slaves = rel.RouteSlaves;
        return rel.RouteInclude;
    }

    // ---- rows ----------------------------------------------------------------------------------------------

    private void StartRow(CapturedRelation rel)
    {
        _rowLength = 2;
        ResetMask(rel);
    }

    private void FinishRow(int fields) => BinaryPrimitives.WriteInt16BigEndian(_row, checked((short)fields));

    private void ResetMask(CapturedRelation rel)
    {
        int bytes = rel.MaskBytes;
        if (_mask.Length < bytes)
            _mask = new byte[Math.Max(bytes, _mask.Length * 2)];
        _mask.AsSpan(0, bytes).Fill(0xFF);
        int rest = rel.ColumnCount & 7;
        if (rest != 0)
            _mask[bytes - 1] = (byte)((1 << rest) - 1);
        _partialMask = false;
    }

    private bool IsPresent(int column) => !_partialMask || (_mask[column >> 3] & (1 << (column & 7))) != 0;

    /// <summary>
    /// Copies the values of <paramref name="tuple"/> into the row buffer: all columns, or only the key columns
    /// (an old key tuple lists every column, the non-key ones as NULL placeholders). Returns the fields written.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadFieldsAsync(ReplicationTuple tuple, CapturedRelation rel, bool keyOnly, CancellationToken ct)
    {
        bool[] isKey = rel.IsKey;
        int column = 0;
        int fields = 0;
        await foreach (ReplicationValue v in tuple.WithCancellation(ct).ConfigureAwait(false))
        {
            if (column >= isKey.Length)
                throw new InvalidOperationException($"a row of {rel.Info} has more columns than its RELATION message");
            if (keyOnly && !isKey[column])
            {
                column++;
                continue;
            }
            switch (v.Kind)
            {
                case TupleDataKind.Null:
                    EnsureRow(4);
                    BinaryPrimitives.WriteInt32BigEndian(_row.AsSpan(_rowLength), -1);
                    _rowLength += 4;
                    fields++;
                    break;
                case TupleDataKind.UnchangedToastedValue:
                    if (keyOnly)
                        throw new InvalidOperationException($"the old key of {rel.Info} has an unchanged TOAST value in column {rel.Info.Columns[column].Name}");
                    _mask[column >> 3] &= (byte)~(1 << (column & 7));
                    _partialMask = true;
                    break;
                case TupleDataKind.BinaryValue:
                    int length = v.Length;
                    EnsureRow(4 + length);
                    BinaryPrimitives.WriteInt32BigEndian(_row.AsSpan(_rowLength), length);
                    _rowLength += 4;
                    // ReadAsync in a loop rather than ReadExactlyAsync, which wraps each call in a Task.
                    Stream stream = v.GetStream();
                    for (int got = 0; got < length;)
                    {
                        ValueTask<int> read = stream.ReadAsync(_row.AsMemory(_rowLength + got, length - got), ct);
                        int n = read.IsCompletedSuccessfully ? read.Result : await read.ConfigureAwait(false);
                        if (n <= 0)
                            throw new EndOfStreamException($"the value of column {rel.Info.Columns[column].Name} of {rel.Info} ended early");
                        got += n;
                    }
                    _rowLength += length;
                    fields++;
                    break;
                default:
                    ColumnInfo c = rel.Info.Columns[column];
                    throw new MasterSetupException(
                        $"column {c.Name} of {rel.Info} (type {c.TypeName}) arrived in text form: its type has no binary send function, and MammothFast ships values in binary COPY format; disable replication of that table or change the column's type");
            }
            column++;
        }
        if (column != isKey.Length)
            throw new InvalidOperationException($"a row of {rel.Info} has {column} columns, its RELATION message {isKey.Length}");
        return fields;
    }

    private void EnsureRow(int more)
    {
        if (_row.Length - _rowLength >= more)
            return;
        long wanted = Math.Max((long)_row.Length * 2, (long)_rowLength + more);
        byte[] next = ArrayPool<byte>.Shared.Rent((int)Math.Min(wanted, Array.MaxLength));
        _row.AsSpan(0, _rowLength).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_row);
        _row = next;
    }

    /// <summary>Puts the row buffer into the current section, starting a section or a part as needed.</summary>
    private async ValueTask AppendRowAsync(CapturedRelation rel, ChangeOp op, SlaveSet slaves, int fields, CancellationToken ct)
    {
        int maskLength = _partialMask ? rel.MaskBytes : 0;
        bool same = _sectionOpen && _sectionTable == rel.Oid && _sectionOp == op && _sectionSlaves == slaves
            && _sectionMask.AsSpan(0, _sectionMaskLength).SequenceEqual(_mask.AsSpan(0, maskLength));
        same = await PrepareSectionAsync(rel, _rowLength + (same ? 0 : SectionHeader.Size + maskLength), same, ct).ConfigureAwait(false);
        if (!same)
        {
            if (_sectionOpen)
                _data.EndSection();
            _data.BeginSection(rel.Oid, op, slaves, (short)fields, _mask.AsSpan(0, maskLength));
            _sectionOpen = true;
            _sectionTable = rel.Oid;
            _sectionOp = op;
            _sectionSlaves = slaves;
            if (_sectionMask.Length < maskLength)
                _sectionMask = new byte[Math.Max(maskLength, _sectionMask.Length * 2)];
            _mask.AsSpan(0, maskLength).CopyTo(_sectionMask);
            _sectionMaskLength = maskLength;
        }
        _data.AddTuples(_row.AsSpan(0, _rowLength), 1);
        rel.PartSerial = _partSerial;
        _rows++;
    }

    /// <summary>
    /// Before bytes of <paramref name="rel"/> go into the current part: ends the part when its RELATION changed
    /// while the part holds rows of the old shape, or when <paramref name="bytes"/> more would pass the part
    /// size; queues the RELATION record the part needs. Returns whether the open section can still be used.
    /// </summary>
    private async ValueTask<bool> PrepareSectionAsync(CapturedRelation rel, int bytes, bool sameSection, CancellationToken ct)
    {
        bool needRelation = rel.SentVersion != rel.Version;
        if ((needRelation && rel.PartSerial == _partSerial)
            || (!_data.IsEmpty && (long)_data.PayloadLength + bytes > _maxPayload))
        {
            await FlushPartAsync(continued: true, ct).ConfigureAwait(false);
            sameSection = false;
        }
        if (needRelation)
        {
            _pendingRelations.Add(rel.Info);
            rel.SentVersion = rel.Version;
        }
        return sameSection;
    }

    private async ValueTask FlushPartAsync(bool continued, CancellationToken ct)
    {
        if (_sectionOpen)
        {
            _data.EndSection();
            _sectionOpen = false;
        }
        uint relationSeq = 2 * _part;
        if (_pendingRelations.Count > 0)
        {
            _relationRecord.Begin(RecordKind.Relation);
            RelationInfo.WriteAll(_relationRecord, _pendingRelations);
            _relationRecord.Finish(_epoch, _commitLsn, _xid, _commitTime, recno: 0, seq: relationSeq);
            await _pipeline.AppendAsync(_relationRecord.WrittenMemory, _commitLsn, relationSeq, ct).ConfigureAwait(false);
            _pendingRelations.Clear();
        }
        _data.SetFlags(continued ? RecordFlags.Continued : RecordFlags.None);
        _data.Finish(_epoch, _commitLsn, _xid, _commitTime, recno: 0, seq: relationSeq + 1);
        await _pipeline.AppendAsync(_data.WrittenMemory, _commitLsn, relationSeq + 1, ct).ConfigureAwait(false);
        if (_data.PayloadLength > 2L * _maxPayload)
        {
            // A giant row made the builder grow: give the memory back rather than keep it for the session.
            _data.Dispose();
            _data = NewDataBuilder();
        }
        _data.Begin(RecordKind.Data);
        _part++;
        _partSerial++;
    }

    // ---- settings rows ----------------------------------------------------------------------------------

    /// <summary>
    /// Applies a change of mammoth.replicated_tables (in the row buffer) to the settings map, at once: rows
    /// after it in the same transaction already follow the new settings, as pgoutput itself publishes a
    /// table's changes from the ALTER PUBLICATION that enabled it on, in statement order.
    /// </summary>
    private void ApplySettingsRow(CapturedRelation rel, ChangeOp op)
    {
        var tuple = new TupleReader(_row.AsSpan(0, _rowLength));
        if (!tuple.MoveNextTuple())
            return;
        if (op is ChangeOp.UpdateKey or ChangeOp.Delete)
        {
            string? oldSchema = null, oldTable = null;
            for (int c = 0; c < rel.ColumnCount; c++)
            {
                if (!rel.IsKey[c])
                    continue;
                if (!tuple.TryReadField(out ReadOnlySpan<byte> v, out bool isNull))
                    return;
                if (!isNull && c == rel.SchemaColumn)
                    oldSchema = SettingsMap.DecodeText(v);
                else if (!isNull && c == rel.TableColumn)
                    oldTable = SettingsMap.DecodeText(v);
            }
            if (oldSchema is not null && oldTable is not null)
                _settings.Remove(oldSchema, oldTable);
            _settingsChanged = true;
            if (op == ChangeOp.Delete)
                return;
        }
        string? schema = null, table = null;
        bool slavesPresent = false, enabledPresent = false, enabled = false;
        int[]? slaves = null;
        for (int c = 0; c < rel.ColumnCount; c++)
        {
            if (!IsPresent(c))
                continue;
            if (!tuple.TryReadField(out ReadOnlySpan<byte> v, out bool isNull))
                return;
            if (c == rel.SchemaColumn && !isNull)
                schema = SettingsMap.DecodeText(v);
            else if (c == rel.TableColumn && !isNull)
                table = SettingsMap.DecodeText(v);
            else if (c == rel.SlavesColumn)
            {
                slavesPresent = true;
                slaves = isNull ? null : SettingsMap.DecodeInt4Array(v);
            }
            else if (c == rel.EnabledColumn && !isNull)
            {
                enabledPresent = true;
                enabled = SettingsMap.DecodeBool(v);
            }
        }
        if (schema is null || table is null)
            return;
        _settings.TryGet(schema, table, out TableSetting before);
        var after = new TableSetting(
            slavesPresent ? TableSetting.SlavesFrom(slaves) : before.Slaves,
            enabledPresent ? enabled : before.Enabled);
        _settings.Set(schema, table, after);
        _settingsChanged = true;
    }

    public void Dispose()
    {
        _data.Dispose();
        _relationRecord.Dispose();
        byte[] row = _row;
        _row = [];
        if (row.Length > 0)
            ArrayPool<byte>.Shared.Return(row);
    }
}
