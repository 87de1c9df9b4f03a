namespace Mammoth.Nodes.Slave;

/// <summary>Tuning of the apply engine (defaults measured, see docs/slave-agent.md).</summary>
internal sealed class ApplyOptions
{
    /// <summary>Records that arrive together may share one local transaction: at most this many.</summary>
    public int MaxTransactionRecords { get; init; } = 1000;

    /// <summary>… and at most this many record bytes.</summary>
    public long MaxTransactionBytes { get; init; } = 8L * 1024 * 1024;

    /// <summary>… and the transaction commits at the first record boundary after this long.</summary>
    public TimeSpan MaxTransactionDuration { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Sections with at most this many rows go through prepared row statements in the pipelined batch;
    /// bigger ones through COPY into a staging table and one set statement (UPDATE_KEY is always row by row).
    /// </summary>
    public int RowPathMaxRows { get; init; } = 128;

    /// <summary>Statements per round trip.</summary>
    public int MaxBatchCommands { get; init; } = 1000;

    /// <summary>Staging tables are truncated instead of emptied with DELETE after this many rows (temp tables are never vacuumed).</summary>
    public int StageTruncateRows { get; init; } = 20_000;

    /// <summary>
    /// A table dump whose first chunk record carries at least this many row bytes (the master fills chunks to
    /// 1 MiB, so: a table of more than one chunk) drops the table's indexes before its COPY and builds them
    /// again after it, in the same transaction (docs/dumps.md, "Indexes"). 0: always; long.MaxValue: never.
    /// </summary>
    public long DumpIndexRebuildBytes { get; init; } = 512 * 1024;
}
