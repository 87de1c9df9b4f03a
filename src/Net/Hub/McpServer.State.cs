using Mammoth.Log.State;
using Mammoth.Log.Storage;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;

namespace Mammoth.Net.Hub;

public sealed partial class McpServer
{
    // The MCP's durable state (epoch, per-slave acks and states). Changed under _stateLock; a background
    // loop saves a snapshot when it is dirty (acks are advisory for recycling: a slave re-subscribes from
    // its own applied recno, so losing the last few hundred milliseconds of acks in a crash is harmless).
    private readonly object _stateLock = new();
    private McpState _state = new();
    private bool _stateDirty;

    internal object StateLock => _stateLock;
    internal McpState State => _state;

    internal void MarkDirty() => _stateDirty = true;

    /// <summary>A copy of the state for status reports.</summary>
    public McpState SnapshotState()
    {
        lock (_stateLock)
            return McpStateStore.Clone(_state);
    }

    private void LoadState()
    {
        McpServerSettings s = _settings;
        _state = McpStateStore.Load(s.TxlogPath);
        _state.MaxSlaves = s.MaxSlaves;
        _state.ServerPid = Environment.ProcessId;
        _state.MasterConnected = false;
        foreach (int no in s.SlaveAddresses.Keys)
            _state.Slave(no);
        long first = TxLog.FirstRecno;
        foreach (SlaveRecord r in _state.Slaves)
        {
            r.Connected = false;
            if (r.State == SlaveSyncState.SYNC)
                r.State = SlaveSyncState.DESYNC;
            // A slave whose next record is gone needs a dump (e.g. the queue was recycled while we were down).
            if (r.State != SlaveSyncState.DUMP && r.AckRecno + 1 < first)
                MarkDump(r, $"its next record {r.AckRecno + 1} was recycled (the queue starts at {first})");
            // A state file from before dumps were tracked: the dump starts after what the queue holds now.
            else if (IsWaitingForDump(r) && r.DumpSinceRecno is null)
                r.DumpSinceRecno = TxLog.NextRecno;
        }
        SaveStateNow();
    }

    internal void SaveStateNow()
    {
        McpState copy;
        lock (_stateLock)
        {
            copy = McpStateStore.Clone(_state);
            _stateDirty = false;
        }
        try
        {
            McpStateStore.Save(_settings.TxlogPath, copy);
        }
        catch (IOException ex)
        {
            _log.Write(PgLogLevel.Error, $"could not save the MCP state in {_settings.TxlogPath}: {ex.Message}");
            _stateDirty = true;
        }
    }

    private async Task StateSaverLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.StateSaveInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (_stateDirty)
                    SaveStateNow();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Records a slave's acknowledgement (called by its session).</summary>
    internal void OnAck(int slaveNo, long recno)
    {
        lock (_stateLock)
        {
            SlaveRecord r = _state.Slave(slaveNo);
            if (recno > r.AckRecno)
                r.AckRecno = recno;
            r.LastSeen = DateTime.UtcNow;
            // The slave's acknowledgement of the DUMP_END naming it is the end of its dump.
            if (r.State == SlaveSyncState.DUMP && r.DumpEndRecno is long end && recno >= end)
                FinishDumpLocked(r);
            _stateDirty = true;
        }
    }

    /// <summary>SLAVE_STATUS: halted or resumed. A slave in DUMP stays in DUMP (a halted dump is still its dump).</summary>
    internal void OnSlaveStatus(int slaveNo, bool halted, string? error)
    {
        lock (_stateLock)
        {
            SlaveRecord r = _state.Slave(slaveNo);
            if (IsWaitingForDump(r))
            {
                r.HaltError = halted ? error : null;
                r.LastSeen = DateTime.UtcNow;
                _stateDirty = true;
                return;
            }
        }
        SetSlaveState(slaveNo, halted ? SlaveSyncState.DESYNC : SlaveSyncState.SYNC, halted ? error : null);
    }

    internal void SetSlaveState(int slaveNo, SlaveSyncState state, string? haltError = null)
    {
        lock (_stateLock)
        {
            SlaveRecord r = _state.Slave(slaveNo);
            if (r.State != state)
                _log.Write(PgLogLevel.Log, $"slave {slaveNo}: {r.State} -> {state}");
            r.State = state;
            r.HaltError = haltError;
            if (state != SlaveSyncState.DUMP)
            {
                r.DumpReason = null;
                r.DumpRequestedAt = null;
                r.DumpSinceRecno = null;
                r.ClearDumpProgress();
            }
            r.LastSeen = DateTime.UtcNow;
            _stateDirty = true;
        }
    }

    /// <summary>Puts a slave in DUMP and asks the master for a dump (now, or when it connects).</summary>
    internal void RequestDump(int slaveNo, string reason)
    {
        lock (_stateLock)
            MarkDump(_state.Slave(slaveNo), reason);
        _ = Master?.SendDumpRequestAsync((short)slaveNo, reason);
    }

    private void MarkDump(SlaveRecord r, string reason)
    {
        if (r.State != SlaveSyncState.DUMP)
            _log.Write(PgLogLevel.Warning, $"slave {r.SlaveNo} needs a full dump: {reason}");
        r.State = SlaveSyncState.DUMP;
        r.DumpReason = reason;
        r.DumpRequestedAt = DateTime.UtcNow;
        // Its dump is the first DUMP_START naming it from here on (one in progress is left behind: the dump
        // asked for now comes after it). Appends are ordered with this call: a REFRESH arrives in the master's
        // stream before the dump it causes, and a DUMP_REQUEST is sent only after this.
        r.DumpSinceRecno = TxLog.NextRecno;
        r.ClearDumpProgress();
        _stateDirty = true;
    }

    /// <summary>MCP REFRESH from the master: every slave goes to DUMP.</summary>
    internal void OnRefresh()
    {
        lock (_stateLock)
        {
            foreach (SlaveRecord r in _state.Slaves)
            {
                // A slave that never connected keeps its reason: it is not owed a dump on every master connect.
                if (!(r.State == SlaveSyncState.DUMP && r.DumpReason == SlaveRecord.NeverSynced))
                    MarkDump(r, "MCP REFRESH");
            }
        }
        _log.Write(PgLogLevel.Log, "MCP REFRESH: every slave gets a full dump");
        _ = Master?.SendDumpRequestAsync(-1, "MCP REFRESH");
    }

    /// <summary>Slaves whose dump the master has not been told about yet (sent when it connects).</summary>
    internal List<(short Slave, string Reason)> PendingDumps()
    {
        var list = new List<(short, string)>();
        lock (_stateLock)
        {
            foreach (SlaveRecord r in _state.Slaves)
            {
                // Not for a slave that never connected (it may stream from record 1, or asks when it connects),
                // nor for one whose dump is already whole in the queue (it is only slow to apply it).
                if (r.State == SlaveSyncState.DUMP && r.DumpReason != SlaveRecord.NeverSynced && r.DumpEndRecno is null)
                    list.Add(((short)r.SlaveNo, r.DumpReason ?? "needs a dump"));
            }
        }
        return list;
    }

    /// <summary>
    /// Recycling by mcp_queue_min_size / mcp_queue_max_size against the slaves' acknowledged positions;
    /// slaves that fell behind the new start go to DUMP.
    /// </summary>
    private async Task RecycleLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.RecycleInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                RecycleOnce();
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal RecycleResult RecycleOnce()
    {
        McpServerSettings s = _settings;
        SlavePosition[] positions;
        lock (_stateLock)
        {
            long first = TxLog.FirstRecno;
            positions = _state.Slaves
                .Where(r => r.State != SlaveSyncState.DUMP || r.DumpSinceRecno is not null)
                .Select(r => new SlavePosition(r.SlaveNo, RecyclePosition(r, first)))
                .ToArray();
        }
        RecycleResult result = TxLog.Recycle(s.QueueMinSize, s.QueueMaxSize, positions);
        if (result.SegmentsRemoved > 0)
        {
            _log.Write(PgLogLevel.Log, $"recycled {result.SegmentsRemoved} txlog segment(s), {result.BytesFreed} bytes; the queue now starts at record {result.FirstRecno}");
            foreach (int slave in result.SlavesBehind)
            {
                if (DumpStillServable(slave, result.FirstRecno))
                    continue; // in DUMP already, and where its dump starts (or will) is still held
                RequestDump(slave, $"its next record was recycled (mcp_queue_max_size reached; the queue starts at {result.FirstRecno})");
            }
            foreach (SlaveSession session in SlaveSessions())
                session.Wake();
        }
        return result;
    }

    /// <summary>ECHO every third of mcp_echo_timeout; sessions silent for longer than the timeout are closed.</summary>
    private async Task EchoLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                TimeSpan timeout = _settings.EchoTimeout;
                await Task.Delay(timeout / 3, _stop.Token).ConfigureAwait(false);
                Session[] sessions;
                lock (_sessionsLock)
                    sessions = [.. _slaves.Values, .. _master is null ? Array.Empty<Session>() : [_master]];
                foreach (Session s in sessions)
                {
                    if (s.SilentFor > timeout)
                    {
                        s.Abort($"nothing heard for {s.SilentFor.TotalSeconds:0} s (mcp_echo_timeout is {timeout.TotalSeconds:0} s)");
                        continue;
                    }
                    _ = s.SendEchoAsync();
                }
                lock (_stateLock)
                {
                    if (_master is not null)
                        _state.MasterLastSeen = DateTime.UtcNow - (_master?.SilentFor ?? TimeSpan.Zero);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task FlushMasterAppendsAsync()
    {
        try
        {
            lock (AppendLock)
                TxLog.Flush();
            await TxLog.WaitForDurableAsync(TxLog.LastRecno).AsTask().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TxLogException or TimeoutException or ObjectDisposedException)
        {
            _log.Write(PgLogLevel.Error, $"could not flush the txlog at shutdown: {ex.Message}");
        }
    }

    /// <summary>The txlog has a single appender: the master session, or the MCP itself, under this lock.</summary>
    internal object AppendLock { get; } = new();

    internal static string ErrorText(ErrorCode code) => code.ToString();
}
