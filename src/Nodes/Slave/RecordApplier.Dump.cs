using Mammoth.Log.Records;
using Mammoth.Net.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace Mammoth.Nodes.Slave;

// Dumps (docs/dumps.md): TABLE_DUMP_BEGIN empties the table, the TABLE_DUMP_CHUNKs go into it by one COPY that
// stays open from the first chunk to the next record of another kind (the END, or anything that cuts the dump
// short) or the next use of the connection, and TABLE_DUMP_END checks the row count. BEGIN and the CHUNKs are Continued, so a table's dump is one local
// transaction that commits with the applied recno at its END (or not at all). DUMP_START/DUMP_END frame a full
// dump, inside which data records are skipped; that state is kept in mammoth.slave_progress with the recno.
internal sealed partial class RecordApplier
{
    private const string DumpSavepoint = "mammoth_table_dump";

    // The table dump being loaded (between its TABLE_DUMP_BEGIN and TABLE_DUMP_END, inside the open transaction).
    private SlaveRelation? _tableDump;
    private bool _tableDumpIgnored;
    private long _tableDumpRecno;
    private long _tableDumpRows;
    private long _tableDumpBytes;

    // Whether the table dump emptied the table by TRUNCATE, and the statements that build its indexes again
    // when they were dropped for the load (null: not dropped).
    private bool _tableDumpTruncated;
    private List<string>? _tableDumpIndexes;

    // The COPY of the table dump, open across its chunk records; nothing else may use the connection meanwhile.
    private NpgsqlRawCopyStream? _dumpCopy;
    private Origin _dumpCopyOrigin;

    // Dump state as of the last applied record, and as of the last commit (what a rollback goes back to).
    private DumpProgress _dump = DumpProgress.Idle;
    private DumpProgress _dumpCommitted = DumpProgress.Idle;

    /// <summary>The dump being loaded (or the last one's summary), as of the last applied record.</summary>
    public DumpProgress Dump => _dump;

    /// <summary>
    /// A recno gap is accepted only before a DUMP_START naming this slave: the MCP streams a slave whose next
    /// record was recycled from the DUMP_START of its full dump, which replaces everything the gap held.
    /// </summary>
    private bool IsDumpStartForThisSlave(RecordHeader h, ReadOnlyMemory<byte> payload)
    {
        if (h.Kind != RecordKind.DumpStart)
            return false;
        try
        {
            return DumpMarker.Read(payload.Span).Slaves.Contains(_slaveNo);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private async ValueTask AcceptGapAsync(RecordHeader h, CancellationToken ct)
    {
        if (_txOpen && _txContinued)
        {
            // The rest of that master transaction was recycled: the dump replaces it, so it is taken back.
            _log.Write(PgLogLevel.Log, $"record {h.Recno}: the open transaction (records {Committed.AppliedRecno + 1}..{_txApplied}) waits for a continuation that is gone; it is rolled back, the full dump replaces it");
            await RollbackAsync().ConfigureAwait(false);
        }
        else if (_txOpen)
        {
            await CommitAsync(ct).ConfigureAwait(false);
        }
        _log.Write(PgLogLevel.Log, $"record {h.Recno}: a full dump for this slave starts after record {_txApplied} (the records between were recycled at the MCP); loading it");
    }

    /// <summary>Before a record that cannot belong to the open table dump: the dump was cut short (a master restart).</summary>
    private void AbandonTableDumpIfOpen(RecordHeader h)
    {
        if (_tableDump is not { } rel || h.Kind is RecordKind.TableDumpChunk or RecordKind.TableDumpEnd or RecordKind.Relation or RecordKind.Empty)
            return;
        _log.Write(PgLogLevel.Warning,
            $"record {h.Recno}: the dump of {rel.Describe} that began at record {_tableDumpRecno} ends without its TABLE_DUMP_END (a {h.Kind} record follows: the master restarted mid-dump?); " +
            "its rows are taken back, the table keeps what it had, and the master dumps it again");
        if (!_tableDumpIgnored)
        {
            EnsureBeginQueued();
            Enqueue(new NpgsqlBatchCommand($"ROLLBACK TO SAVEPOINT {DumpSavepoint}"), default);
            Enqueue(new NpgsqlBatchCommand($"RELEASE SAVEPOINT {DumpSavepoint}"), default);
        }
        _dump = _dump.IsFull
            ? _dump with { Rows = _dump.Rows - _tableDumpRows, Bytes = _dump.Bytes - _tableDumpBytes, CurrentTable = null }
            : DumpProgress.Idle with { LastSummary = _dump.LastSummary };
        _tableDump = null;
        _tableDumpIndexes = null; // the rollback to the savepoint gives them back
    }

    private void SkipDataInFullDump(RecordHeader h)
    {
        _dump = _dump with { SkippedDataRecords = _dump.SkippedDataRecords + 1 };
        _log.Write(PgLogLevel.Debug1, $"record {h.Recno}: skipped a DATA record inside full dump {_dump.FullDumpId} (the dump's snapshot covers it)");
    }

    // ---- TABLE_DUMP_BEGIN / CHUNK / END -----------------------------------------------------------------

    private async ValueTask ApplyTableDumpBeginAsync(RecordHeader h, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        SlaveRelation? rel = null;
        int offset = 0;
        while (offset < payload.Length)
        {
            Section s = ReadSection(h, payload, ref offset);
            if (!s.Header.Slaves.Contains(_slaveNo))
                continue;
            if (s.Header.Op != ChangeOp.Truncate)
                throw new ApplyException(h.Recno, $"record {h.Recno}: a TABLE_DUMP_BEGIN holds a {s.Header.Op} section where a TRUNCATE section was expected");
            if (rel is not null)
                throw new ApplyException(h.Recno, $"record {h.Recno}: a TABLE_DUMP_BEGIN names more than one table");
            rel = Lookup(h, s.Header.TableId, "TABLE_DUMP_BEGIN");
        }
        if (rel is null)
            return; // a dump for other slaves (the MCP sends those as EMPTY records)

        _tableDump = rel;
        _tableDumpRecno = h.Recno;
        _tableDumpRows = 0;
        _tableDumpBytes = 0;
        _tableDumpIgnored = rel.Kind == RelationKind.Requests; // the master's node-local commands: never applied here
        _dump = _dump.IsFull
            ? _dump with { CurrentTable = rel.Describe }
            : new DumpProgress { StartRecno = h.Recno, TablesTotal = 1, StartedAt = DateTime.UtcNow, CurrentTable = rel.Describe, LastSummary = _dump.LastSummary };
        if (_tableDumpIgnored)
            return;
        if (rel.Kind == RelationKind.ReplicatedTables)
            _txTouchedReplicatedTables = true;

        LocalTable target = await ResolveAsync(h.Recno, rel, ct).ConfigureAwait(false);
        rel.DumpCopySql ??= ApplyPlan.BuildDumpCopySql(rel, target, h.Recno); // halts on a missing column before emptying anything
        // TRUNCATE refuses a table that a foreign key of another table refers to, whatever the rows. DELETE does
        // not check that foreign key under session_replication_role = replica (its triggers do not fire), like the
        // rest of the apply: the referring table gets its own dump or its own changes. Asking pg_constraint first
        // costs a catalog query per table; a savepoint and a failed TRUNCATE would cost as much and log an error.
        bool referenced = await IsReferencedByForeignKeyAsync(target, ct).ConfigureAwait(false);
        _tableDumpTruncated = !referenced;
        _tableDumpIndexes = null;
        EnsureBeginQueued();
        _current = new Origin(h.Recno, rel, referenced ? "DELETE (table dump)" : "TRUNCATE (table dump)", 0);
        // A savepoint, so that a dump cut short (no TABLE_DUMP_END, the master restarted) can be taken back alone.
        Enqueue(new NpgsqlBatchCommand($"SAVEPOINT {DumpSavepoint}"), default);
        Enqueue(new NpgsqlBatchCommand((referenced ? "DELETE FROM " : "TRUNCATE ") + target.QualifiedName), _current);
        _log.Write(PgLogLevel.Debug1, $"record {h.Recno}: dump of {rel.Describe} begins ({(referenced ? "DELETE: a foreign key refers to it" : "TRUNCATE")})");
    }

    private async ValueTask ApplyTableDumpChunkAsync(RecordHeader h, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        // Check every section first (no COPY is cut short by a malformed record), then one COPY for the record.
        SlaveRelation? rel = null;
        int rows = 0;
        long bytes = 0;
        int offset = 0;
        while (offset < payload.Length)
        {
            Section s = ReadSection(h, payload, ref offset);
            if (!s.Header.Slaves.Contains(_slaveNo))
                continue;
            rel = CheckDumpSection(h, s, "TABLE_DUMP_CHUNK");
            if (s.Header.MaskLength != 0 || s.Header.FieldCount != rel.Info.Columns.Count)
            {
                throw new ApplyException(h.Recno,
                    $"record {h.Recno}: a TABLE_DUMP_CHUNK of {rel.Describe} has {s.Header.FieldCount} fields per row (mask of {s.Header.MaskLength} bytes) where its RELATION has {rel.Info.Columns.Count} columns");
            }
            rows += s.Header.RowCount;
            bytes += s.Header.RowsLength;
        }
        if (rel is null || rows == 0)
            return;

        if (!_tableDumpIgnored)
        {
            if (_dumpCopy is null)
            {
                string sql = rel.DumpCopySql ??= ApplyPlan.BuildDumpCopySql(rel, await ResolveAsync(h.Recno, rel, ct).ConfigureAwait(false), h.Recno);
                EnsureBeginQueued();
                if (_tableDumpRows == 0 && _tableDumpTruncated && bytes >= _options.DumpIndexRebuildBytes)
                    await DropIndexesForLoadAsync(h, rel, ct).ConfigureAwait(false);
                await FlushBatchAsync(ct).ConfigureAwait(false); // BEGIN, the TRUNCATE and everything before run before the COPY
                _dumpCopyOrigin = new Origin(_tableDumpRecno, rel, "COPY (table dump)", 0);
                _current = _dumpCopyOrigin;
                _dumpCopy = await Connection.BeginRawBinaryCopyAsync(sql, ct).ConfigureAwait(false);
                await _dumpCopy.WriteAsync(CopyHeader, ct).ConfigureAwait(false);
            }
            _dumpCopyOrigin = _dumpCopyOrigin with { Rows = _dumpCopyOrigin.Rows + rows };
            _current = _dumpCopyOrigin;
            offset = 0;
            while (offset < payload.Length)
            {
                Section s = ReadSection(h, payload, ref offset);
                if (s.Header.Slaves.Contains(_slaveNo) && s.Header.RowCount > 0)
                    await _dumpCopy.WriteAsync(s.Rows, ct).ConfigureAwait(false);
            }
            RowsApplied += rows;
        }
        _tableDumpRows += rows;
        _tableDumpBytes += bytes;
        _dump = _dump with { Rows = _dump.Rows + rows, Bytes = _dump.Bytes + bytes };
    }

    private void ApplyTableDumpEnd(RecordHeader h, ReadOnlyMemory<byte> payload)
    {
        int offset = 0;
        while (offset < payload.Length)
        {
            Section s = ReadSection(h, payload, ref offset);
            if (!s.Header.Slaves.Contains(_slaveNo))
                continue;
            SlaveRelation rel = CheckDumpSection(h, s, "TABLE_DUMP_END");
            if (_tableDumpRows != s.Header.RowCount)
            {
                throw new ApplyException(h.Recno,
                    $"record {h.Recno}: the dump of {rel.Describe} (records {_tableDumpRecno}..{h.Recno}) loaded {_tableDumpRows} rows, but its TABLE_DUMP_END says the master dumped {s.Header.RowCount}; " +
                    "the dump is not applied (the records are damaged or incomplete)");
            }
            if (!_tableDumpIgnored)
            {
                EnsureBeginQueued();
                if (_tableDumpIndexes is { } rebuild)
                {
                    _current = new Origin(_tableDumpRecno, rel, "index rebuild (table dump)", (int)Math.Min(_tableDumpRows, int.MaxValue));
                    foreach (string sql in rebuild)
                        Enqueue(new NpgsqlBatchCommand(sql), _current);
                    _log.Write(PgLogLevel.Debug1, $"record {h.Recno}: {rebuild.Count} statement(s) build the indexes of {rel.Describe} again");
                    _tableDumpIndexes = null;
                }
                Enqueue(new NpgsqlBatchCommand($"RELEASE SAVEPOINT {DumpSavepoint}"), default);
            }
            _tableDump = null;
            _log.Write(PgLogLevel.Log, $"record {h.Recno}: loaded the dump of {rel.Describe}: {_tableDumpRows} row{(_tableDumpRows == 1 ? "" : "s")} ({DumpProgress.FormatBytes(_tableDumpBytes)})");
            if (_dump.IsFull)
            {
                _dump = _dump with { TablesDone = _dump.TablesDone + 1, CurrentTable = null };
            }
            else
            {
                DumpProgress done = _dump with { TablesDone = 1 };
                _dump = DumpProgress.Idle with { LastSummary = done.Summarize(h.Recno, DateTime.UtcNow, rel.Describe) };
            }
            EnqueueDumpState();
            return;
        }
    }

    /// <summary>A CHUNK or END section: of the table whose dump is open, INSERT.</summary>
    private SlaveRelation CheckDumpSection(RecordHeader h, Section s, string kind)
    {
        SlaveRelation rel = Lookup(h, s.Header.TableId, kind);
        if (_tableDump is null || _tableDump.Info.TableId != rel.Info.TableId)
        {
            throw new ApplyException(h.Recno,
                $"record {h.Recno}: a {kind} of {rel.Describe} without its TABLE_DUMP_BEGIN{(_tableDump is { } open ? $" (the dump of {open.Describe} is open)" : "")}; the stream is incomplete for this slave");
        }
        if (s.Header.Op != ChangeOp.Insert)
            throw new ApplyException(h.Recno, $"record {h.Recno}: a {kind} of {rel.Describe} holds a {s.Header.Op} section where an INSERT section was expected");
        return rel;
    }

    private SlaveRelation Lookup(RecordHeader h, uint tableId, string kind) =>
        _relations.TryGet(tableId, out SlaveRelation? rel) ? rel
        : throw new ApplyException(h.Recno, $"record {h.Recno}: a {kind} names table id {tableId}, which no RELATION record before it described; the stream is incomplete for this slave (a full dump is needed)");

    private async ValueTask<bool> IsReferencedByForeignKeyAsync(LocalTable target, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint WHERE contype = 'f' AND confrelid = $1::regclass AND conrelid <> confrelid)", Connection);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = target.QualifiedName });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is true;
    }

    // ---- DUMP_START / DUMP_END --------------------------------------------------------------------------

    private static DumpMarker ReadMarker(RecordHeader h, ReadOnlySpan<byte> payload)
    {
        try
        {
            return DumpMarker.Read(payload);
        }
        catch (FormatException ex)
        {
            throw new ApplyException(h.Recno, $"record {h.Recno}: the {h.Kind} record is malformed: {ex.Message}");
        }
    }

    private void ApplyDumpStart(RecordHeader h, ReadOnlySpan<byte> payload)
    {
        DumpMarker m = ReadMarker(h, payload);
        if (!m.Slaves.Contains(_slaveNo))
            return; // a full dump of other slaves
        if (_dump.IsFull)
            _log.Write(PgLogLevel.Log, $"record {h.Recno}: full dump {m.DumpId} starts again from the beginning, replacing full dump {_dump.FullDumpId} that began at record {_dump.StartRecno}");
        _dump = new DumpProgress
        {
            FullDumpId = m.DumpId,
            StartRecno = h.Recno,
            TablesTotal = m.TableCount,
            StartedAt = DateTime.UtcNow,
            LastSummary = _dump.LastSummary,
        };
        EnqueueDumpState();
        _log.Write(PgLogLevel.Log,
            $"record {h.Recno}: full dump {m.DumpId} starts ({m.TableCount} table{(m.TableCount == 1 ? "" : "s")}, master snapshot at {m.SnapshotLsn >> 32:X}/{m.SnapshotLsn & 0xFFFFFFFF:X}); until its DUMP_END only dump records are applied");
    }

    private void ApplyDumpEnd(RecordHeader h, ReadOnlySpan<byte> payload)
    {
        DumpMarker m = ReadMarker(h, payload);
        if (!m.Slaves.Contains(_slaveNo))
            return;
        if (!_dump.IsFull)
        {
            _log.Write(PgLogLevel.Warning, $"record {h.Recno}: a DUMP_END of full dump {m.DumpId} without its DUMP_START; ignored");
            return;
        }
        if (m.DumpId != _dump.FullDumpId)
            _log.Write(PgLogLevel.Warning, $"record {h.Recno}: a DUMP_END of full dump {m.DumpId} ends full dump {_dump.FullDumpId} (begun at record {_dump.StartRecno})");
        string summary = _dump.Summarize(h.Recno, DateTime.UtcNow);
        long skipped = _dump.SkippedDataRecords;
        _dump = DumpProgress.Idle with { LastSummary = summary };
        EnqueueDumpState();
        _log.Write(PgLogLevel.Log, $"record {h.Recno}: {summary}; done, data records are applied again ({skipped} DATA record{(skipped == 1 ? " was" : "s were")} skipped inside it)");
    }

    // ---- the stored state -------------------------------------------------------------------------------

    /// <summary>Queues the move of mammoth.slave_progress's dump columns to <see cref="_dump"/> (committed with the recno).</summary>
    private void EnqueueDumpState()
    {
        DumpProgress d = _dump;
        bool full = d.IsFull;
        var cmd = new NpgsqlBatchCommand(
            "UPDATE mammoth.slave_progress SET dump_id = $1, dump_start_recno = $2, dump_tables = $3, dump_tables_done = $4, " +
            "dump_rows = $5, dump_bytes = $6, dump_started_at = $7, last_dump = $8");
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = full ? (long)d.FullDumpId!.Value : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = full ? d.StartRecno : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = full ? d.TablesTotal : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = full ? d.TablesDone : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = full ? d.Rows : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = full ? d.Bytes : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = full && d.StartedAt is { } s ? s : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)d.LastSummary ?? DBNull.Value });
        EnsureBeginQueued();
        Enqueue(cmd, default);
    }

    /// <summary>The dump state stored with the applied recno (columns 8.. of the progress query).</summary>
    private static DumpProgress ReadDumpState(NpgsqlDataReader r, int first)
    {
        string? last = r.IsDBNull(first + 7) ? null : r.GetString(first + 7);
        if (r.IsDBNull(first))
            return DumpProgress.Idle with { LastSummary = last };
        return new DumpProgress
        {
            FullDumpId = (uint)r.GetInt64(first),
            StartRecno = r.IsDBNull(first + 1) ? 0 : r.GetInt64(first + 1),
            TablesTotal = r.IsDBNull(first + 2) ? 0 : r.GetInt32(first + 2),
            TablesDone = r.IsDBNull(first + 3) ? 0 : r.GetInt32(first + 3),
            Rows = r.IsDBNull(first + 4) ? 0 : r.GetInt64(first + 4),
            Bytes = r.IsDBNull(first + 5) ? 0 : r.GetInt64(first + 5),
            StartedAt = r.IsDBNull(first + 6) ? null : r.GetFieldValue<DateTime>(first + 6),
            LastSummary = last,
        };
    }

    /// <summary>After a rollback or a lost connection: the dump state goes back to the last commit's.</summary>
    /// <summary>
    /// For a large load into a table just emptied by TRUNCATE: drops its indexes (and the constraints they back)
    /// before the COPY and keeps the statements that build them again at TABLE_DUMP_END — sorting the rows
    /// once builds a btree much faster than inserting them one by one (bench/README.md, "Dumps"). All in the
    /// dump's transaction: a dump cut short, a failure or a crash leaves the indexes as they were. Tables where
    /// this could change more than the indexes are loaded with their indexes: a partition or partitioned
    /// table, an index in another tablespace or not valid, a foreign key referring to the table (itself
    /// included: it depends on the key's index).
    /// </summary>
    private async ValueTask DropIndexesForLoadAsync(RecordHeader h, SlaveRelation rel, CancellationToken ct)
    {
        await FlushBatchAsync(ct).ConfigureAwait(false); // the TRUNCATE first
        LocalTable target = await ResolveAsync(h.Recno, rel, ct).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(IndexPlanSql, Connection);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = target.QualifiedName });
        var drops = new List<string>();
        var rebuild = new List<string>();
        await using (NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                drops.Add(r.GetString(0));
                rebuild.Add(r.GetString(1));
                for (int i = 2; i < 5; i++)
                {
                    if (!r.IsDBNull(i))
                        rebuild.Add(r.GetString(i));
                }
            }
        }
        if (drops.Count == 0)
            return;
        _current = new Origin(_tableDumpRecno, rel, "index drop (table dump)", 0);
        foreach (string sql in drops)
            Enqueue(new NpgsqlBatchCommand(sql), _current);
        _tableDumpIndexes = rebuild;
        _log.Write(PgLogLevel.Debug1, $"record {h.Recno}: {drops.Count} index(es) of {rel.Describe} dropped for the load; built again at its end");
    }

    /// <summary>
    /// Per index of the table: the statement that drops it, the one that builds it again, and those that give
    /// back its replica identity, clustering and comment; no row at all when the table is not eligible.
    /// </summary>
    private const string IndexPlanSql = """
        WITH t AS (SELECT $1::regclass AS oid)
        SELECT CASE WHEN con.oid IS NULL THEN format('DROP INDEX %s', i.indexrelid::regclass)
                    ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, con.conname) END,
               CASE WHEN con.oid IS NULL THEN pg_catalog.pg_get_indexdef(i.indexrelid)
                    ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', i.indrelid::regclass, con.conname, pg_catalog.pg_get_constraintdef(con.oid)) END,
               CASE WHEN i.indisreplident THEN format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', i.indrelid::regclass, ic.relname) END,
               CASE WHEN i.indisclustered THEN format('ALTER TABLE %s CLUSTER ON %I', i.indrelid::regclass, ic.relname) END,
               CASE WHEN con.oid IS NULL
                    THEN (SELECT format('COMMENT ON INDEX %s IS %L', i.indexrelid::regclass, d.description) FROM pg_catalog.pg_description AS d
                           WHERE d.objoid = i.indexrelid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0)
                    ELSE (SELECT format('COMMENT ON CONSTRAINT %I ON %s IS %L', con.conname, i.indrelid::regclass, d.description) FROM pg_catalog.pg_description AS d
                           WHERE d.objoid = con.oid AND d.classoid = 'pg_catalog.pg_constraint'::regclass) END
          FROM t
          JOIN pg_catalog.pg_class AS tc ON tc.oid = t.oid
          JOIN pg_catalog.pg_index AS i ON i.indrelid = t.oid
          JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
          LEFT JOIN pg_catalog.pg_constraint AS con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
         WHERE tc.relkind = 'r' AND NOT tc.relispartition
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_index AS j JOIN pg_catalog.pg_class AS jc ON jc.oid = j.indexrelid
                            WHERE j.indrelid = t.oid AND (jc.reltablespace <> 0 OR NOT j.indisvalid OR NOT j.indisready))
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint AS f WHERE f.contype = 'f' AND f.confrelid = t.oid)
         ORDER BY con.oid IS NULL, i.indexrelid
        """;

    /// <summary>
    /// Ends the table dump's open COPY with the binary trailer: its rows are in, and the connection is free. A
    /// row PostgreSQL refused shows here, pinned to the dump (records from its TABLE_DUMP_BEGIN on).
    /// </summary>
    private async ValueTask FinishDumpCopyAsync(CancellationToken ct)
    {
        if (_dumpCopy is not { } copy)
            return;
        _dumpCopy = null;
        _current = _dumpCopyOrigin;
        try
        {
            await copy.WriteAsync(CopyTrailer, ct).ConfigureAwait(false);
        }
        finally
        {
            await copy.DisposeAsync().ConfigureAwait(false); // sends CopyDone and reads the result
        }
    }

    /// <summary>Abandons an open COPY (the transaction is being rolled back).</summary>
    private async ValueTask AbortDumpCopyAsync()
    {
        if (_dumpCopy is not { } copy)
            return;
        _dumpCopy = null;
        try
        {
            await copy.CancelAsync().ConfigureAwait(false);
            await copy.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or OperationCanceledException)
        {
            _log.Write(PgLogLevel.Debug1, $"abandoning the table dump's COPY: {ex.Message}");
        }
    }

    private void ForgetUncommittedDumpState()
    {
        _tableDump = null;
        _tableDumpIndexes = null;
        _dump = _dumpCommitted;
    }
}
