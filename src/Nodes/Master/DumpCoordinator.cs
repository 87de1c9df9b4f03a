using System.Buffers;
using System.Buffers.Binary;
using Mammoth.Log.Records;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using NpgsqlTypes;

namespace Mammoth.Nodes.Master;

/// <summary>
/// Takes table dumps and full dumps at a snapshot ordered against the change stream and ships them through
/// the capture's pipeline, in the one place of the stream where they are exact (docs/dumps.md).
/// </summary>
/// <remarks>
/// <para>Two sides. <see cref="RunAsync"/> (its own task) collects requests — rows of
/// <c>mammoth.table_dumps</c> and DUMP_REQUESTs from the MCP — and prepares a dump: it arms the gate, creates
/// a temporary slot with an exported snapshot (consistent point L), imports the snapshot on its own
/// connection, and commits a logical message so that a transaction committing after L reaches the stream.
/// The capture loop calls <see cref="BeforeTransactionAsync"/> at every BEGIN while the gate is armed: it
/// waits while L is being determined, and at the first transaction committing at or after L it ships the
/// dump (COPY under the snapshot) before that transaction.</para>
/// <para>Every transaction the capture shipped before arming committed before L (it was decoded, hence
/// committed, before the slot was asked for), and while armed nothing at or after L is shipped before the
/// dump: so the slave's truncate-and-load sees exactly the changes that precede the dump in the txlog.</para>
/// </remarks>
internal sealed class DumpCoordinator(
    string snapshotConnectionString, string replicationConnectionString, string commandConnectionString,
    uint epoch, MasterLink link, MasterAgentOptions options, MammothLog log)
{
    private const int ChunkPayload = 1024 * 1024;

    /// <remarks>Shipping: the capture loop is copying the dump from the snapshot connection, which it then owns.</remarks>
    private enum Phase { Idle, Preparing, Ready, Shipping }

    private sealed class Job
    {
        public required List<(long Id, string Schema, string Table, SlaveSet Slaves)> TableRequests { get; init; }
        /// <summary>Slaves that get a full dump (DUMP_START … DUMP_END); empty for table dumps only.</summary>
        public SlaveSet FullTargets { get; init; } = SlaveSet.None;
        public bool IsFull => !FullTargets.IsEmpty;
        public ulong SnapshotLsn { get; set; }
        /// <summary>Connections that imported the dump's snapshot (the first also reads the catalog); one reader each.</summary>
        public List<NpgsqlConnection> Snapshots { get; } = [];
        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Identity of the dump's last record, or null when nothing was shipped (every table disabled meanwhile).</summary>
        public TaskCompletionSource<(ulong Lsn, uint Seq)?> Shipped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private int _phase; // Phase, read by the capture loop at every BEGIN
    private Job? _job;
    private uint _dumpIds = (uint)Environment.TickCount;
    private readonly byte[] _marker = new byte[DumpMarker.Size];

    /// <summary>Whether the capture loop must call <see cref="BeforeTransactionAsync"/> (cheap, read at every BEGIN).</summary>
    public bool Armed => Volatile.Read(ref _phase) != (int)Phase.Idle;

    private readonly AsyncSignal _wake = new();

    /// <summary>Look at mammoth.table_dumps now (an enable queued a dump and said so by NOTIFY).</summary>
    public void Wake() => _wake.Set();

    // ---- the capture side -------------------------------------------------------------------------------

    /// <summary>
    /// Called by the capture loop at BEGIN of a transaction committing at <paramref name="commitLsn"/>, before
    /// anything of it is shipped, while <see cref="Armed"/>: ships the pending dump first when that
    /// transaction is not in the dump's snapshot.
    /// </summary>
    public async ValueTask BeforeTransactionAsync(ulong commitLsn, RecordPipeline pipeline, SettingsMap settings, CancellationToken ct)
    {
        Job? job = Volatile.Read(ref _job);
        if (job is null)
            return;
        if (Volatile.Read(ref _phase) == (int)Phase.Preparing)
            await job.Ready.Task.WaitAsync(ct).ConfigureAwait(false);
        if (Volatile.Read(ref _phase) != (int)Phase.Ready || commitLsn < job.SnapshotLsn)
            return;
        // Ready → Shipping, unless the job ended meanwhile (its session is ending): it closes the snapshot then.
        if (Interlocked.CompareExchange(ref _phase, (int)Phase.Shipping, (int)Phase.Ready) != (int)Phase.Ready)
            return;
        (ulong Lsn, uint Seq)? last;
        try
        {
            last = await ShipAsync(job, pipeline, settings, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Volatile.Write(ref _phase, (int)Phase.Idle); // done with the snapshot connection
            job.Shipped.TrySetException(ex);
            throw;
        }
        Volatile.Write(ref _phase, (int)Phase.Idle);
        job.Shipped.TrySetResult(last);
    }

    private async Task<(ulong Lsn, uint Seq)?> ShipAsync(Job job, RecordPipeline pipeline, SettingsMap settings, CancellationToken ct)
    {
        NpgsqlConnection snap = job.Snapshots[0];
        ulong lsn = job.SnapshotLsn - 1; // sorts after every record shipped before, before the next transaction
        uint seq = 0;
        long time = PgTime.FromDateTime(DateTime.UtcNow);
        var plan = Plan(job, settings);
        uint dumpId = ++_dumpIds;
        using var builder = new RecordBuilder(ChunkPayload + 512 * 1024);
        var started = System.Diagnostics.Stopwatch.StartNew();
        long totalRows = 0, totalBytes = 0;

        // Every table's columns and pieces first (on the first connection), then the readers start.
        var tables = new List<(RelationInfo Rel, SlaveSet Slaves, List<DumpPiece> Pieces)>();
        foreach ((string schema, string table, SlaveSet slaves) in plan)
        {
            RelationInfo? rel = await LoadRelationAsync(snap, schema, table, ct).ConfigureAwait(false);
            if (rel is null)
            {
                log.Write(PgLogLevel.Warning, $"table {schema}.{table} is enabled but does not exist at the dump's snapshot; skipped");
                continue;
            }
            tables.Add((rel, slaves, await PiecesAsync(snap, rel, job.Snapshots.Count, ct).ConfigureAwait(false)));
        }
        log.Write(PgLogLevel.Log, (job.IsFull
            ? $"full dump {dumpId} for slaves {job.FullTargets} at snapshot {PgTime.FormatLsn(job.SnapshotLsn)}: {tables.Count} tables"
            : $"dumping {string.Join(", ", tables.Select(t => $"{t.Rel.Schema}.{t.Rel.Name} to slaves {t.Slaves}"))} at snapshot {PgTime.FormatLsn(job.SnapshotLsn)}")
            + $", {tables.Sum(t => t.Pieces.Count)} COPYs on {Math.Min(job.Snapshots.Count, Math.Max(1, tables.Sum(t => t.Pieces.Count)))} connections");

        if (job.IsFull)
            await ShipMarkerAsync(RecordKind.DumpStart, new DumpMarker(dumpId, job.FullTargets, tables.Count, job.SnapshotLsn)).ConfigureAwait(false);
        await using (var reader = new DumpReader(job.Snapshots, [.. tables.SelectMany(t => t.Pieces)], ChunkPayload, ct))
        {
            foreach ((RelationInfo rel, SlaveSet slaves, List<DumpPiece> pieces) in tables)
            {
                builder.Begin(RecordKind.Relation);
                RelationInfo.WriteAll(builder, [rel]);
                await AppendAsync(builder).ConfigureAwait(false);

                builder.Begin(RecordKind.TableDumpBegin, RecordFlags.Continued);
                builder.BeginSection(rel.TableId, ChangeOp.Truncate, slaves, 0);
                builder.EndSection();
                await AppendAsync(builder).ConfigureAwait(false);

                long rows = 0, bytes = 0;
                foreach (DumpPiece piece in pieces)
                {
                    await foreach (DumpChunk chunk in piece.Chunks.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                    {
                        try
                        {
                            builder.Begin(RecordKind.TableDumpChunk, RecordFlags.Continued);
                            builder.BeginSection(rel.TableId, ChangeOp.Insert, slaves, (short)rel.Columns.Count);
                            builder.AddTuples(chunk.Tuples, chunk.Rows);
                            builder.EndSection();
                            rows += chunk.Rows;
                            bytes += chunk.Length;
                        }
                        finally
                        {
                            chunk.Return();
                        }
                        await AppendAsync(builder).ConfigureAwait(false);
                    }
                }
                totalRows += rows;
                totalBytes += bytes;

                builder.Begin(RecordKind.TableDumpEnd);
                builder.BeginSection(rel.TableId, ChangeOp.Insert, slaves, (short)rel.Columns.Count);
                builder.CountRows(checked((int)rows)); // the END section's row_count is the table's total; its rows went in the chunks
                builder.EndSection();
                await AppendAsync(builder).ConfigureAwait(false);
                log.Write(PgLogLevel.Log, $"dumped {rel.Schema}.{rel.Name}: {rows} rows, {bytes / 1024} KiB" + (pieces.Count > 1 ? $" in {pieces.Count} block ranges" : ""));
            }
        }
        if (job.IsFull)
            await ShipMarkerAsync(RecordKind.DumpEnd, new DumpMarker(dumpId, job.FullTargets, tables.Count, job.SnapshotLsn)).ConfigureAwait(false);
        await pipeline.FlushAsync(ct).ConfigureAwait(false);
        double s = Math.Max(started.Elapsed.TotalSeconds, 1e-6);
        log.Write(PgLogLevel.Log, $"dump {dumpId} shipped: {tables.Count} tables, {totalRows} rows, {totalBytes / 1024 / 1024} MiB in {s:F1} s ({totalRows / s:F0} rows/s)");
        return seq == 0 ? null : (lsn, seq - 1);

        async ValueTask ShipMarkerAsync(RecordKind kind, DumpMarker m)
        {
            builder.Begin(kind);
            m.Write(_marker);
            builder.Write(_marker);
            await AppendAsync(builder).ConfigureAwait(false);
        }

        async ValueTask AppendAsync(RecordBuilder b)
        {
            b.Finish(epoch, lsn, 0, time, 0, seq);
            await pipeline.AppendAsync(b.WrittenMemory, lsn, seq, ct).ConfigureAwait(false);
            seq++;
        }
    }

    /// <summary>Which tables go to which slaves, from the settings as of the dump's point in the stream.</summary>
    private List<(string Schema, string Table, SlaveSet Slaves)> Plan(Job job, SettingsMap settings)
    {
        var plan = new List<(string, string, SlaveSet)>();
        if (job.IsFull)
        {
            foreach (var ((schema, table), setting) in settings.Entries.OrderBy(e => e.Key.Schema, StringComparer.Ordinal).ThenBy(e => e.Key.Table, StringComparer.Ordinal))
            {
                SlaveSet slaves = Intersect(setting.Slaves, job.FullTargets);
                if (setting.Enabled && !slaves.IsEmpty)
                    plan.Add((schema, table, slaves));
            }
            return plan;
        }
        foreach (var group in job.TableRequests.GroupBy(r => (r.Schema, r.Table)))
        {
            if (!settings.TryGet(group.Key.Schema, group.Key.Table, out TableSetting setting) || !setting.Enabled)
            {
                log.Write(PgLogLevel.Log, $"table {group.Key.Schema}.{group.Key.Table} is no longer enabled; its dump is dropped");
                continue;
            }
            SlaveSet wanted = SlaveSet.None;
            foreach (var r in group)
                wanted = Union(wanted, r.Slaves);
            SlaveSet slaves = Intersect(setting.Slaves, wanted);
            if (!slaves.IsEmpty)
                plan.Add((group.Key.Schema, group.Key.Table, slaves));
        }
        return plan;
    }

    internal static SlaveSet Intersect(SlaveSet a, SlaveSet b) =>
        a.IsAll ? b : b.IsAll ? a : new SlaveSet(a.Bits & b.Bits, false);

    internal static SlaveSet Union(SlaveSet a, SlaveSet b) =>
        a.IsAll || b.IsAll ? SlaveSet.All : new SlaveSet(a.Bits | b.Bits, false);

    /// <summary>The table's RELATION as the capture would describe it: columns in attnum order (no dropped or generated ones), the primary key as key.</summary>
    private static async Task<RelationInfo?> LoadRelationAsync(NpgsqlConnection c, string schema, string table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT c.oid, a.attname::text, a.atttypid, a.atttypmod, format_type(a.atttypid, NULL),
                   EXISTS (SELECT FROM pg_catalog.pg_index AS i WHERE i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY (i.indkey))
              FROM pg_catalog.pg_class AS c
              JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
             ORDER BY a.attnum
            """, c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = schema });
        cmd.Parameters.Add(new NpgsqlParameter { Value = table });
        uint oid = 0;
        var columns = new List<ColumnInfo>();
        await using (NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                oid = r.GetFieldValue<uint>(0);
                columns.Add(new ColumnInfo(r.GetString(1), r.GetFieldValue<uint>(2), r.GetInt32(3), r.GetString(4), r.GetBoolean(5)));
            }
        }
        return columns.Count == 0 ? null : new RelationInfo(oid, schema, table, columns);
    }

    /// <summary>
    /// The COPYs of one table: the whole table, or — when it is larger than
    /// <see cref="MasterAgentOptions.DumpSplitBytes"/> and there are several readers — up to one block range per
    /// reader (<c>ctid</c> ranges: TID range scans read only their pages; the last range is open-ended, so rows
    /// on pages added after the size was read are not missed).
    /// </summary>
    private async Task<List<DumpPiece>> PiecesAsync(NpgsqlConnection c, RelationInfo rel, int readers, CancellationToken ct)
    {
        string columns = string.Join(", ", rel.Columns.Select(col => QuoteIdent(col.Name)));
        long blocks = 0, bytes = 0;
        if (readers > 1)
        {
            await using var cmd = new NpgsqlCommand("SELECT pg_relation_size($1::oid), pg_relation_size($1::oid) / current_setting('block_size')::int8", c);
            cmd.Parameters.Add(new NpgsqlParameter { Value = (long)rel.TableId });
            await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                bytes = r.GetInt64(0);
                blocks = r.GetInt64(1);
            }
        }
        int parts = (int)Math.Clamp(bytes / Math.Max(options.DumpSplitBytes, 1), 1, readers);
        if (parts == 1 || blocks < parts)
            return [new DumpPiece(rel, $"COPY {rel.QualifiedName} ({columns}) TO STDOUT (FORMAT binary)", 0, 1)];
        var list = new List<DumpPiece>(parts);
        for (int i = 0; i < parts; i++)
        {
            long from = blocks * i / parts, to = blocks * (i + 1) / parts;
            string where = i == 0 ? $"ctid < '({to},0)'::tid"
                : i == parts - 1 ? $"ctid >= '({from},0)'::tid"
                : $"ctid >= '({from},0)'::tid AND ctid < '({to},0)'::tid";
            list.Add(new DumpPiece(rel, $"COPY (SELECT {columns} FROM {rel.QualifiedName} WHERE {where}) TO STDOUT (FORMAT binary)", i, parts));
        }
        return list;
    }

    private static string QuoteIdent(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    // ---- the preparing side -----------------------------------------------------------------------------

    /// <summary>Collects requests and prepares one dump at a time, until cancelled or a failure ends the session.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        await using var command = new NpgsqlConnection(commandConnectionString);
        await command.OpenAsync(ct).ConfigureAwait(false);
        SlaveSet fullPending = SlaveSet.None;
        TimeSpan poll = options.DumpPollInterval;
        while (true)
        {
            while (link.DumpRequests.TryRead(out DumpRequest? d))
            {
                fullPending = Union(fullPending, d.SlaveNo < 0 ? SlaveSet.All : SlaveSet.Of(d.SlaveNo));
                log.Write(PgLogLevel.Log, $"the MCP asks for a full dump for {(d.SlaveNo < 0 ? "every slave" : $"slave {d.SlaveNo}")}: {d.Reason}");
            }
            Job? job = null;
            if (!fullPending.IsEmpty)
            {
                job = new Job { TableRequests = [], FullTargets = fullPending };
                fullPending = SlaveSet.None;
            }
            else
            {
                var tables = await PendingTableDumpsAsync(command, ct).ConfigureAwait(false);
                if (tables.Count > 0)
                    job = new Job { TableRequests = tables };
            }
            if (job is null)
            {
                // Wait for a DUMP_REQUEST, a NOTIFY from an enable, or the next poll of mammoth.table_dumps.
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(poll);
                try
                {
                    await Task.WhenAny(link.DumpRequests.WaitToReadAsync(wait.Token).AsTask(), _wake.WaitAsync()).WaitAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                }
                finally
                {
                    await wait.CancelAsync().ConfigureAwait(false); // releases the channel's waiter when the NOTIFY won
                }
                continue;
            }
            await RunJobAsync(job, command, ct).ConfigureAwait(false);
        }
    }

    private async Task RunJobAsync(Job job, NpgsqlConnection command, CancellationToken ct)
    {
        Volatile.Write(ref _job, job);
        Volatile.Write(ref _phase, (int)Phase.Preparing);
        try
        {
            try
            {
                await OpenReadersAsync(job, ct).ConfigureAwait(false);
                await using (var repl = new LogicalReplicationConnection(replicationConnectionString))
                {
                    await repl.Open(ct).ConfigureAwait(false);
                    string slotName = $"mammoth_dump_{Environment.ProcessId}_{Environment.TickCount64 & 0xFFFFFF}";
                    PgOutputReplicationSlot slot = await repl.CreatePgOutputReplicationSlot(slotName, temporarySlot: true,
                        slotSnapshotInitMode: LogicalSlotSnapshotInitMode.Export, cancellationToken: ct).ConfigureAwait(false);
                    // Every reader imports the one snapshot while the slot's connection still exports it.
                    foreach (NpgsqlConnection snapshot in job.Snapshots)
                    {
                        await MasterCatalog.ExecAsync(snapshot, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", ct).ConfigureAwait(false);
                        await MasterCatalog.ExecAsync(snapshot, $"SET TRANSACTION SNAPSHOT '{slot.SnapshotName}'", ct).ConfigureAwait(false);
                    }
                    job.SnapshotLsn = (ulong)slot.ConsistentPoint;
                } // the temporary slot goes with its connection; the imported snapshots stay
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                Volatile.Write(ref _phase, (int)Phase.Idle);
                job.Ready.TrySetResult();
                string error = $"could not take a snapshot for a dump: {ex.Message} (a dump needs one more replication slot and WAL sender: raise max_replication_slots and max_wal_senders)";
                log.Write(PgLogLevel.Warning, error + "; retrying");
                await NoteErrorAsync(command, job, error, ct).ConfigureAwait(false);
                await Task.Delay(options.DumpRetryDelay, ct).ConfigureAwait(false);
                if (job.IsFull)
                    throw new IOException(error, ex); // the session restarts and the MCP asks again
                return;
            }
            Volatile.Write(ref _phase, (int)Phase.Ready);
            job.Ready.TrySetResult();
            // A transaction that commits after L, so that the capture reaches L even on an idle master.
            await MasterCatalog.ExecAsync(command, "SELECT pg_logical_emit_message(true, 'mammoth', 'dump')", ct).ConfigureAwait(false);
            (ulong Lsn, uint Seq)? last = await job.Shipped.Task.WaitAsync(ct).ConfigureAwait(false);

            await CloseReadersAsync(job).ConfigureAwait(false);
            if (last is (ulong lsn, uint seq))
            {
                await link.WaitDurableAsync(epoch, lsn, seq, ct).ConfigureAwait(false);
                log.Write(PgLogLevel.Log, $"the MCP has the dump durable (up to commit LSN {PgTime.FormatLsn(lsn)} seq {seq})");
            }
            if (job.TableRequests.Count > 0)
            {
                await using var done = new NpgsqlCommand("DELETE FROM mammoth.table_dumps WHERE id = ANY($1)", command);
                done.Parameters.Add(new NpgsqlParameter { Value = job.TableRequests.Select(r => r.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                await done.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            // Ended early (the session is ending: the MCP link or PostgreSQL failed) while the capture loop ships
            // the dump from the snapshot connection: close it only once the capture loop has stopped using it,
            // which the session's cancellation makes it do soon. Closing an Npgsql connection under a COPY that
            // another task reads hangs both, and with them the session, which then never reconnects.
            if (Interlocked.Exchange(ref _phase, (int)Phase.Idle) == (int)Phase.Shipping)
                await ((Task)job.Shipped.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            job.Ready.TrySetResult();
            Volatile.Write(ref _job, null);
            await CloseReadersAsync(job).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Opens the dump's reader connections (<see cref="MasterAgentOptions.DumpWorkers"/>, from
    /// replication_dump_workers). The first must open; when the server refuses more (max_connections), the dump
    /// goes on with fewer and says so.
    /// </summary>
    private async Task OpenReadersAsync(Job job, CancellationToken ct)
    {
        for (int i = 0; i < Math.Max(1, options.DumpWorkers); i++)
        {
            var c = new NpgsqlConnection(snapshotConnectionString);
            try
            {
                await c.OpenAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (i > 0 && ex is NpgsqlException)
            {
                await c.DisposeAsync().ConfigureAwait(false);
                log.Write(PgLogLevel.Warning, $"a dump reader connection was refused ({ex.Message}); dumping with {i} of replication_dump_workers = {options.DumpWorkers}");
                return;
            }
            catch
            {
                await c.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            job.Snapshots.Add(c);
        }
    }

    private static async Task CloseReadersAsync(Job job)
    {
        foreach (NpgsqlConnection c in job.Snapshots)
            await c.DisposeAsync().ConfigureAwait(false);
        job.Snapshots.Clear();
    }

    private static async Task<List<(long Id, string Schema, string Table, SlaveSet Slaves)>> PendingTableDumpsAsync(NpgsqlConnection c, CancellationToken ct)
    {
        var list = new List<(long, string, string, SlaveSet)>();
        await using var cmd = new NpgsqlCommand("SELECT id, schema_name::text, table_name::text, slaves FROM mammoth.table_dumps ORDER BY id", c);
        await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            list.Add((r.GetInt64(0), r.GetString(1), r.GetString(2), TableSetting.SlavesFrom(r.IsDBNull(3) ? null : r.GetFieldValue<int[]>(3))));
        return list;
    }

    private static async Task NoteErrorAsync(NpgsqlConnection c, Job job, string error, CancellationToken ct)
    {
        if (job.TableRequests.Count == 0)
            return;
        await using var cmd = new NpgsqlCommand("UPDATE mammoth.table_dumps SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1)", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = job.TableRequests.Select(r => r.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new NpgsqlParameter { Value = error });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
