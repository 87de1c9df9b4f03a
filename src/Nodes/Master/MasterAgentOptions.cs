namespace Mammoth.Nodes.Master;

/// <summary>
/// Tuning of the master agent. The defaults suit production; tests shrink them. None of these is a
/// node.conf setting (the node file holds exactly the guide's names).
/// </summary>
public sealed class MasterAgentOptions
{
    /// <summary>
    /// Largest payload of one DATA record (default 8 MiB). A bigger transaction is shipped as several parts,
    /// each but the last flagged <c>Continued</c>; a part exceeds it only when a single row does.
    /// </summary>
    public int MaxRecordPayload { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// Bytes of records queued or sent but not yet durable at the MCP (default 64 MiB). Capture pauses above
    /// it, so the agent's memory stays bounded however large or fast the transactions are.
    /// </summary>
    public long MaxInFlightBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Small records are batched into RECORDS frames of about this size (default 1 MiB).</summary>
    public int FrameBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// When nothing was committed through the stream for this long, the agent commits a transactional
    /// logical message (<c>pg_logical_emit_message(true, 'mammoth', 'heartbeat')</c>) so that the slot can
    /// advance past unpublished traffic and WAL is released (default 10 s).
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Upper bound for Npgsql's standby status interval (default 10 s); the agent also keeps it below a
    /// third of the server's <c>wal_sender_timeout</c> so a capture paused by back-pressure stays connected.
    /// </summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Least time between two flush confirmations the agent sends itself (default 100 ms).</summary>
    public TimeSpan ConfirmInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>First wait before reconnecting after a failure (default 1 s); it doubles up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between reconnection attempts (default 30 s).</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the agent looks for table dumps requested by enable_replication() besides the NOTIFY the enable sends (default 1 s).</summary>
    public TimeSpan DumpPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Wait before trying again when a dump's snapshot could not be taken (default 5 s).</summary>
    public TimeSpan DumpRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Connections that read a dump in parallel, all at the dump's one snapshot (default 2; node.conf
    /// <c>replication_dump_workers</c>). Tables, and block ranges of large tables, are read side by side and
    /// shipped one table after another.
    /// </summary>
    public int DumpWorkers { get; init; } = 2;

    /// <summary>A table at least this large (on disk) is split into block ranges read in parallel, up to one per worker (default 32 MiB).</summary>
    public long DumpSplitBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>Tests only: while false the agent confirms nothing to the slot, as if it crashed before every confirmation.</summary>
    internal bool ConfirmToSlot { get; set; } = true;
}
