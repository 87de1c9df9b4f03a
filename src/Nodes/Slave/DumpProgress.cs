using System.Globalization;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// Where the slave is in a dump (docs/dumps.md): a full dump between its DUMP_START and DUMP_END, or a single
/// table dump between its TABLE_DUMP_BEGIN and TABLE_DUMP_END. Immutable: the applier keeps one as of the
/// last commit and one as of the last applied record, and a rollback simply goes back to the first.
/// </summary>
internal sealed record DumpProgress
{
    public static DumpProgress Idle { get; } = new();

    /// <summary>The running full dump's dump_id; null outside a full dump (data records are applied again).</summary>
    public uint? FullDumpId { get; init; }

    /// <summary>Record of the DUMP_START (full dump) or TABLE_DUMP_BEGIN (single table dump).</summary>
    public long StartRecno { get; init; }

    /// <summary>Tables the dump announced (a single table dump: 1).</summary>
    public int TablesTotal { get; init; }
    public int TablesDone { get; init; }

    /// <summary>Rows and bytes of rows loaded by this dump so far (the current table's included).</summary>
    public long Rows { get; init; }
    public long Bytes { get; init; }

    public DateTime? StartedAt { get; init; }

    /// <summary>The table being loaded ("schema.name"), between its TABLE_DUMP_BEGIN and TABLE_DUMP_END.</summary>
    public string? CurrentTable { get; init; }

    /// <summary>DATA records skipped inside the running full dump.</summary>
    public long SkippedDataRecords { get; init; }

    /// <summary>The summary line of the last finished dump.</summary>
    public string? LastSummary { get; init; }

    public bool IsFull => FullDumpId is not null;

    public bool Running => FullDumpId is not null || CurrentTable is not null;

    /// <summary>"full dump 7: 10 tables, 1234 rows (5.6 MB) in 2.5 s, records 100..160".</summary>
    internal string Summarize(long endRecno, DateTime nowUtc, string? table = null)
    {
        var ci = CultureInfo.InvariantCulture;
        string what = FullDumpId is { } id
            ? string.Create(ci, $"full dump {id}: {TablesDone} table{(TablesDone == 1 ? "" : "s")}")
            : $"table dump of {table}";
        double seconds = StartedAt is { } s ? Math.Max(0, (nowUtc - s).TotalSeconds) : 0;
        return string.Create(ci, $"{what}, {Rows} row{(Rows == 1 ? "" : "s")} ({FormatBytes(Bytes)}) in {seconds:0.0} s, records {StartRecno}..{endRecno}");
    }

    internal static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} kB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.00} GB"),
    };
}
