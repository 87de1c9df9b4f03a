using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Mammoth.Nodes.Connections;
using Npgsql;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// The slave agent: reads what it has applied from mammoth.slave_progress, subscribes at the MCP from the
/// next record, applies records exactly once (<see cref="RecordApplier"/>) and acknowledges them after
/// their commit. An apply error halts it (nothing later is applied) and it retries with back-off until the
/// cause is fixed; a lost MCP or database connection is re-established with back-off. It keeps slave write
/// protection in line with mammoth.replicated_tables and writes its status for <c>slave_stat</c>.
/// </summary>
public sealed partial class SlaveAgent : IAsyncDisposable
{
    private readonly MammothLog _log;
    private readonly SlaveAgentOptions _options;
    private readonly StatusTracker _status;
    private readonly int _slaveNo;
    private volatile NodeSettings _settings;
    private NpgsqlDataSource? _dataSource;
    private RecordApplier? _applier;
    private ulong _systemId;
    private volatile bool _protectionDirty = true;
    private long _nextProtectionCheck;
    private bool _protectionFailed;

    // Halt state (kept across reconnects: it ends when the record finally applies).
    private bool _halted;
    private string? _haltError;
    private long _haltRecno;

    public SlaveAgent(NodeSettings settings, MammothLog log) : this(settings, log, new SlaveAgentOptions())
    {
    }

    internal SlaveAgent(NodeSettings settings, MammothLog log, SlaveAgentOptions options)
    {
        if (settings.Mode != ReplicationMode.Slave || settings.SlaveNo is not int slaveNo)
            throw new ConfigException($"{settings.FileName}: the slave agent needs replication_mode = slave and replication_slave_no.");
        _settings = settings;
        _log = log;
        _options = options;
        _slaveNo = slaveNo;
        _status = new StatusTracker(settings.DataPath, slaveNo, log);
    }

    /// <summary>Takes reloaded settings (SIGHUP): the authkey for the next connection, slave write protection.</summary>
    public void Reload(NodeSettings next)
    {
        NodeSettings before = _settings;
        _settings = next;
        if (before.SlaveAllowWrites != next.SlaveAllowWrites)
        {
            _log.Write(PgLogLevel.Log, next.SlaveAllowWrites
                ? "replication_slave_allow_writes is now on: local sessions may write to replicated tables"
                : "replication_slave_allow_writes is now off: replicated tables refuse local writes again");
            _protectionDirty = true;
        }
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        NodeSettings s = _settings;
        _log.Write(PgLogLevel.Log, $"slave agent {_slaveNo} starting: database {s.Database}, MCP {s.McpAddress}:{s.McpPort}, status in {s.DataPath}");
        if (s.SlaveBatchMode)
        {
            _log.Write(PgLogLevel.Log, $"batch mode: connecting to the MCP only for MCP BATCHUPDATE (SELECT mammoth.mcp_batchupdate() on this slave), until {s.SlaveBatchModeTimeout.TotalSeconds:0.###} s pass without a record");
            _status.Update(st => st.BatchMode = true);
        }
        using var stopStatus = new CancellationTokenSource();
        Task statusLoop = _status.RunAsync(_options.StatusInterval, stopStatus.Token);
        var backoff = new Backoff(_options.RetryMin, _options.RetryMax);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    if (_applier is null)
                        await OpenDatabaseAsync(ct).ConfigureAwait(false);
                    if (s.SlaveBatchMode)
                        await RunBatchModeAsync(backoff, ct).ConfigureAwait(false);
                    else
                        await RunLinkAsync(backoff, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    break;
                }
                catch (DatabaseUnavailableException ex)
                {
                    ReportProblem(ex.Message, database: true);
                    await CloseDatabaseAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (IsLinkFailure(ex))
                {
                    ReportProblem(DescribeLinkFailure(ex), database: false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A bug: say everything about it, start over from the database's progress (nothing is lost).
                    _log.Write(PgLogLevel.Error, $"slave agent failure, starting over: {ex}");
                    _status.Update(st => st.Problem = ex.Message);
                    await CloseDatabaseAsync().ConfigureAwait(false);
                }
                _status.Update(st => st.Connected = false);
                try
                {
                    await Task.Delay(backoff.Next(), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            await CloseDatabaseAsync().ConfigureAwait(false);
            _status.Update(st =>
            {
                st.State = "stopped";
                st.Connected = false;
            });
            await stopStatus.CancelAsync().ConfigureAwait(false);
            await statusLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _status.WriteNow();
            _log.Write(PgLogLevel.Log, $"slave agent {_slaveNo} stopped");
        }
    }

    // ---- the database --------------------------------------------------------------------------------

    private async Task OpenDatabaseAsync(CancellationToken ct)
    {
        _dataSource ??= BuildDataSource(_settings, _slaveNo);
        var applier = new RecordApplier(_dataSource, _slaveNo, _log, _options.Apply);
        _status.Update(st => st.State = "opening the database");
        await applier.OpenAsync(ct).ConfigureAwait(false);
        _applier = applier;
        _systemId = await ReadSystemIdAsync(applier.Connection, ct).ConfigureAwait(false);
        ApplyProgress p = applier.Committed;
        _log.Write(PgLogLevel.Log, $"slave database {applier.Connection.Database} opened: applied up to record {p.AppliedRecno}{(p.McpId is { } id ? $" of MCP queue {id}" : "")}");
        if (applier.StoredError is { } stored && !_halted)
        {
            // Halted before a restart: shown as halted until the record applies (the first attempt is right away).
            _halted = true;
            _haltError = stored.Error;
            _haltRecno = stored.Recno;
            _status.Update(st =>
            {
                st.Halted = true;
                st.HaltedError = stored.Error;
                st.HaltedRecno = stored.Recno;
                st.HaltedSince = stored.At;
            });
        }
        _status.OnOpened(p);
        if (applier.Dump.IsFull)
            _log.Write(PgLogLevel.Log, $"the slave is inside full dump {applier.Dump.FullDumpId} (begun at record {applier.Dump.StartRecno}, {applier.Dump.TablesDone} of {applier.Dump.TablesTotal} tables loaded); data records are skipped until its DUMP_END");
        _status.OnDump(applier.Dump);
        _protectionDirty = true;
        await SyncProtectionAsync(ct).ConfigureAwait(false);
    }

    private async Task CloseDatabaseAsync()
    {
        RecordApplier? a = _applier;
        _applier = null;
        if (a is not null)
            await a.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Reopens the database in the middle of a link session, waiting with back-off until it answers.</summary>
    private async Task ReopenDatabaseAsync(CancellationToken ct)
    {
        var backoff = new Backoff(_options.RetryMin, _options.RetryMax);
        await CloseDatabaseAsync().ConfigureAwait(false);
        while (true)
        {
            try
            {
                await Task.Delay(backoff.Next(), ct).ConfigureAwait(false);
                await OpenDatabaseAsync(ct).ConfigureAwait(false);
                _status.Update(st => st.Problem = null);
                return;
            }
            catch (DatabaseUnavailableException ex)
            {
                ReportProblem(ex.Message, database: true);
                await CloseDatabaseAsync().ConfigureAwait(false);
            }
        }
    }

    internal static NpgsqlDataSource BuildDataSource(NodeSettings settings, int slaveNo)
    {
        var conninfo = new StringBuilder();
        foreach ((string key, string value) in settings.ConnInfo)
            conninfo.Append(key).Append("='").Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)).Append("' ");
        return RecordApplier.CreateDataSource(PgConnectionStrings.FromConnInfo(conninfo.ToString(), $"mammoth slave {slaveNo}"));
    }

    private async Task<ulong> ReadSystemIdAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        try
        {
            await using var cmd = new NpgsqlCommand("SELECT system_identifier FROM pg_catalog.pg_control_system()", conn);
            return (ulong)(long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }
        catch (PostgresException ex)
        {
            _log.Write(PgLogLevel.Debug1, $"cannot read the system identifier: {ex.MessageText}");
            return 0;
        }
    }

    // ---- write protection ----------------------------------------------------------------------------

    private async Task SyncProtectionAsync(CancellationToken ct)
    {
        RecordApplier? a = _applier;
        if (a is null || a.InTransaction)
            return;
        _protectionDirty = false;
        _nextProtectionCheck = Environment.TickCount64 + (long)_options.ProtectionInterval.TotalMilliseconds;
        bool allow = _settings.SlaveAllowWrites;
        try
        {
            (List<string> added, List<string> removed) = await SlaveProtection.SyncAsync(a.Connection, _slaveNo, allow, ct).ConfigureAwait(false);
            if (added.Count > 0)
                _log.Write(PgLogLevel.Log, $"slave write protection on for {string.Join(", ", added)}");
            if (removed.Count > 0)
                _log.Write(PgLogLevel.Log, $"slave write protection off for {string.Join(", ", removed)}{(allow ? " (replication_slave_allow_writes = on)" : "")}");
            _protectionFailed = false;
        }
        catch (PostgresException ex)
        {
            // Not worth halting replication for: try again at the next check.
            if (!_protectionFailed)
                _log.Write(PgLogLevel.Warning, $"could not bring slave write protection up to date: {ex.MessageText}; retrying in {_options.ProtectionInterval.TotalSeconds:0} s");
            _protectionFailed = true;
            _protectionDirty = true;
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException)
        {
            throw new DatabaseUnavailableException($"lost the slave database: {ex.Message}", ex);
        }
    }

    private bool ProtectionDue => _protectionDirty || Environment.TickCount64 >= Volatile.Read(ref _nextProtectionCheck);

    // ---- reporting -----------------------------------------------------------------------------------

    private void ReportProblem(string message, bool database)
    {
        _log.Write(database ? PgLogLevel.Error : PgLogLevel.ComError, message);
        _status.Update(st =>
        {
            st.Problem = message;
            st.State = database ? "database unavailable" : "disconnected";
            st.Connected = false;
        });
    }

    private static bool IsLinkFailure(Exception ex) =>
        ex is IOException or SocketException or ProtocolException or McpRefusedException or TimeoutException
           or RecordStreamException or ResubscribeException or ObjectDisposedException
           or System.Threading.Channels.ChannelClosedException
           or System.Security.Authentication.AuthenticationException;

    private string DescribeLinkFailure(Exception ex)
    {
        NodeSettings s = _settings;
        string where = string.Create(CultureInfo.InvariantCulture, $"{s.McpAddress}:{s.McpPort}");
        return ex switch
        {
            McpRefusedException r => $"the MCP at {where} refused slave {_slaveNo}: {r.Message}",
            SocketException se => $"cannot reach the MCP at {where}: {se.Message}",
            ResubscribeException rs => rs.Message,
            RecordStreamException rs => $"connection to the MCP at {where} dropped: {rs.Message}",
            _ => $"connection to the MCP at {where} lost: {ex.Message}",
        };
    }

    public ValueTask DisposeAsync()
    {
        NpgsqlDataSource? ds = _dataSource;
        _dataSource = null;
        return ds?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <summary>The open transaction's records are no longer held, so after a failure they must come from the MCP again.</summary>
    private sealed class ResubscribeException(string message) : Exception(message);
}
