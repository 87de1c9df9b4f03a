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
    /// <summary>Needs (or is receiving) a full dump: never synced, or its next record was recycled.</summary>
    DUMP,
}

/// <summary>What the MCP remembers about one slave.</summary>
public sealed class SlaveRecord
{
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
        var added = new SlaveRecord { SlaveNo = slaveNo, DumpReason = "never synced" };
        Slaves.Add(added);
        Slaves.Sort((a, b) => a.SlaveNo.CompareTo(b.SlaveNo));
        return added;
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(McpState))]
internal sealed partial class McpStateJson : JsonSerializerContext;
