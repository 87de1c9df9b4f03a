using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// What the slave agent reports about itself in <c>replication_data_path/slave_status.json</c> (written
/// about once a second and on every change, through a temp file and a rename), read by <c>slave_stat</c>.
/// </summary>
/// <remarks>
/// The guide's two numbers: "records received" is the highest record number received from the MCP and
/// "records restored" the highest applied and committed here. Record numbers of one slave have no gaps, so
/// both count records since the slave first synced from its MCP queue.
/// </remarks>
public sealed class SlaveAgentStatus
{
    public int FormatVersion { get; set; } = 1;
    public int SlaveNo { get; set; }
    /// <summary>connecting, streaming, halted, waiting for a full dump, loading a full dump, waiting for MCP BATCHUPDATE (batch mode), database unavailable, disconnected, stopped.</summary>
    public string State { get; set; } = "starting";
    public int? AgentPid { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public bool Connected { get; set; }
    public string? Mcp { get; set; }
    public Guid? McpId { get; set; }
    public long RecordsReceived { get; set; }
    public long RecordsRestored { get; set; }
    /// <summary>Records received and applied since the agent started.</summary>
    public long ReceivedSinceStart { get; set; }
    public long RestoredSinceStart { get; set; }
    public long RowsApplied { get; set; }
    /// <summary>The MCP's last record as far as the agent knows (WELCOME, or the newest record received since).</summary>
    public long McpLastRecno { get; set; }
    public long LagRecords { get; set; }
    /// <summary>Seconds between now and the master commit of the last applied record, while records are outstanding; 0 when caught up.</summary>
    public double? LagSeconds { get; set; }
    public DateTime? LastAppliedCommitTime { get; set; }
    public DateTime? LastAppliedAt { get; set; }
    public bool Halted { get; set; }
    public long? HaltedRecno { get; set; }
    public string? HaltedError { get; set; }
    public DateTime? HaltedSince { get; set; }
    public bool WaitingForDump { get; set; }
    public string? DumpReason { get; set; }
    /// <summary>A dump is being loaded: a full dump (DUMP_START … DUMP_END) or one table's.</summary>
    public bool DumpRunning { get; set; }
    /// <summary>The running full dump's id; null for a single table dump.</summary>
    public long? DumpId { get; set; }
    public int DumpTablesDone { get; set; }
    /// <summary>Tables the full dump announced (1 for a single table dump).</summary>
    public int DumpTablesTotal { get; set; }
    /// <summary>Rows and bytes of rows loaded by the running dump (the current table's, not committed yet, included).</summary>
    public long DumpRows { get; set; }
    public long DumpBytes { get; set; }
    /// <summary>The table being loaded.</summary>
    public string? DumpTable { get; set; }
    public DateTime? DumpStartedAt { get; set; }
    /// <summary>Summary of the last finished dump.</summary>
    public string? LastDump { get; set; }
    /// <summary>replication_slave_batch_mode is on: the agent connects to the MCP only for MCP BATCHUPDATE.</summary>
    public bool BatchMode { get; set; }
    /// <summary>Batch mode: a batch is being fetched (else the agent waits for MCP BATCHUPDATE).</summary>
    public bool BatchFetching { get; set; }
    /// <summary>The mammoth.requests ids the running batch answers.</summary>
    public string? BatchRequests { get; set; }
    public DateTime? BatchStartedAt { get; set; }
    /// <summary>Summary of the last finished batch (the result written into mammoth.requests).</summary>
    public string? LastBatch { get; set; }
    public DateTime? LastBatchAt { get; set; }
    /// <summary>The last connection problem (MCP or database), while it lasts.</summary>
    public string? Problem { get; set; }

    public const string FileName = "slave_status.json";

    /// <summary>Writes the status into <paramref name="directory"/> atomically (temp file, then rename).</summary>
    public void WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName);
        string temp = path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(this, SlaveStatusJsonContext.Default.SlaveAgentStatus));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// Reads the status from a replication_data_path directory (or the file itself). Throws
    /// <see cref="IOException"/> with one sentence when there is none or it cannot be read.
    /// </summary>
    public static SlaveAgentStatus Read(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
        {
            throw new IOException(Directory.Exists(path)
                ? $"no slave status in {path}: the slave agent has not run with replication_data_path = '{path}'"
                : $"{path} does not exist; give the slave's replication_data_path (or -c node.conf)");
        }
        byte[] bytes = File.ReadAllBytes(file);
        if (bytes.Length == 0)
            throw new IOException($"{file} is empty; the slave agent writes it once it runs");
        try
        {
            return JsonSerializer.Deserialize(bytes, SlaveStatusJsonContext.Default.SlaveAgentStatus)
                ?? throw new IOException($"{file} holds no status");
        }
        catch (JsonException ex)
        {
            throw new IOException($"{file} is not a slave status file ({ex.Message})");
        }
    }

    internal SlaveAgentStatus Clone() => (SlaveAgentStatus)MemberwiseClone();

    public string ToJson() => JsonSerializer.Serialize(this, SlaveStatusJsonContext.Default.SlaveAgentStatus);

    /// <summary>The guide's two lines first, then the rest.</summary>
    public string ToText(DateTime nowUtc, bool agentAlive)
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"records received: {RecordsReceived}\n");
        sb.Append(ci, $"records restored: {RecordsRestored}\n");
        sb.Append('\n');
        sb.Append(ci, $"slave {SlaveNo}: {State}");
        if (Connected && Mcp is not null)
            sb.Append(ci, $" (connected to the MCP at {Mcp})");
        else if (!Connected)
            sb.Append(" (not connected to the MCP)");
        sb.Append('\n');
        sb.Append(ci, $"last received record: {RecordsReceived}  ({ReceivedSinceStart} since the agent started)\n");
        sb.Append(ci, $"last applied record:  {RecordsRestored}  ({RestoredSinceStart} since the agent started, {RowsApplied} rows)");
        if (LastAppliedCommitTime is { } ct)
            sb.Append(ci, $", committed on the master {Time(ct)}");
        sb.Append('\n');
        sb.Append(ci, $"lag: {LagRecords} record{(LagRecords == 1 ? "" : "s")}");
        if (LagSeconds is { } lag)
            sb.Append(ci, $", {lag:0.0} s");
        sb.Append(ci, $" (the MCP's last known record is {McpLastRecno})\n");
        if (Halted)
        {
            sb.Append(ci, $"HALTED at record {HaltedRecno}{(HaltedSince is { } hs ? " since " + Time(hs) : "")}: {HaltedError}\n");
            sb.Append("  (the agent retries by itself; fix the cause on the slave and it resumes)\n");
        }
        if (WaitingForDump)
            sb.Append(ci, $"waiting for a full dump: {DumpReason}\n");
        if (DumpRunning)
        {
            sb.Append(DumpId is { } dumpId ? string.Create(ci, $"dump: full dump {dumpId}") : "dump: table dump");
            sb.Append(ci, $", {DumpTablesDone} of {DumpTablesTotal} table{(DumpTablesTotal == 1 ? "" : "s")} done, {DumpRows} row{(DumpRows == 1 ? "" : "s")} ({DumpProgress.FormatBytes(DumpBytes)}) loaded");
            if (DumpTable is not null)
                sb.Append(ci, $"; loading {DumpTable}");
            if (DumpStartedAt is { } started)
                sb.Append(ci, $"; started {Time(started)}");
            sb.Append('\n');
        }
        if (LastDump is not null)
            sb.Append(ci, $"last dump: {LastDump}\n");
        if (BatchMode)
        {
            sb.Append(BatchFetching
                ? string.Create(ci, $"batch mode: fetching a batch (request {BatchRequests}{(BatchStartedAt is { } bs ? ", started " + Time(bs) : "")})\n")
                : "batch mode: waiting for MCP BATCHUPDATE\n");
            if (LastBatch is not null)
                sb.Append(ci, $"last batch: {LastBatch}{(LastBatchAt is { } lb ? ", finished " + Time(lb) : "")}\n");
        }
        if (Problem is not null)
            sb.Append(ci, $"problem: {Problem}\n");
        if (McpId is { } id)
            sb.Append(ci, $"MCP queue: {id}\n");
        double age = (nowUtc - UpdatedAt).TotalSeconds;
        sb.Append(agentAlive
            ? string.Create(ci, $"agent: running (pid {AgentPid}), status written {age:0.0} s ago\n")
            : string.Create(ci, $"agent: not running; status as of {Time(UpdatedAt)}\n"));
        return sb.ToString();
    }

    private static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>Whether the agent that wrote the status still runs on this machine.</summary>
    public bool AgentIsAlive() => AgentPid is int pid && pid > 0 && Directory.Exists($"/proc/{pid}") && State != "stopped";
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SlaveAgentStatus))]
internal sealed partial class SlaveStatusJsonContext : JsonSerializerContext;
