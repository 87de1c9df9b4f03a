using System.Text.Json.Serialization;

namespace Mammoth.Log.State;

/// <summary>A slave's replication state as the guide names them.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SlaveSyncState>))]
public enum SlaveSyncState
{
    /// <summary>Replicating normally: connected and receiving.</summary>
    SYNC,
    /// <summary>Out of sync: disconnected, halted on an error, or behind, but its next record is still in the queue.</summary>
    DESYNC,
    /// <summary>Needs (or is receiving) a full dump: never synced, its next record was recycled, or MCP REFRESH. Until it acknowledges the DUMP_END of its dump.</summary>
    DUMP,
}

/// <summary>What the MCP remembers about one slave.</summary>
public sealed class SlaveRecord
{
    /// <summary>The dump reason of a slave the MCP has never streamed to (it may still stream from record 1).</summary>
    public const string NeverSynced = "never synced";

    public int SlaveNo { get; set; }
    public SlaveSyncState State { get; set; } = SlaveSyncState.DUMP;
    /// <summary>Last recno the slave acknowledged as applied (0: none).</summary>
    public long AckRecno { get; set; }
    /// <summary>Last time the slave was heard from (UTC), null if never.</summary>
    public DateTime? LastSeen { get; set; }
    public bool Connected { get; set; }
    public string? Address { get; set; }
    /// <summary>The apply error that halted the slave, if any.</summary>
    public string? HaltError { get; set; }
    /// <summary>Why the slave is in DUMP (never synced, recycled past, refresh).</summary>
    public string? DumpReason { get; set; }
    public DateTime? DumpRequestedAt { get; set; }
    /// <summary>
    /// The txlog's next recno when the slave went to DUMP: its dump is the first DUMP_START naming it at or
    /// after this record (null: no dump asked for yet, e.g. never synced).
    /// </summary>
    public long? DumpSinceRecno { get; set; }
    /// <summary>Where its dump started: the DUMP_START naming it (null: not appended yet).</summary>
    public long? DumpStartRecno { get; set; }
    /// <summary>The dump_id of that DUMP_START; its DUMP_END carries the same.</summary>
    public uint? DumpId { get; set; }
    /// <summary>Tables in that dump.</summary>
    public int? DumpTables { get; set; }
    /// <summary>The DUMP_END of that dump: once the slave acknowledges it, the slave is SYNC.</summary>
    public long? DumpEndRecno { get; set; }

    /// <summary>Forgets the dump in progress (the slave left DUMP, or needs another dump).</summary>
    public void ClearDumpProgress()
    {
        DumpStartRecno = null;
        DumpId = null;
        DumpTables = null;
        DumpEndRecno = null;
    }
}

/// <summary>One promotion, kept so that PROMOTE BACK can undo it.</summary>
public sealed class PromotionRecord
{
    public uint Epoch { get; set; }
    public int PromotedSlave { get; set; }
    public ulong OldMasterSystemId { get; set; }
    public bool Forced { get; set; }
    public DateTime At { get; set; }
}

/// <summary>
/// The MCP's durable state besides the txlog: epoch, master identity, per-slave acknowledgements and
/// states, the promotion stack. Saved as JSON (so mcp_stat and people can read it) by
/// <see cref="McpStateStore"/>.
/// </summary>
public sealed class McpState
{
    public int FormatVersion { get; set; } = 1;
    /// <summary>Identity of this queue: a slave that synced from another queue (a replaced txlog) needs a dump.</summary>
    public Guid McpId { get; set; } = Guid.NewGuid();
    /// <summary>Master generation; raised by every promotion. Records of older epochs are refused.</summary>
    public uint Epoch { get; set; } = 1;
    /// <summary>PostgreSQL system identifier of the master of this epoch (0: not yet seen).</summary>
    public ulong MasterSystemId { get; set; }
    public bool MasterConnected { get; set; }
    public string? MasterAddress { get; set; }
    public DateTime? MasterLastSeen { get; set; }
    public int MaxSlaves { get; set; }
    public DateTime SavedAt { get; set; }
    public int? ServerPid { get; set; }
    public List<SlaveRecord> Slaves { get; set; } = [];
    public List<PromotionRecord> Promotions { get; set; } = [];

    public SlaveRecord Slave(int slaveNo)
    {
        foreach (SlaveRecord s in Slaves)
            if (s.SlaveNo == slaveNo)
                return s;
        var added = new SlaveRecord { SlaveNo = slaveNo, DumpReason = SlaveRecord.NeverSynced };
        Slaves.Add(added);
        Slaves.Sort((a, b) => a.SlaveNo.CompareTo(b.SlaveNo));
        return added;
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(McpState))]
internal sealed partial class McpStateJson : JsonSerializerContext;
