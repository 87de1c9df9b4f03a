using Mammoth.Log.Records;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Mammoth.Nodes.Connections;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;
using NpgsqlTypes;

namespace Mammoth.Nodes.Master;

/// <summary>
/// One connected run of the master capture: PostgreSQL (a catalog connection, a replication connection,
/// a command connection) and the MCP, from setup until the first failure. The agent starts a new session
/// after a back-off; nothing carries over but the slot's position and what the MCP stored.
/// </summary>
/// <remarks>
/// Tasks of a session: the capture loop (stream → records → RECORDS frames), the confirmer (DURABLE → slot
/// flush LSN), the request worker (LISTEN, heartbeat), and the dump coordinator (table dumps and
/// DUMP_REQUESTs, see <see cref="DumpCoordinator"/>), besides the MCP link's own receive loop. The first to
/// fail ends them all.
/// </remarks>
internal sealed class CaptureSession(NodeSettings settings, MammothLog log, MasterAgentOptions options, MasterStatistics stats)
{
    private long _lastActivity = Environment.TickCount64;

    /// <summary>Whether the session got as far as streaming from the slot.</summary>
    public bool Streamed { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        NpgsqlConnectionStringBuilder baseCs = PgConnectionStrings.FromConnInfo(settings.ConnInfo, "mammoth-node master");
        var catalogCs = new NpgsqlConnectionStringBuilder(baseCs.ConnectionString)
        {
            ApplicationName = "mammoth-node master catalog",
            SearchPath = "pg_catalog", // format_type() then qualifies every type outside pg_catalog
        };
        var commandCs = new NpgsqlConnectionStringBuilder(baseCs.ConnectionString) { ApplicationName = "mammoth-node master requests" };
        var replicationCs = new NpgsqlConnectionStringBuilder(baseCs.ConnectionString) { CommandTimeout = 0 }; // slot creation waits for old transactions

        await using var catalog = new NpgsqlConnection(catalogCs.ConnectionString);
        await catalog.OpenAsync(ct).ConfigureAwait(false);
        MasterCatalog.Setup setup = await MasterCatalog.PrepareAsync(catalog, ct).ConfigureAwait(false);
        ulong systemId = await SystemIdAsync(catalog, ct).ConfigureAwait(false);

        await using var repl = new LogicalReplicationConnection(replicationCs.ConnectionString);
        repl.WalReceiverStatusInterval = StatusInterval(setup.WalSenderTimeout);
        await repl.Open(ct).ConfigureAwait(false);
        bool created = false;
        if (!setup.SlotExists)
        {
            log.Write(PgLogLevel.Log, $"creating logical replication slot {MasterCatalog.SlotName} (pgoutput); this waits for transactions already running on the master");
            try
            {
                await repl.CreatePgOutputReplicationSlot(MasterCatalog.SlotName, temporarySlot: false,
                    slotSnapshotInitMode: LogicalSlotSnapshotInitMode.NoExport, cancellationToken: ct).ConfigureAwait(false);
                created = true;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateObject)
            {
                // An enable function created it meanwhile.
            }
        }

        // The settings as of the slot's position (see SettingsSnapshots).
        ulong confirmedFlush = await MasterCatalog.ConfirmedFlushAsync(catalog, ct).ConfigureAwait(false)
            ?? throw new MasterSetupException($"replication slot {MasterCatalog.SlotName} disappeared while the agent started; start it again");
        SettingsMap current = await MasterCatalog.ReadSettingsAsync(catalog, ct).ConfigureAwait(false);
        SettingsSnapshots snapshots = SettingsSnapshots.Empty();
        SettingsMap? asOf = null;
        if (!created)
        {
            (snapshots, string? problem) = await SettingsSnapshots.LoadAsync(catalog, ct).ConfigureAwait(false);
            if (problem is not null)
                log.Write(PgLogLevel.Warning, problem);
            asOf = snapshots.AsOf(confirmedFlush);
        }
        SettingsMap map = asOf ?? new SettingsMap();
        foreach (var ((schema, table), setting) in current.Entries)
        {
            if (!map.TryGet(schema, table, out _))
                map.Set(schema, table, setting);
        }
        log.Write(PgLogLevel.Debug1, $"replication settings at slot position {PgTime.FormatLsn(confirmedFlush)} ({(asOf is null ? "from mammoth.replicated_tables" : "from the stored snapshot")}): {map}");

        var mcpOptions = new McpClientOptions
        {
            Host = settings.McpAddress,
            Port = settings.McpPort,
            AuthKey = settings.McpAuthKey,
            Role = NodeRole.Master,
            SystemId = systemId,
            RequireSsl = settings.McpRequireSsl,
            SslCaFile = settings.McpSslCaFile,
            Name = $"{Environment.MachineName} {catalog.Database}",
        };
        await using MasterLink link = await MasterLink.ConnectAsync(mcpOptions, ct).ConfigureAwait(false);
        stats.SessionStarted();
        Welcome welcome = link.Welcome;
        log.Write(PgLogLevel.Log,
            $"connected to the MCP at {settings.McpAddress}:{settings.McpPort} (epoch {welcome.Epoch}); it holds this master's records up to commit LSN {PgTime.FormatLsn(welcome.LastEpoch == welcome.Epoch ? welcome.LastLsn : 0)}; streaming slot {MasterCatalog.SlotName} from {PgTime.FormatLsn(confirmedFlush)}");

        using var pipeline = new RecordPipeline(link, welcome.Epoch, link.LastDurable, options, stats, log);
        var relations = new RelationCache(catalog);
        using var encoder = new TransactionEncoder(welcome.Epoch, options, relations, map, pipeline, stats);
        var dumpCs = new NpgsqlConnectionStringBuilder(catalogCs.ConnectionString) { ApplicationName = "mammoth-node master dump", CommandTimeout = 0 };
        var dumps = new DumpCoordinator(dumpCs.ConnectionString, replicationCs.ConnectionString, commandCs.ConnectionString,
            welcome.Epoch, link, options, log);
        var requests = new RequestWorker(commandCs.ConnectionString, link, options, stats, log, () => Volatile.Read(ref _lastActivity), dumps.Wake);

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task[] tasks =
        [
            link.Completion,
            CaptureLoopAsync(repl, catalog, encoder, relations, pipeline, map, snapshots, dumps, cts.Token),
            ConfirmLoopAsync(repl, link, pipeline, welcome.Epoch, cts.Token),
            requests.RunAsync(cts.Token),
            dumps.RunAsync(cts.Token),
        ];
        Task first = await Task.WhenAny(tasks).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        stats.SetStreaming(false);
        try
        {
            await Task.WhenAll(tasks[1..]).ConfigureAwait(false);
        }
        catch
        {
            // The first failure is reported below.
        }
        ct.ThrowIfCancellationRequested();
        // The link's own failure (an ERROR frame, a reset) is the cause of whatever else broke.
        if (link.Completion.IsFaulted)
            await link.Completion.ConfigureAwait(false);
        if (first.IsFaulted)
            await first.ConfigureAwait(false);
        foreach (Task t in tasks)
        {
            if (t.IsFaulted)
                await t.ConfigureAwait(false);
        }
        throw new IOException("a task of the master session ended without an error");
    }

    private async Task CaptureLoopAsync(LogicalReplicationConnection repl, NpgsqlConnection catalog, TransactionEncoder encoder,
        RelationCache relations, RecordPipeline pipeline, SettingsMap map, SettingsSnapshots snapshots, DumpCoordinator dumps, CancellationToken ct)
    {
        var replicationOptions = new PgOutputReplicationOptions(MasterCatalog.PublicationName, PgOutputProtocolVersion.V1,
            binary: true, streamingMode: null, messages: true);
        stats.SetStreaming(true);
        ulong lastCommit = 0;
        long started = Environment.TickCount64;
        await using IAsyncEnumerator<PgOutputReplicationMessage> messages = repl.StartReplication(
            new PgOutputReplicationSlot(MasterCatalog.SlotName), replicationOptions, ct).GetAsyncEnumerator(ct);
        while (true)
        {
            ValueTask<bool> next = messages.MoveNextAsync();
            if (!next.IsCompleted)
                await pipeline.FlushAsync(ct).ConfigureAwait(false); // about to wait for PostgreSQL: ship what is batched
            if (!await next.ConfigureAwait(false))
                break;
            PgOutputReplicationMessage message = messages.Current;
            if (!Streamed)
            {
                Streamed = true;
                log.Write(PgLogLevel.Debug1, $"first message from the slot after {Environment.TickCount64 - started} ms: {message.GetType().Name} at {message.WalStart}");
            }
            switch (message)
            {
                case InsertMessage m:
                    await encoder.OnInsertAsync(m, ct).ConfigureAwait(false);
                    break;
                case UpdateMessage m:
                    await encoder.OnUpdateAsync(m, ct).ConfigureAwait(false);
                    break;
                case DeleteMessage m:
                    await encoder.OnDeleteAsync(m, ct).ConfigureAwait(false);
                    break;
                case BeginMessage m:
                    ulong commitLsn = (ulong)m.TransactionFinalLsn;
                    if (commitLsn <= lastCommit)
                        log.Write(PgLogLevel.Warning, $"transaction {m.TransactionXid} commits at {PgTime.FormatLsn(commitLsn)}, not after the previous one at {PgTime.FormatLsn(lastCommit)}");
                    lastCommit = commitLsn;
                    if (dumps.Armed)
                        await dumps.BeforeTransactionAsync(commitLsn, pipeline, map, ct).ConfigureAwait(false);
                    encoder.Begin(m.TransactionXid, commitLsn, PgTime.FromDateTime(m.TransactionCommitTimestamp));
                    break;
                case CommitMessage m:
                    CommitOutcome outcome = await encoder.CommitAsync(ct).ConfigureAwait(false);
                    ulong end = (ulong)m.TransactionEndLsn;
                    if (outcome.SettingsChanged)
                    {
                        await snapshots.SaveAsync(catalog, end, map, ct).ConfigureAwait(false);
                        log.Write(PgLogLevel.Debug1, $"replication settings after {PgTime.FormatLsn(end)}: {map}");
                    }
                    pipeline.Commit(end, outcome.HadRecords);
                    Volatile.Write(ref _lastActivity, Environment.TickCount64);
                    break;
                case RelationMessage m:
                    await relations.OnRelationAsync(m, ct).ConfigureAwait(false);
                    break;
                case TruncateMessage m:
                    await encoder.OnTruncateAsync(m, ct).ConfigureAwait(false);
                    break;
                default:
                    // TYPE (types are named from the catalog), ORIGIN, logical messages such as the heartbeat.
                    break;
            }
        }
        throw new IOException("PostgreSQL ended the replication stream");
    }

    /// <summary>
    /// Confirms to the slot the end LSN of every commit whose records the MCP made durable — never more:
    /// the server accepts any flush LSN and would skip transactions we do not have.
    /// </summary>
    private async Task ConfirmLoopAsync(LogicalReplicationConnection repl, MasterLink link, RecordPipeline pipeline, uint epoch, CancellationToken ct)
    {
        long intervalMs = Math.Max(1, (long)options.ConfirmInterval.TotalMilliseconds);
        ulong confirmed = 0;
        bool unsent = false;
        long lastSent = 0;
        Task cancelled = Task.Delay(Timeout.Infinite, ct);
        while (true)
        {
            Task durableAdvanced = link.DurableAdvanced;
            Task added = pipeline.EntriesAdded.WaitAsync();
            Durable durable = link.LastDurable;
            if (durable.Epoch == epoch)
                stats.Durable(durable.CommitLsn);
            ulong confirm = pipeline.Drain(durable);
            if (confirm > confirmed && options.ConfirmToSlot)
            {
                confirmed = confirm;
                repl.SetReplicationStatus(new NpgsqlLogSequenceNumber(confirm));
                stats.Confirmed(confirm);
                unsent = true;
            }
            Task timer = cancelled;
            if (unsent)
            {
                long wait = lastSent + intervalMs - Environment.TickCount64;
                if (wait <= 0)
                {
                    await repl.SendStatusUpdate(ct).ConfigureAwait(false);
                    lastSent = Environment.TickCount64;
                    unsent = false;
                }
                else
                {
                    timer = Task.Delay(TimeSpan.FromMilliseconds(wait), ct);
                }
            }
            await Task.WhenAny(durableAdvanced, added, timer).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            if (durableAdvanced.IsFaulted)
                await durableAdvanced.ConfigureAwait(false);
        }
    }

    private TimeSpan StatusInterval(TimeSpan walSenderTimeout)
    {
        TimeSpan interval = options.StatusInterval;
        if (walSenderTimeout != Timeout.InfiniteTimeSpan && walSenderTimeout / 3 < interval)
            interval = walSenderTimeout / 3;
        return interval < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : interval;
    }

    private static async Task<ulong> SystemIdAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT system_identifier FROM pg_control_system()", c);
        return (ulong)(long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}
