using Mammoth.Net.Diagnostics;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// The agent's status, updated by the agent's loops and written to replication_data_path/slave_status.json
/// about once a second and right after changes that matter (connect, halt, dump wait).
/// </summary>
internal sealed class StatusTracker
{
    private readonly Lock _lock = new();
    private readonly SlaveAgentStatus _status;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly MammothLog _log;
    private readonly string _directory;
    private bool _writeFailed;

    public StatusTracker(string directory, int slaveNo, MammothLog log)
    {
        _directory = directory;
        _log = log;
        _status = new SlaveAgentStatus
        {
            SlaveNo = slaveNo,
            AgentPid = Environment.ProcessId,
            StartedAt = DateTime.UtcNow,
        };
    }

    /// <summary>Changes the status; <paramref name="writeNow"/> wakes the writer instead of waiting for the next tick.</summary>
    public void Update(Action<SlaveAgentStatus> change, bool writeNow = true)
    {
        lock (_lock)
            change(_status);
        if (writeNow)
            Signal();
    }

    /// <summary>Records received by the reader (the newest recno of a frame).</summary>
    public void OnReceived(int count, long lastRecno)
    {
        lock (_lock)
        {
            _status.ReceivedSinceStart += count;
            if (lastRecno > _status.RecordsReceived)
                _status.RecordsReceived = lastRecno;
            if (lastRecno > _status.McpLastRecno)
                _status.McpLastRecno = lastRecno;
        }
    }

    /// <summary>A commit: the applied record and its master commit time.</summary>
    public void OnApplied(in ApplyProgress committed, long rowsApplied)
    {
        lock (_lock)
        {
            if (committed.AppliedRecno > _status.RecordsRestored)
                _status.RestoredSinceStart += committed.AppliedRecno - _status.RecordsRestored;
            _status.RecordsRestored = committed.AppliedRecno;
            if (_status.RecordsReceived < committed.AppliedRecno)
                _status.RecordsReceived = committed.AppliedRecno;
            _status.LastAppliedCommitTime = committed.CommitTimeUtc;
            _status.LastAppliedAt = DateTime.UtcNow;
            _status.RowsApplied = rowsApplied;
        }
    }

    /// <summary>Sets the applied record as read from the database at open (not counted as restored since start).</summary>
    public void OnOpened(in ApplyProgress committed)
    {
        lock (_lock)
        {
            _status.RecordsRestored = committed.AppliedRecno;
            if (_status.RecordsReceived < committed.AppliedRecno)
                _status.RecordsReceived = committed.AppliedRecno;
            _status.LastAppliedCommitTime = committed.CommitTimeUtc;
            _status.McpId ??= committed.McpId;
        }
        Signal();
    }

    public void Signal()
    {
        try
        {
            if (_changed.CurrentCount == 0)
                _changed.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    public async Task RunAsync(TimeSpan interval, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                WriteNow();
                await _changed.WaitAsync(interval, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A copy of the status with lag figures as of now.</summary>
    public SlaveAgentStatus Snapshot()
    {
        lock (_lock)
        {
            DateTime now = DateTime.UtcNow;
            _status.UpdatedAt = now;
            _status.LagRecords = Math.Max(0, _status.McpLastRecno - _status.RecordsRestored);
            _status.LagSeconds = _status.LagRecords == 0 ? 0
                : _status.LastAppliedCommitTime is { } t ? Math.Max(0, (now - t).TotalSeconds) : null;
            return _status.Clone();
        }
    }

    public void WriteNow()
    {
        SlaveAgentStatus s = Snapshot();
        try
        {
            s.WriteTo(_directory);
            _writeFailed = false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (!_writeFailed)
                _log.Write(PgLogLevel.Warning, $"cannot write the slave status file in {_directory} (replication_data_path): {ex.Message}");
            _writeFailed = true;
        }
    }
}
