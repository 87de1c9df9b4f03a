using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Mammoth.Log;
using Mammoth.Log.Records;
using Mammoth.Net.Diagnostics;
using Mammoth.Nodes.Catalog;
using Npgsql;
using NpgsqlTypes;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// Applies records to the slave's database, each exactly once: the records of one local transaction and
/// the move of mammoth.slave_progress to the last of them commit together, or not at all.
/// </summary>
/// <remarks>
/// <para>Statements are pipelined: they collect in one <see cref="NpgsqlBatch"/> (BEGIN, SET LOCAL,
/// row statements, the progress move, COMMIT) that goes out in one round trip when it is full, before a
/// COPY, or at commit. A record of a few small sections therefore costs one round trip, and several
/// records that arrive together share one transaction (bounded by <see cref="ApplyOptions"/>).</para>
/// <para>Not thread-safe: one apply loop drives it. Record memory handed to <see cref="ApplyAsync"/> must
/// stay valid until <see cref="InTransaction"/> is false or <see cref="FlushAsync"/> returned.</para>
/// </remarks>
internal sealed partial class RecordApplier : IAsyncDisposable
{
    /// <summary>Session advisory lock: one slave agent per database ("Mammoth" and a 2).</summary>
    internal const long AgentLockKey = 0x4D616D6D6F746802;

    private readonly NpgsqlDataSource _dataSource;
    private readonly int _slaveNo;
    private readonly MammothLog _log;
    private readonly ApplyOptions _options;
    private readonly RelationStore _relations = new();
    private readonly List<string> _stagesToDrop = [];
    private readonly HashSet<uint> _knownUserTypes = [];
    private readonly HashSet<RecordKind> _skippedKindsLogged = [];
    private readonly byte[] _progressBytes = new byte[16];

    private NpgsqlConnection? _conn;
    private NpgsqlBatch? _batch;
    private Origin[] _origins = new Origin[64];
    private long _batchGeneration;
    private int _stageCounter;

    private NpgsqlBatchCommand _begin = null!;
    private NpgsqlBatchCommand _setReplica = null!;
    private NpgsqlBatchCommand _commit = null!;
    private NpgsqlBatchCommand _advance = null!;
    private NpgsqlParameter<long> _advanceFrom = null!;
    private NpgsqlParameter<long> _advanceTo = null!;
    private NpgsqlParameter<int> _advanceEpoch = null!;
    private NpgsqlParameter<RawValue> _advanceLsn = null!;
    private NpgsqlParameter<RawValue> _advanceTime = null!;

    // The open local transaction.
    private bool _txOpen;
    private bool _txBeginQueued;
    private long _txApplied;
    private RecordHeader _txLast;
    private bool _txContinued;
    private int _txRecords;
    private long _txBytes;
    private long _txStarted;
    private bool _txTouchedReplicatedTables;

    // What the current section is, for error messages about statements that are not in the batch (COPY).
    private Origin _current;
    private bool _blameAmbiguous;

    public RecordApplier(NpgsqlDataSource dataSource, int slaveNo, MammothLog log, ApplyOptions? options = null)
    {
        _dataSource = dataSource;
        _slaveNo = slaveNo;
        _log = log;
        _options = options ?? new ApplyOptions();
    }

    /// <summary>
    /// The data source the applier needs: raw binary parameters (<see cref="RawValueResolverFactory"/>),
    /// automatic preparation of the row statements, error details, no command timeout.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(NpgsqlConnectionStringBuilder b)
    {
        b.MaxAutoPrepare = 256;
        b.AutoPrepareMinUsages = 2;
        b.IncludeErrorDetail = true;
        b.CommandTimeout = 0;
        b.TcpKeepAlive = true;
        b.Pooling = false;
        var builder = new NpgsqlDataSourceBuilder(b.ConnectionString);
#pragma warning disable NPG9001 // see RawValueResolverFactory
        builder.AddTypeInfoResolverFactory(new RawValueResolverFactory());
#pragma warning restore NPG9001
        return builder.Build();
    }

    /// <summary>The last committed state (as in mammoth.slave_progress).</summary>
    public ApplyProgress Committed { get; private set; }

    /// <summary>The error stored in mammoth.slave_progress when the applier opened (a halt before a restart).</summary>
    public (string Error, long Recno, DateTime? At)? StoredError { get; private set; }

    /// <summary>A local transaction is open (records applied but not committed, e.g. a Continued part).</summary>
    public bool InTransaction => _txOpen;

    /// <summary>Recno of the last record applied, committed or not.</summary>
    public long LastApplied => _txApplied;

    /// <summary>Set when a committed transaction changed mammoth.replicated_tables; the agent clears it.</summary>
    public bool ReplicatedTablesChanged { get; set; }

    /// <summary>Rows applied since open (statistics).</summary>
    public long RowsApplied { get; private set; }

    internal RelationStore Relations => _relations;

    internal NpgsqlConnection Connection => _conn ?? throw new InvalidOperationException("not open");

    /// <summary>
    /// Opens the connection, checks the catalog, takes the one-agent lock, records the node role, and reads
    /// the progress and the relations.
    /// </summary>
    /// <exception cref="DatabaseUnavailableException">The database cannot be used now; the message says why.</exception>
    public async Task OpenAsync(CancellationToken ct)
    {
        try
        {
            _conn = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await CheckCatalogAsync(ct).ConfigureAwait(false);
            await ExecuteAsync(
                "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; " +
                "SET search_path = pg_catalog, public", ct).ConfigureAwait(false);
            // A commit the MCP is told about (ACK) must survive a crash of this server: the MCP may drop the
            // records once every slave acknowledged them. 'local' is enough for that; a stronger setting stays.
            if (await ScalarAsync<string>("SHOW synchronous_commit", ct).ConfigureAwait(false) == "off")
            {
                await ExecuteAsync("SET synchronous_commit = local", ct).ConfigureAwait(false);
                _log.Write(PgLogLevel.Debug1, "synchronous_commit is off on this server; the slave agent's session uses local, so an acknowledged record survives a crash");
            }
            await TakeAgentLockAsync(ct).ConfigureAwait(false);
            await using (var role = new NpgsqlCommand("SELECT mammoth.set_node_role('slave', $1)", _conn))
            {
                role.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _slaveNo });
                await role.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await ReadProgressAsync(ct).ConfigureAwait(false);
            await _relations.LoadAsync(_conn, ct).ConfigureAwait(false);
            CreateCommands();
            _txApplied = Committed.AppliedRecno;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or System.Net.Sockets.SocketException)
        {
            await CloseAsync().ConfigureAwait(false);
            throw new DatabaseUnavailableException(DescribeOpenFailure(ex), ex);
        }
        catch
        {
            await CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    private string DescribeOpenFailure(Exception ex) => ex switch
    {
        PostgresException pg => $"the slave database refused the agent: {pg.MessageText} (SQLSTATE {pg.SqlState})",
        _ => $"cannot connect to the slave database {_dataSource.ConnectionString.Split(';').FirstOrDefault(s => s.StartsWith("Host=", StringComparison.OrdinalIgnoreCase)) ?? ""}: {ex.Message}".Replace(":  ", ": ", StringComparison.Ordinal),
    };

    private async Task CheckCatalogAsync(CancellationToken ct)
    {
        string database = _conn!.Database;
        if (!await ScalarAsync<bool>("SELECT to_regclass('mammoth.node_info') IS NOT NULL", ct).ConfigureAwait(false))
            throw new DatabaseUnavailableException($"database {database} has no MammothFast catalog (schema mammoth); run init-mammoth-database on it");
        string? v = await ScalarAsync<string?>("SELECT value FROM mammoth.node_info WHERE key = 'catalog_version'", ct).ConfigureAwait(false);
        if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < CatalogInstaller.CurrentVersion)
        {
            throw new DatabaseUnavailableException(
                $"the MammothFast catalog in database {database} is version {v ?? "unknown"} and this agent needs version {CatalogInstaller.CurrentVersion}; run init-mammoth-database on it to upgrade");
        }
    }

    private async Task TakeAgentLockAsync(CancellationToken ct)
    {
        if (await ScalarAsync<bool>($"SELECT pg_try_advisory_lock({AgentLockKey})", ct).ConfigureAwait(false))
            return;
        string holder = await ScalarAsync<string?>(
            "SELECT string_agg(l.pid || coalesce(' (' || nullif(a.application_name, '') || ')', ''), ', ') FROM pg_locks AS l " +
            "LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid " +
            $"WHERE l.locktype = 'advisory' AND l.granted AND (l.classid::bigint << 32 | l.objid::bigint) = {AgentLockKey}", ct).ConfigureAwait(false) ?? "?";
        throw new DatabaseUnavailableException(
            $"another slave agent is applying into database {_conn!.Database} (server process {holder}); stop it first — two agents would fight over mammoth.slave_progress");
    }

    private async Task ReadProgressAsync(CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT applied_recno, epoch, master_commit_lsn, master_commit_time, mcp_id, last_error, last_error_recno, last_error_at, " +
            "dump_id, dump_start_recno, dump_tables, dump_tables_done, dump_rows, dump_bytes, dump_started_at, last_dump FROM mammoth.slave_progress", _conn);
        await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false))
            throw new DatabaseUnavailableException($"mammoth.slave_progress in database {_conn!.Database} has no row; run init-mammoth-database again, or restore the row (INSERT INTO mammoth.slave_progress DEFAULT VALUES) if this slave has applied nothing");
        long applied = r.GetInt64(0);
        uint epoch = (uint)r.GetInt32(1);
        ulong lsn = r.IsDBNull(2) ? 0 : (ulong)r.GetFieldValue<NpgsqlLogSequenceNumber>(2);
        long time = r.IsDBNull(3) ? 0 : PgTime.FromDateTime(r.GetFieldValue<DateTime>(3));
        Guid? mcpId = r.IsDBNull(4) ? null : r.GetGuid(4);
        Committed = new ApplyProgress(applied, epoch, lsn, time, mcpId);
        StoredError = r.IsDBNull(5) ? null : (r.GetString(5), r.IsDBNull(6) ? applied + 1 : r.GetInt64(6), r.IsDBNull(7) ? null : r.GetFieldValue<DateTime>(7));
        _dump = _dumpCommitted = ReadDumpState(r, 8);
    }

    private void CreateCommands()
    {
        _batch = _conn!.CreateBatch();
        _begin = new NpgsqlBatchCommand("BEGIN");
        _setReplica = new NpgsqlBatchCommand("SET LOCAL session_replication_role = replica");
        _commit = new NpgsqlBatchCommand("COMMIT");
        _advance = new NpgsqlBatchCommand("SELECT mammoth._slave_advance($1, $2, $3, $4, $5)");
        _advance.Parameters.Add(_advanceFrom = new NpgsqlParameter<long>());
        _advance.Parameters.Add(_advanceTo = new NpgsqlParameter<long>());
        _advance.Parameters.Add(_advanceEpoch = new NpgsqlParameter<int>());
        // Both are 8 big-endian bytes on the wire: the LSN as is, the time in µs since 2000 — the record's own fields.
        _advance.Parameters.Add(_advanceLsn = new NpgsqlParameter<RawValue> { DataTypeName = "pg_catalog.pg_lsn" });
        _advance.Parameters.Add(_advanceTime = new NpgsqlParameter<RawValue> { DataTypeName = "pg_catalog.timestamptz" });
    }

    // A queue this slave switches to (its txlog replaced the one the slave's rows came from): the first record
    // applied must be a DUMP_START naming this slave, whatever its recno; the switch commits with it.
    private Guid? _newQueue;
    private bool _newQueueInTx;

    /// <summary>
    /// The slave's rows came from another MCP queue: take the next DUMP_START naming this slave as the start of
    /// <paramref name="mcpId"/>'s numbering (the slave has subscribed asking for a full dump). Until it commits,
    /// mammoth.slave_progress keeps the old queue and recno, so a crash asks for the dump again.
    /// </summary>
    public void FollowNewQueue(Guid mcpId)
    {
        _newQueue = mcpId;
        _newQueueInTx = false;
    }

    /// <summary>
    /// The slave waits for, or is loading, the full dump that switches it to another queue: until that commits,
    /// <see cref="Committed"/> counts the old queue's records, which must not be acknowledged to the new one.
    /// </summary>
    public bool SwitchingQueue => _newQueue is not null;

    /// <summary>Stores the identity of the MCP queue this slave follows.</summary>
    public async Task StoreMcpIdAsync(Guid mcpId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("UPDATE mammoth.slave_progress SET mcp_id = $1", Connection);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = mcpId });
        await RunOutsideApplyAsync(cmd, ct).ConfigureAwait(false);
        Committed = Committed with { McpId = mcpId };
    }

    /// <summary>Keeps a halting error in mammoth.slave_progress (its own transaction; the failed one was rolled back).</summary>
    public async Task StoreErrorAsync(long recno, string error, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "UPDATE mammoth.slave_progress SET last_error = $1, last_error_recno = $2, last_error_at = now()", Connection);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = error });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = recno });
        await RunOutsideApplyAsync(cmd, ct).ConfigureAwait(false);
    }

    private async Task RunOutsideApplyAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        if (_txOpen)
            throw new InvalidOperationException("a local apply transaction is open");
        try
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            throw new DatabaseUnavailableException($"lost the slave database: {ex.Message}", ex);
        }
    }

    // ---- applying ------------------------------------------------------------------------------------

    /// <summary>
    /// Applies whole records (back to back, as in a RECORDS frame). Records at or below the last applied one
    /// are skipped (already applied); the next must follow it without a gap, unless it is a DUMP_START naming
    /// this slave (its full dump replaces what the gap held). Commits whenever a transaction
    /// bound is reached at the end of a complete master transaction, and at the end when
    /// <paramref name="commitAtEnd"/> (unless the last record is Continued: its transaction stays open).
    /// </summary>
    /// <exception cref="ApplyException">A record cannot be applied: everything since the last commit was rolled back.</exception>
    /// <exception cref="DatabaseUnavailableException">The database connection failed; reopen, then apply again.</exception>
    /// <exception cref="RecordStreamException">The records are damaged or out of order; nothing was applied from them.</exception>
    public async ValueTask ApplyAsync(ReadOnlyMemory<byte> records, bool commitAtEnd, CancellationToken ct)
    {
        bool startedHere = !_txOpen;
        try
        {
            await ApplyCoreAsync(records, commitAtEnd, ct).ConfigureAwait(false);
        }
        catch (ApplyException ex) when (ex.Ambiguous && startedHere && !Isolate)
        {
            // Everything since the last commit came from these records: apply them again one section per
            // round trip, so that the error names the record and the section exactly.
            Isolate = true;
            try
            {
                await ApplyCoreAsync(records, commitAtEnd, ct).ConfigureAwait(false);
            }
            finally
            {
                Isolate = false;
            }
        }
    }

    /// <summary>
    /// Apply one section per round trip and commit every record on its own (slow): after an
    /// <see cref="ApplyException.Ambiguous"/> failure, to find the failing record and section.
    /// </summary>
    public bool Isolate { get; set; }

    private async ValueTask ApplyCoreAsync(ReadOnlyMemory<byte> records, bool commitAtEnd, CancellationToken ct)
    {
        try
        {
            int offset = 0;
            while (offset < records.Length)
            {
                RecordHeader h = ReadRecord(records, offset, out ReadOnlyMemory<byte> payload);
                offset += RecordHeader.Size + h.PayloadLength;
                if (_newQueue is Guid queue && !_newQueueInTx)
                {
                    if (!IsDumpStartForThisSlave(h, payload))
                        throw new RecordStreamException($"MCP queue {queue} sent record {h.Recno} ({h.Kind}) where this slave waits for the DUMP_START of its full dump");
                    if (_txOpen)
                        await CommitAsync(ct).ConfigureAwait(false);
                    _log.Write(PgLogLevel.Log, $"record {h.Recno}: the full dump from MCP queue {queue} starts; this slave follows that queue's records from here (it applied up to record {_txApplied} of the queue before)");
                    _txApplied = h.Recno - 1; // this queue's numbering; slave_progress moves from the old recno at the commit
                    BeginTransaction();
                    EnsureBeginQueued();
                    var store = new NpgsqlBatchCommand("UPDATE mammoth.slave_progress SET mcp_id = $1");
                    store.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = queue });
                    Enqueue(store, default);
                    _newQueueInTx = true;
                }
                if (h.Recno <= _txApplied)
                    continue; // applied before (a re-sent record after a reconnect, or a retry of a frame)
                if (h.Recno != _txApplied + 1)
                {
                    if (!IsDumpStartForThisSlave(h, payload))
                        throw new RecordStreamException($"the MCP sent record {h.Recno} after record {_txApplied}; records must follow each other without a gap");
                    await AcceptGapAsync(h, ct).ConfigureAwait(false);
                }

                BeginTransaction();
                await ApplyRecordAsync(h, payload, ct).ConfigureAwait(false);
                _txApplied = h.Recno;
                _txLast = h;
                // A table dump's transaction stays open until its END, also across a record of another kind in its
                // middle (the RELATION a restarted master sends before the DATA that cuts the dump short): committing
                // there would keep a partial load (and its dropped indexes) and lose the savepoint it goes back to.
                _txContinued = (h.Flags & RecordFlags.Continued) != 0 || _tableDump is not null;
                _txRecords++;
                _txBytes += RecordHeader.Size + h.PayloadLength;

                if (!_txContinued && (Isolate || _txRecords >= _options.MaxTransactionRecords || _txBytes >= _options.MaxTransactionBytes
                    || Stopwatch.GetElapsedTime(_txStarted) >= _options.MaxTransactionDuration))
                {
                    await CommitAsync(ct).ConfigureAwait(false);
                }
            }
            if (_txOpen)
            {
                if (commitAtEnd && !_txContinued)
                    await CommitAsync(ct).ConfigureAwait(false);
                else if (commitAtEnd)
                    await FlushBatchAsync(ct).ConfigureAwait(false); // the continuation is not here yet: let the server work meanwhile
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw await FailAsync(ex).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await RollbackAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Commits the open transaction (if it is not waiting for a Continued part).</summary>
    public async ValueTask CommitIfPossibleAsync(CancellationToken ct)
    {
        if (!_txOpen || _txContinued)
            return;
        try
        {
            await CommitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw await FailAsync(ex).ConfigureAwait(false);
        }
    }

    /// <summary>Sends the pending statements, so that the record memory they reference can be released.</summary>
    public async ValueTask FlushAsync(CancellationToken ct)
    {
        try
        {
            await FlushBatchAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw await FailAsync(ex).ConfigureAwait(false);
        }
    }

    private static RecordHeader ReadRecord(ReadOnlyMemory<byte> records, int offset, out ReadOnlyMemory<byte> payload)
    {
        ReadOnlySpan<byte> span = records.Span[offset..];
        if (span.Length < RecordHeader.Size)
            throw new RecordStreamException("a record header is cut off at the end of a RECORDS frame");
        RecordHeader h = RecordHeader.Read(span);
        if (!h.IsValid(int.MaxValue) || h.PayloadLength > span.Length - RecordHeader.Size)
            throw new RecordStreamException("a record from the MCP fails its header checks");
        payload = records.Slice(offset + RecordHeader.Size, h.PayloadLength);
        if (Crc32C.Compute(payload.Span) != h.PayloadCrc)
            throw new RecordStreamException($"record {h.Recno} from the MCP fails its payload checksum");
        return h;
    }

    private ValueTask ApplyRecordAsync(RecordHeader h, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        if (_dumpCopy is not null && h.Kind is not (RecordKind.TableDumpChunk or RecordKind.Empty))
            return FinishDumpCopyThenApplyAsync(h, payload, ct);
        return ApplyRecordInOrderAsync(h, payload, ct);
    }

    private async ValueTask FinishDumpCopyThenApplyAsync(RecordHeader h, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        await FinishDumpCopyAsync(ct).ConfigureAwait(false);
        await ApplyRecordInOrderAsync(h, payload, ct).ConfigureAwait(false);
    }

    private ValueTask ApplyRecordInOrderAsync(RecordHeader h, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        AbandonTableDumpIfOpen(h);
        switch (h.Kind)
        {
            case RecordKind.Data:
                if (_dump.IsFull)
                {
                    // Only a master that restarted mid-dump sends these; the dump's snapshot (or the next dump) covers them.
                    SkipDataInFullDump(h);
                    return ValueTask.CompletedTask;
                }
                return ApplyDataAsync(h, payload, ct);
            case RecordKind.TableDumpBegin:
                return ApplyTableDumpBeginAsync(h, payload, ct);
            case RecordKind.TableDumpChunk:
                return ApplyTableDumpChunkAsync(h, payload, ct);
            case RecordKind.TableDumpEnd:
                ApplyTableDumpEnd(h, payload);
                return ValueTask.CompletedTask;
            case RecordKind.DumpStart:
                ApplyDumpStart(h, payload.Span);
                return ValueTask.CompletedTask;
            case RecordKind.DumpEnd:
                ApplyDumpEnd(h, payload.Span);
                return ValueTask.CompletedTask;
            case RecordKind.Relation:
                ApplyRelation(h, payload.Span);
                return ValueTask.CompletedTask;
            case RecordKind.Empty:
                return ValueTask.CompletedTask; // nothing for this slave: only the recno moves
            default:
                // Roles, Acl, Sequences, LargeObject, Catalog, Mark: each gets a
                // handler here when its issue lands; until then the record is counted as applied.
                if (_skippedKindsLogged.Add(h.Kind))
                    _log.Write(PgLogLevel.Log, $"record {h.Recno}: {h.Kind} records are not applied by this version of the slave agent; skipping them");
                else
                    _log.Write(PgLogLevel.Debug1, $"record {h.Recno}: skipped a {h.Kind} record");
                return ValueTask.CompletedTask;
        }
    }

    private void ApplyRelation(RecordHeader h, ReadOnlySpan<byte> payload)
    {
        List<RelationInfo> list;
        try
        {
            list = RelationInfo.ReadAll(payload);
        }
        catch (FormatException ex)
        {
            throw new ApplyException(h.Recno, $"record {h.Recno}: the RELATION record is malformed: {ex.Message}");
        }
        foreach (RelationInfo info in list)
        {
            _current = new Origin(h.Recno, null, "RELATION", 0);
            Enqueue(_relations.Put(info, h.Recno, _stagesToDrop), _current);
            _log.Write(PgLogLevel.Debug1, $"record {h.Recno}: relation {info.Schema}.{info.Name} is table id {info.TableId} ({info.Columns.Count} columns)");
        }
    }

    // ---- the transaction -----------------------------------------------------------------------------

    private void BeginTransaction()
    {
        if (_txOpen)
            return;
        _txOpen = true;
        _txBeginQueued = false;
        _txRecords = 0;
        _txBytes = 0;
        _txStarted = Stopwatch.GetTimestamp();
        _txTouchedReplicatedTables = false;
    }

    /// <summary>Queues BEGIN (and what goes first in every transaction) before the first statement.</summary>
    private void EnsureBeginQueued()
    {
        if (_txBeginQueued)
            return;
        _txBeginQueued = true;
        Enqueue(_begin, default);
        Enqueue(_setReplica, default);
        if (_stagesToDrop.Count > 0)
        {
            Enqueue(new NpgsqlBatchCommand("DROP TABLE IF EXISTS " + string.Join(", ", _stagesToDrop)), default);
            _stagesToDrop.Clear();
        }
    }

    private async ValueTask CommitAsync(CancellationToken ct)
    {
        EnsureBeginQueued();
        _advanceFrom.TypedValue = Committed.AppliedRecno;
        _advanceTo.TypedValue = _txApplied;
        _advanceEpoch.TypedValue = unchecked((int)_txLast.Epoch);
        BinaryPrimitives.WriteUInt64BigEndian(_progressBytes, _txLast.CommitLsn);
        BinaryPrimitives.WriteInt64BigEndian(_progressBytes.AsSpan(8), _txLast.CommitTime);
        _advanceLsn.TypedValue = new RawValue(_progressBytes.AsMemory(0, 8));
        _advanceTime.TypedValue = _txLast.CommitTime == 0 ? RawValue.Null : new RawValue(_progressBytes.AsMemory(8, 8));
        _current = new Origin(_txApplied, null, "COMMIT", 0);
        Enqueue(_advance, _current);
        Enqueue(_commit, _current);
        await FlushBatchAsync(ct).ConfigureAwait(false);

        Committed = new ApplyProgress(_txApplied, _txLast.Epoch, _txLast.CommitLsn, _txLast.CommitTime, _newQueueInTx ? _newQueue : Committed.McpId);
        if (_newQueueInTx)
        {
            _newQueue = null;
            _newQueueInTx = false;
        }
        _dumpCommitted = _dump;
        _txOpen = false;
        _txBeginQueued = false;
        if (_txTouchedReplicatedTables)
            ReplicatedTablesChanged = true;
    }

    /// <summary>Rolls back whatever is open and forgets everything that was built inside it.</summary>
    public async Task RollbackAsync()
    {
        bool wasOpen = _txOpen;
        _newQueueInTx = false; // the switch was not committed: the next DUMP_START makes it again
        _txOpen = false;
        _txBeginQueued = false;
        _txApplied = Committed.AppliedRecno;
        ForgetUncommittedDumpState();
        _batch?.BatchCommands.Clear();
        _batchGeneration++;
        await AbortDumpCopyAsync().ConfigureAwait(false);
        if (_conn is null)
            return;
        if (wasOpen && _conn.FullState == System.Data.ConnectionState.Open)
        {
            try
            {
                await using var cmd = new NpgsqlCommand("ROLLBACK", _conn);
                await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                _log.Write(PgLogLevel.Debug1, $"rollback failed: {ex.Message}");
            }
        }
        // Staging tables and relations may have been created or changed inside the rolled-back transaction,
        // and the slave's tables may be changed by hand before the retry: resolve everything again.
        _relations.InvalidateAll(_stagesToDrop);
        try
        {
            if (_conn.FullState == System.Data.ConnectionState.Open)
                await _relations.LoadAsync(_conn, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            _log.Write(PgLogLevel.Debug1, $"reloading relations after a rollback failed: {ex.Message}");
        }
    }

    // ---- the batch -----------------------------------------------------------------------------------

    private void Enqueue(NpgsqlBatchCommand command, in Origin origin)
    {
        NpgsqlBatch batch = _batch!;
        int i = batch.BatchCommands.Count;
        if (i == _origins.Length)
            Array.Resize(ref _origins, i * 2);
        _origins[i] = origin;
        batch.BatchCommands.Add(command);
    }

    private int BatchCount => _batch!.BatchCommands.Count;

    private async ValueTask FlushBatchAsync(CancellationToken ct)
    {
        await FinishDumpCopyAsync(ct).ConfigureAwait(false); // the connection is busy while a table dump's COPY is open
        NpgsqlBatch batch = _batch!;
        if (batch.BatchCommands.Count == 0)
            return;
        try
        {
            await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (PostgresException pg)
        {
            Blame(pg);
            throw;
        }
        finally
        {
            batch.BatchCommands.Clear();
            _batchGeneration++;
        }
    }

    /// <summary>
    /// Npgsql does not say which statement of a batch failed. When the batch holds statements of one section
    /// only, that is the one; otherwise the guess is a section of the table PostgreSQL names, and the failure
    /// is marked ambiguous (<see cref="Isolate"/> finds it exactly).
    /// </summary>
    private void Blame(PostgresException pg)
    {
        int n = _batch!.BatchCommands.Count;
        Origin? single = null;
        Origin? byTable = null;
        bool several = false;
        for (int i = 0; i < n; i++)
        {
            Origin o = _origins[i];
            if (o.Verb is null || o.Relation is null && o.Verb == "COMMIT")
                continue;
            if (single is null)
                single = o;
            else if (single.Value.Recno != o.Recno || !ReferenceEquals(single.Value.Relation, o.Relation) || single.Value.Verb != o.Verb)
                several = true;
            if (byTable is null && o.Relation is { } r && r.Info.Name == pg.TableName && (pg.SchemaName is null || r.Info.Schema == pg.SchemaName))
                byTable = o;
        }
        if (single is null)
            return; // only BEGIN, SET and the progress move: _current says COMMIT
        _current = several ? byTable ?? single.Value : single.Value;
        _blameAmbiguous = several;
    }

    // ---- failures ------------------------------------------------------------------------------------

    private async Task<Exception> FailAsync(Exception ex)
    {
        Exception result = Classify(ex);
        if (result is DatabaseUnavailableException)
        {
            _txOpen = false;
            _txApplied = Committed.AppliedRecno;
            await CloseAsync().ConfigureAwait(false);
        }
        else
        {
            await RollbackAsync().ConfigureAwait(false);
        }
        if (result is ApplyException && ex is not (ApplyException or PostgresException))
            _log.Write(PgLogLevel.Debug1, $"apply failure detail: {ex}");
        return result;
    }

    private Exception Classify(Exception ex)
    {
        if (ex is ApplyException or RecordStreamException or DatabaseUnavailableException)
            return ex;
        if (IsConnectionFailure(ex))
            return new DatabaseUnavailableException($"lost the slave database while applying record {_current.Recno}: {ex.Message}", ex);
        Origin o = _current;
        string what = o.Relation is null ? $"record {o.Recno}" : $"record {o.Recno}: {o.Verb} of {o.Rows} row{(o.Rows == 1 ? "" : "s")} of {o.Relation.Describe}";
        if (ex is PostgresException pg)
        {
            string detail = pg.Detail is { Length: > 0 } d ? $"; DETAIL: {d}" : "";
            bool ambiguous = _blameAmbiguous;
            _blameAmbiguous = false;
            return new ApplyException(o.Recno, $"{what} failed: {pg.MessageText} (SQLSTATE {pg.SqlState}){detail}", ex) { Ambiguous = ambiguous };
        }
        return new ApplyException(o.Recno, $"{what} failed: {ex.Message}", ex);
    }

    private bool IsConnectionFailure(Exception ex) => ex switch
    {
        // Not every 08xxx: a binary value that does not fit the slave's column type is 08P01 (protocol violation)
        // from the type's recv function — a data problem, which halts.
        PostgresException pg => pg.SqlState is "57P01" or "57P02" or "57P03" or "53300" || _conn?.FullState is not System.Data.ConnectionState.Open,
        NpgsqlException => true,
        IOException or System.Net.Sockets.SocketException or TimeoutException => true,
        InvalidOperationException or ObjectDisposedException => _conn?.FullState is not System.Data.ConnectionState.Open,
        _ => false,
    };

    // ---- helpers -------------------------------------------------------------------------------------

    private async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, _conn);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task<T> ScalarAsync<T>(string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, _conn);
        object? v = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return v is DBNull or null ? default! : (T)v;
    }

    private async Task CloseAsync()
    {
        NpgsqlConnection? c = _conn;
        _conn = null;
        _batch = null;
        _dumpCopy = null; // goes with the connection
        _newQueueInTx = false;
        _txOpen = false;
        _txBeginQueued = false;
        ForgetUncommittedDumpState();
        _relations.InvalidateAll(_stagesToDrop);
        _stagesToDrop.Clear(); // temp tables die with the session
        _knownUserTypes.Clear();
        if (c is not null)
        {
            try
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_txOpen)
            await RollbackAsync().ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
    }

    /// <summary>Where a statement in the batch came from.</summary>
    private readonly record struct Origin(long Recno, SlaveRelation? Relation, string? Verb, int Rows);
}
