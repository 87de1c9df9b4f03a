using System.Buffers.Binary;
using Mammoth.Log.Records;
using Mammoth.Log.Types;
using Mammoth.Net.Diagnostics;
using Npgsql;

namespace Mammoth.Nodes.Slave;

// DATA records: sections of one table, one operation and one column mask, applied in order.
internal sealed partial class RecordApplier
{
    /// <summary>First OID a user object can have (FirstNormalObjectId): types below it are built in.</summary>
    private const uint FirstNormalObjectId = 16384;

    private static ReadOnlyMemory<byte> CopyHeader { get; } = CopyBinaryFormat.Header.ToArray();
    private static ReadOnlyMemory<byte> CopyTrailer { get; } = CopyBinaryFormat.Trailer.ToArray();

    private async ValueTask ApplyDataAsync(RecordHeader h, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        int offset = 0;
        while (offset < payload.Length)
        {
            Section s = ReadSection(h, payload, ref offset);
            if (!s.Header.Slaves.Contains(_slaveNo))
                continue; // not for this slave (the MCP filters; a record stored as is may still carry others)
            if (!_relations.TryGet(s.Header.TableId, out SlaveRelation? rel))
            {
                throw new ApplyException(h.Recno,
                    $"record {h.Recno}: a section names table id {s.Header.TableId}, which no RELATION record before it described; the stream is incomplete for this slave (a full dump is needed)");
            }
            if (rel.Kind == RelationKind.Requests)
                continue; // the master's node-local commands (MCP REFRESH …): never applied here
            if (rel.Kind == RelationKind.ReplicatedTables)
                _txTouchedReplicatedTables = true;

            if (s.Header.Op == ChangeOp.Truncate)
            {
                await ApplyTruncateAsync(h, rel, payload, offset, ct).ConfigureAwait(false);
                // Consecutive TRUNCATE sections (one TRUNCATE a, b on the master) went out as one statement.
                while (offset < payload.Length && PeekOp(payload, offset) == ChangeOp.Truncate)
                    ReadSection(h, payload, ref offset);
                continue;
            }
            if (s.Header.RowCount == 0)
                continue;

            ApplyPlan plan = await GetPlanAsync(h.Recno, rel, s, ct).ConfigureAwait(false);
            _current = new Origin(h.Recno, rel, plan.Verb, s.Header.RowCount);
            if (plan.IsNoOp)
                continue;
            if (s.Header.FieldCount != plan.FieldCount)
            {
                throw new ApplyException(h.Recno,
                    $"record {h.Recno}: a {plan.Verb} section of {rel.Describe} has {s.Header.FieldCount} fields per row where its RELATION and column mask give {plan.FieldCount}");
            }
            EnsureBeginQueued();
            if (plan.CanCopy && s.Header.RowCount > _options.RowPathMaxRows)
                await ApplyByCopyAsync(plan, s.Rows, s.Header.RowCount, ct).ConfigureAwait(false);
            else
                await ApplyByRowsAsync(h.Recno, rel, plan, s.Rows, s.Header.RowCount, ct).ConfigureAwait(false);
            if (Isolate)
                await FlushBatchAsync(ct).ConfigureAwait(false);
            RowsApplied += s.Header.RowCount;
        }
    }

    /// <summary>A section as offsets into the payload (no span survives an await).</summary>
    private readonly record struct Section(SectionHeader Header, ReadOnlyMemory<byte> Mask, ReadOnlyMemory<byte> Rows);

    private static Section ReadSection(RecordHeader h, ReadOnlyMemory<byte> payload, ref int offset)
    {
        ReadOnlySpan<byte> span = payload.Span;
        if (span.Length - offset < SectionHeader.Size)
            throw new ApplyException(h.Recno, $"record {h.Recno}: a section header is cut off at payload offset {offset}");
        SectionHeader sh = SectionHeader.Read(span[offset..]);
        int maskStart = offset + SectionHeader.Size;
        if (sh.RowsLength < 0 || sh.RowCount < 0 || sh.MaskLength > span.Length - maskStart || sh.RowsLength > span.Length - maskStart - sh.MaskLength)
            throw new ApplyException(h.Recno, $"record {h.Recno}: a section at payload offset {offset} runs past the end of the record");
        if (sh.Op is < ChangeOp.Insert or > ChangeOp.Truncate)
            throw new ApplyException(h.Recno, $"record {h.Recno}: a section at payload offset {offset} has unknown operation {(byte)sh.Op}");
        var section = new Section(sh, payload.Slice(maskStart, sh.MaskLength), payload.Slice(maskStart + sh.MaskLength, sh.RowsLength));
        offset = maskStart + sh.MaskLength + sh.RowsLength;
        return section;
    }

    private static ChangeOp PeekOp(ReadOnlyMemory<byte> payload, int offset) =>
        payload.Length - offset >= SectionHeader.Size ? (ChangeOp)payload.Span[offset + 4] : 0;

    private async ValueTask ApplyTruncateAsync(RecordHeader h, SlaveRelation first, ReadOnlyMemory<byte> payload, int offset, CancellationToken ct)
    {
        var names = new List<string>();
        var described = new List<string>();
        async ValueTask AddAsync(SlaveRelation rel)
        {
            LocalTable target = await ResolveAsync(h.Recno, rel, ct).ConfigureAwait(false);
            if (!names.Contains(target.QualifiedName))
            {
                names.Add(target.QualifiedName);
                described.Add(rel.Describe);
            }
        }
        if (first.Kind != RelationKind.Requests)
            await AddAsync(first).ConfigureAwait(false);
        while (offset < payload.Length && PeekOp(payload, offset) == ChangeOp.Truncate)
        {
            Section next = ReadSection(h, payload, ref offset);
            if (!next.Header.Slaves.Contains(_slaveNo))
                continue;
            if (!_relations.TryGet(next.Header.TableId, out SlaveRelation? rel))
                throw new ApplyException(h.Recno, $"record {h.Recno}: a TRUNCATE names table id {next.Header.TableId}, which no RELATION record before it described");
            if (rel.Kind == RelationKind.Requests)
                continue;
            if (rel.Kind == RelationKind.ReplicatedTables)
                _txTouchedReplicatedTables = true;
            await AddAsync(rel).ConfigureAwait(false);
        }
        if (names.Count == 0)
            return;
        // Exactly the tables the master truncated, in one statement (so foreign keys among them are fine), and
        // no CASCADE: on the slave it would also empty tables that are not replicated.
        EnsureBeginQueued();
        _current = new Origin(h.Recno, first, "TRUNCATE", 0);
        Enqueue(new NpgsqlBatchCommand("TRUNCATE " + string.Join(", ", names)), _current);
        _log.Write(PgLogLevel.Debug1, $"record {h.Recno}: TRUNCATE {string.Join(", ", described)}");
    }

    // ---- the row path: prepared statements, pipelined ----------------------------------------------------

    private async ValueTask ApplyByRowsAsync(long recno, SlaveRelation rel, ApplyPlan plan, ReadOnlyMemory<byte> rows, int rowCount, CancellationToken ct)
    {
        int offset = 0;
        int done = 0;
        while (true)
        {
            offset = EnqueueRows(recno, rel, plan, rows, offset, ref done, rowCount);
            if (offset >= rows.Length)
                break;
            await FlushBatchAsync(ct).ConfigureAwait(false);
        }
        if (done != rowCount)
            throw new ApplyException(recno, $"record {recno}: a {plan.Verb} section of {rel.Describe} says {rowCount} rows and holds {done}");
        if (BatchCount >= _options.MaxBatchCommands)
            await FlushBatchAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Turns rows into pooled row commands until the batch is full; returns where it stopped.</summary>
    private int EnqueueRows(long recno, SlaveRelation rel, ApplyPlan plan, ReadOnlyMemory<byte> rows, int offset, ref int done, int rowCount)
    {
        ReadOnlySpan<byte> span = rows.Span;
        Origin origin = new(recno, rel, plan.Verb, rowCount);
        while (offset < span.Length && BatchCount < _options.MaxBatchCommands)
        {
            if (span.Length - offset < 2)
                throw Malformed(recno, rel, plan, done);
            int fields = BinaryPrimitives.ReadInt16BigEndian(span[offset..]);
            offset += 2;
            if (fields != plan.FieldCount)
            {
                throw new ApplyException(recno,
                    $"record {recno}: row {done + 1} of a {plan.Verb} section of {rel.Describe} has {fields} fields where {plan.FieldCount} were expected");
            }
            RowCommand cmd = plan.Rent(_batchGeneration);
            NpgsqlParameter<RawValue>[] p = cmd.Parameters;
            for (int f = 0; f < fields; f++)
            {
                if (span.Length - offset < 4)
                    throw Malformed(recno, rel, plan, done);
                int length = BinaryPrimitives.ReadInt32BigEndian(span[offset..]);
                offset += 4;
                if (length == -1)
                {
                    p[f].TypedValue = RawValue.Null;
                    continue;
                }
                if (length < 0 || length > span.Length - offset)
                    throw Malformed(recno, rel, plan, done);
                p[f].TypedValue = new RawValue(rows.Slice(offset, length));
                offset += length;
            }
            Enqueue(cmd.Command, origin);
            done++;
        }
        return offset;
    }

    /// <summary>
    /// Test hook: turns the rows of a section into row commands (exactly as the row path does) and then drops
    /// them without executing; returns the bytes this thread allocated meanwhile.
    /// </summary>
    internal long MeasureRowPath(uint tableId, ChangeOp op, ReadOnlyMemory<byte> rows, int rowCount)
    {
        SlaveRelation rel = _relations.TryGet(tableId, out SlaveRelation? r) ? r : throw new InvalidOperationException("unknown table id");
        ApplyPlan plan = rel.FindPlan(op, default) ?? throw new InvalidOperationException("no plan yet: apply a section first");
        long before = GC.GetAllocatedBytesForCurrentThread();
        int done = 0;
        int offset = 0;
        while (offset < rows.Length)
        {
            offset = EnqueueRows(0, rel, plan, rows, offset, ref done, rowCount);
            _batch!.BatchCommands.Clear();
            _batchGeneration++;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (done != rowCount)
            throw new InvalidOperationException($"{done} rows of {rowCount}");
        return allocated;
    }

    private static ApplyException Malformed(long recno, SlaveRelation rel, ApplyPlan plan, int row) =>
        new(recno, $"record {recno}: row {row + 1} of a {plan.Verb} section of {rel.Describe} is malformed (a field runs past the end of the section)");

    // ---- the set path: COPY into a staging table, then one statement ------------------------------------

    private async ValueTask ApplyByCopyAsync(ApplyPlan plan, ReadOnlyMemory<byte> rows, int rowCount, CancellationToken ct)
    {
        if (!plan.StageExists)
        {
            Enqueue(new NpgsqlBatchCommand(plan.CreateStageSql!), _current);
            Enqueue(new NpgsqlBatchCommand(plan.AddOrdinalSql!), _current);
            plan.StageExists = true;
        }
        await FlushBatchAsync(ct).ConfigureAwait(false); // BEGIN and everything before must run before the COPY
        NpgsqlRawCopyStream copy = await Connection.BeginRawBinaryCopyAsync(plan.CopySql!, ct).ConfigureAwait(false);
        await using (copy.ConfigureAwait(false))
        {
            await copy.WriteAsync(CopyHeader, ct).ConfigureAwait(false);
            await copy.WriteAsync(rows, ct).ConfigureAwait(false);
            await copy.WriteAsync(CopyTrailer, ct).ConfigureAwait(false);
        }
        Enqueue(plan.SetCommand, _current);
        plan.StagedSinceTruncate += rowCount;
        if (plan.StagedSinceTruncate >= _options.StageTruncateRows)
        {
            // DELETE leaves dead rows that nothing vacuums in a temp table; TRUNCATE starts it afresh (a file
            // operation, a few ms: worth it only now and then).
            Enqueue(plan.TruncateStageCommand, _current);
            plan.StagedSinceTruncate = 0;
        }
        else
        {
            Enqueue(plan.ClearStageCommand, _current);
        }
    }

    // ---- plans and targets -----------------------------------------------------------------------------

    private async ValueTask<ApplyPlan> GetPlanAsync(long recno, SlaveRelation rel, Section s, CancellationToken ct)
    {
        ApplyPlan? plan = rel.FindPlan(s.Header.Op, s.Mask.Span);
        if (plan is not null)
            return plan;
        LocalTable target = await ResolveAsync(recno, rel, ct).ConfigureAwait(false);
        string stage = $"pg_temp.mammoth_stage_{++_stageCounter}";
        plan = ApplyPlan.Build(rel, target, s.Header.Op, s.Mask.Span, stage, recno);
        await EnsureTypesKnownAsync(rel, target, ct).ConfigureAwait(false);
        rel.AddPlan(plan);
        _log.Write(PgLogLevel.Debug2, $"plan for {plan.Verb} of {rel.Describe}: {plan.RowSql}");
        return plan;
    }

    /// <summary>The slave's table for a master relation, by schema and name.</summary>
    private async ValueTask<LocalTable> ResolveAsync(long recno, SlaveRelation rel, CancellationToken ct)
    {
        if (rel.Target is { } known)
            return known;
        string qualified = rel.Info.QualifiedName;
        await using var cmd = new NpgsqlCommand(
            "SELECT a.attname, a.atttypid, tn.nspname, t.typname, a.attgenerated <> '' " +
            "FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid " +
            "JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.typnamespace " +
            "WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace " +
            "                    WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')) " +
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", Connection);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = rel.Info.Schema });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = rel.Info.Name });
        var columns = new Dictionary<string, LocalColumn>(StringComparer.Ordinal);
        await using (NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                string name = r.GetString(0);
                columns[name] = new LocalColumn(name, r.GetFieldValue<uint>(1), r.GetString(2) + "." + r.GetString(3), r.GetBoolean(4));
            }
        }
        if (columns.Count == 0)
        {
            throw new ApplyException(recno,
                $"record {recno}: table {rel.Describe} does not exist on this slave; create it like the master's (pg_dump --schema-only -t {qualified} on the master) and replication resumes by itself");
        }
        var target = new LocalTable(qualified, columns);
        rel.Target = target;
        return target;
    }

    /// <summary>
    /// Npgsql names parameter types from the types it loaded when the connection opened; a user type created
    /// later (an enum added to the slave's schema) needs a reload before a row statement can use it.
    /// </summary>
    private async ValueTask EnsureTypesKnownAsync(SlaveRelation rel, LocalTable target, CancellationToken ct)
    {
        bool missing = false;
        foreach (ColumnInfo c in rel.Info.Columns)
        {
            if (target.Columns.TryGetValue(c.Name, out LocalColumn lc) && lc.TypeOid >= FirstNormalObjectId && !_knownUserTypes.Contains(lc.TypeOid))
                missing = true;
        }
        if (!missing)
            return;
        await Connection.ReloadTypesAsync(ct).ConfigureAwait(false);
        foreach (LocalColumn lc in target.Columns.Values)
        {
            if (lc.TypeOid >= FirstNormalObjectId)
                _knownUserTypes.Add(lc.TypeOid);
        }
    }
}
