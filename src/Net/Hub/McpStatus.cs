using System.Globalization;
using System.Text;
using System.Text.Json;
using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Log.Storage;

namespace Mammoth.Net.Hub;

/// <summary>One slave line of mcp_stat.</summary>
public sealed record SlaveStatusLine(int SlaveNo, SlaveSyncState State, long FirstRecord, long AckRecord, DateTime? LastSeen,
    bool Connected, long LagRecords, long LagBytes, double LagSeconds, string? HaltError, string? DumpReason,
    long? DumpStartRecord = null, int? DumpTables = null, long? DumpEndRecord = null)
{
    /// <summary>What the status says about a slave in DUMP: where its dump stands, then why it needs one.</summary>
    public string? DumpText
    {
        get
        {
            if (DumpReason is null)
                return null;
            if (DumpStartRecord is not long start)
                return DumpReason;
            var ci = CultureInfo.InvariantCulture;
            string tables = DumpTables == 1 ? "1 table" : string.Create(ci, $"{DumpTables ?? 0} tables");
            string ended = DumpEndRecord is long end ? string.Create(ci, $", ended at record {end} (not yet acknowledged)") : "";
            return string.Create(ci, $"started at record {start} ({tables}){ended}; {DumpReason}");
        }
    }
}

/// <summary>What mcp_stat prints: read from the txlog folder's files, so it works while the MCP is down.</summary>
public sealed record McpStatusReport(
    string Path, bool Sync, long BaseRecno, long LastRecno, long FirstRecno, long AckRecno, long QueueBytes, long DataBytes,
    int MaxSlaves, IReadOnlyList<SlaveStatusLine> Slaves, uint Epoch, ulong MasterSystemId, bool MasterConnected,
    string? MasterAddress, DateTime? MasterLastSeen, int? ServerPid, bool ServerRunning, DateTime StateSavedAt, string? Note)
{
    /// <summary>Reads the txlog (read-only) and the state file of <paramref name="txlogPath"/>.</summary>
    public static McpStatusReport Read(string txlogPath)
    {
        using TxLog log = TxLog.Open(new TxLogOptions { Path = txlogPath, ReadOnly = true, OpenExistingOnly = true, VerifyOnRead = false });
        McpState state = McpStateStore.Load(log.Path);
        long baseRecno = log.FirstRecno, last = log.LastRecno;
        var numbers = new SortedSet<int>(state.Slaves.Select(s => s.SlaveNo));
        for (int i = 0; i < Math.Max(state.MaxSlaves, 0) && numbers.Count < state.MaxSlaves; i++)
            numbers.Add(i);
        DateTime now = DateTime.UtcNow;
        var lines = new List<SlaveStatusLine>();
        foreach (int no in numbers)
        {
            SlaveRecord r = state.Slaves.FirstOrDefault(s => s.SlaveNo == no) ?? new SlaveRecord { SlaveNo = no, DumpReason = "never connected" };
            long lagRecords = Math.Max(0, last - r.AckRecno);
            long lagBytes = lagRecords > 0 ? log.BytesFrom(r.AckRecno + 1) : 0;
            double lagSeconds = 0;
            if (lagRecords > 0 && log.TryReadHeader(Math.Max(r.AckRecno + 1, baseRecno), out RecordHeader h) && h.CommitTime != 0)
                lagSeconds = Math.Max(0, (now - PgTime.ToDateTime(h.CommitTime)).TotalSeconds);
            lines.Add(new SlaveStatusLine(no, r.State, r.AckRecno + 1, r.AckRecno, r.LastSeen, r.Connected && ServerAlive(state),
                lagRecords, lagBytes, lagSeconds, r.HaltError, r.State == SlaveSyncState.DUMP ? r.DumpReason : null,
                r.State == SlaveSyncState.DUMP ? r.DumpStartRecno : null, r.State == SlaveSyncState.DUMP ? r.DumpTables : null,
                r.State == SlaveSyncState.DUMP ? r.DumpEndRecno : null));
        }
        long first = lines.Count > 0 ? lines.Min(l => l.FirstRecord) : baseRecno;
        long ack = lines.Count > 0 ? lines.Min(l => l.AckRecord) : baseRecno - 1;
        bool sync = lines.All(l => l.State == SlaveSyncState.SYNC);
        bool running = ServerAlive(state);
        return new McpStatusReport(log.Path, sync, baseRecno, last, first, ack, log.BytesFrom(first), log.DataBytes,
            state.MaxSlaves, lines, state.Epoch, state.MasterSystemId, state.MasterConnected && running, state.MasterAddress,
            state.MasterLastSeen, state.ServerPid, running, state.SavedAt, log.Recovery.Message);
    }

    private static bool ServerAlive(McpState state) =>
        state.ServerPid is int pid && Diagnostics.ProcessInfo.IsAlive(pid, "mcp_server");

    /// <summary>The guide's lines, in the guide's shapes, then lag, master and epoch.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine("Global TransactionLog statistics:");
        sb.AppendLine(Sync ? "sync: 1 (SYNC)" : "sync: 0 (DESYNC)");
        sb.AppendLine(ci, $"rec nums:      base {BaseRecno,4} last {LastRecno,5}");
        sb.AppendLine(ci, $"              first {FirstRecno,3} ack {AckRecno,4}");
        sb.AppendLine(ci, $"txlog queue size: {QueueBytes}");
        sb.AppendLine(ci, $"txlog data size: {DataBytes}");
        sb.AppendLine();
        sb.AppendLine("Slaves status:");
        sb.AppendLine();
        sb.AppendLine(ci, $"max slaves: {MaxSlaves}");
        sb.AppendLine();
        foreach (SlaveStatusLine s in Slaves)
            sb.AppendLine(ci, $"Slave{s.SlaveNo} -- {s.State}  first record: {s.FirstRecord}  ack record: {s.AckRecord}  time: {CTime(s.LastSeen)}");
        sb.AppendLine();
        sb.AppendLine("Lag:");
        foreach (SlaveStatusLine s in Slaves)
        {
            sb.Append(ci, $"Slave{s.SlaveNo} -- records: {s.LagRecords}  bytes: {s.LagBytes}  seconds: {s.LagSeconds:0.0}  {(s.Connected ? "connected" : "not connected")}");
            if (s.HaltError is not null)
                sb.Append("  HALTED: ").Append(s.HaltError);
            if (s.DumpText is { } dump)
                sb.Append("  dump: ").Append(dump);
            sb.AppendLine();
        }
        sb.AppendLine();
        string master = MasterConnected ? $"connected from {MasterAddress}" : MasterLastSeen is { } seen ? $"not connected (last seen {CTime(seen)})" : "never connected";
        sb.AppendLine(ci, $"Master: {master}{(MasterSystemId != 0 ? $"  system identifier: {MasterSystemId}" : "")}");
        sb.AppendLine(ci, $"Epoch: {Epoch}");
        sb.AppendLine(ServerRunning ? $"mcp_server: running (pid {ServerPid})" : "mcp_server: not running (figures as of its last save)");
        if (Note is not null)
            sb.AppendLine("Note: " + Note);
        return sb.ToString();
    }

    /// <summary>ctime(3) format, as the guide shows: <c>Tue Dec  5 09:03:09 2006</c>, or <c>--</c>.</summary>
    public static string CTime(DateTime? utc)
    {
        if (utc is not DateTime t)
            return "--";
        DateTime l = t.ToLocalTime();
        return string.Create(CultureInfo.InvariantCulture, $"{l:ddd MMM} {l.Day,2} {l:HH:mm:ss yyyy}");
    }

    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("path", Path);
            w.WriteString("sync", Sync ? "SYNC" : "DESYNC");
            w.WriteNumber("base", BaseRecno);
            w.WriteNumber("last", LastRecno);
            w.WriteNumber("first", FirstRecno);
            w.WriteNumber("ack", AckRecno);
            w.WriteNumber("queue_size", QueueBytes);
            w.WriteNumber("data_size", DataBytes);
            w.WriteNumber("max_slaves", MaxSlaves);
            w.WriteNumber("epoch", Epoch);
            w.WriteStartObject("master");
            w.WriteBoolean("connected", MasterConnected);
            w.WriteString("address", MasterAddress);
            w.WriteNumber("system_identifier", MasterSystemId);
            if (MasterLastSeen is { } ms2)
                w.WriteString("last_seen", ms2);
            w.WriteEndObject();
            w.WriteBoolean("server_running", ServerRunning);
            w.WriteStartArray("slaves");
            foreach (SlaveStatusLine s in Slaves)
            {
                w.WriteStartObject();
                w.WriteNumber("slave", s.SlaveNo);
                w.WriteString("state", s.State.ToString());
                w.WriteNumber("first_record", s.FirstRecord);
                w.WriteNumber("ack_record", s.AckRecord);
                if (s.LastSeen is { } seen)
                    w.WriteString("time", seen);
                else
                    w.WriteNull("time");
                w.WriteBoolean("connected", s.Connected);
                w.WriteNumber("lag_records", s.LagRecords);
                w.WriteNumber("lag_bytes", s.LagBytes);
                w.WriteNumber("lag_seconds", Math.Round(s.LagSeconds, 3));
                w.WriteString("halt_error", s.HaltError);
                w.WriteString("dump_reason", s.DumpReason);
                WriteOptional(w, "dump_start_record", s.DumpStartRecord);
                WriteOptional(w, "dump_tables", s.DumpTables);
                WriteOptional(w, "dump_end_record", s.DumpEndRecord);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, long? value)
    {
        if (value is long v)
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }
}
