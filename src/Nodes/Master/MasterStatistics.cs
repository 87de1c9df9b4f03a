namespace Mammoth.Nodes.Master;

/// <summary>Counters of a running master agent, readable from any thread.</summary>
public sealed class MasterStatistics
{
    private long _sessions;
    private long _transactions;
    private long _transactionsShipped;
    private long _rows;
    private long _records;
    private long _recordBytes;
    private long _recordsSkipped;
    private long _heartbeats;
    private long _confirmedLsn;
    private long _durableLsn;
    private long _streaming;
    private long _peakInFlight;
    private long _lastShippedLsn;

    /// <summary>Sessions started (connections to PostgreSQL and the MCP), including the current one.</summary>
    public long Sessions => Volatile.Read(ref _sessions);

    /// <summary>Committed transactions read from the slot (heartbeats and skipped ones included).</summary>
    public long Transactions => Volatile.Read(ref _transactions);

    /// <summary>Transactions that produced at least one record.</summary>
    public long TransactionsShipped => Volatile.Read(ref _transactionsShipped);

    /// <summary>Row changes put into records.</summary>
    public long Rows => Volatile.Read(ref _rows);

    /// <summary>Records handed to the MCP link (RELATION and DATA).</summary>
    public long Records => Volatile.Read(ref _records);

    /// <summary>Bytes of those records.</summary>
    public long RecordBytes => Volatile.Read(ref _recordBytes);

    /// <summary>Records not sent because the MCP's WELCOME said it already stored them (re-streamed after a reconnect).</summary>
    public long RecordsSkipped => Volatile.Read(ref _recordsSkipped);

    /// <summary>Heartbeat transactions the agent committed.</summary>
    public long Heartbeats => Volatile.Read(ref _heartbeats);

    /// <summary>The last LSN confirmed to the slot (end LSN of a commit whose records are durable).</summary>
    public ulong ConfirmedLsn => (ulong)Volatile.Read(ref _confirmedLsn);

    /// <summary>Commit LSN of the newest transaction that produced records.</summary>
    public ulong LastShippedLsn => (ulong)Volatile.Read(ref _lastShippedLsn);

    /// <summary>Commit LSN of the newest record the MCP reported durable.</summary>
    public ulong DurableLsn => (ulong)Volatile.Read(ref _durableLsn);

    /// <summary>Most bytes ever queued or sent and not yet durable (bounded by <see cref="MasterAgentOptions.MaxInFlightBytes"/> plus one record).</summary>
    public long PeakInFlightBytes => Volatile.Read(ref _peakInFlight);

    /// <summary>Whether a session is streaming right now.</summary>
    public bool IsStreaming => Volatile.Read(ref _streaming) != 0;

    // Written by one thread each (the capture loop, the confirmer, the request worker), read by any:
    // plain volatile stores suffice and keep the hot path free of interlocked operations.
    internal void SessionStarted() => Interlocked.Increment(ref _sessions);
    internal void SetStreaming(bool on) => Volatile.Write(ref _streaming, on ? 1 : 0);
    internal void Transaction(bool shipped)
    {
        Volatile.Write(ref _transactions, _transactions + 1);
        if (shipped)
            Volatile.Write(ref _transactionsShipped, _transactionsShipped + 1);
    }
    internal void Shipped(ulong commitLsn) => Volatile.Write(ref _lastShippedLsn, (long)commitLsn);
    internal void AddRows(long n) => Volatile.Write(ref _rows, _rows + n);
    internal void Record(int bytes)
    {
        Volatile.Write(ref _records, _records + 1);
        Volatile.Write(ref _recordBytes, _recordBytes + bytes);
    }
    internal void InFlight(long bytes)
    {
        if (bytes > _peakInFlight)
            Volatile.Write(ref _peakInFlight, bytes);
    }
    internal void RecordSkipped() => Volatile.Write(ref _recordsSkipped, _recordsSkipped + 1);
    internal void Heartbeat() => Volatile.Write(ref _heartbeats, _heartbeats + 1);
    internal void Confirmed(ulong lsn) => Volatile.Write(ref _confirmedLsn, (long)lsn);
    internal void Durable(ulong lsn) => Volatile.Write(ref _durableLsn, (long)lsn);
}
