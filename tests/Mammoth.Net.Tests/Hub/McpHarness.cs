using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using Mammoth.Log.Records;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Net.Tests.Hub;

/// <summary>An in-process MCP on a free loopback port with its own txlog folder, and clients for it.</summary>
internal sealed class McpHarness : IAsyncDisposable
{
    public const string AuthKey = "test-auth-key";
    private readonly TempDirectory _dir = new();
    private readonly StringWriter _logText = new();

    public McpServer Server { get; private set; } = null!;
    public string TxlogPath => _dir.File("queue");
    public string LogText
    {
        get
        {
            lock (_logText)
                return _logText.ToString();
        }
    }

    public int Port => Server.LocalEndPoint.Port;

    private string _extraConfig = "";
    private McpServerOptions? _options;

    public static async Task<McpHarness> StartAsync(string extraConfig = "", McpServerOptions? options = null)
    {
        var h = new McpHarness { _extraConfig = extraConfig, _options = options };
        await h.StartServerAsync();
        return h;
    }

    private async Task StartServerAsync()
    {
        McpServerSettings settings = McpServerSettings.Parse(ConfigText(_extraConfig), "test-mcp.conf");
        Server = new McpServer(settings, new MammothLog(TextWriter.Synchronized(_logText), PgLogLevel.Debug1), _options ?? new McpServerOptions
        {
            StateSaveInterval = TimeSpan.FromMilliseconds(50),
            Preallocation = Mammoth.Log.Storage.SegmentPreallocation.Sparse,
        });
        await Server.StartAsync();
    }

    /// <summary>Stops the server (as SIGTERM does), lets <paramref name="whileDown"/> look at its files, and starts a new one on the same folder.</summary>
    public async Task RestartAsync(Action? whileDown = null)
    {
        await Server.DisposeAsync();
        whileDown?.Invoke();
        await StartServerAsync();
    }

    public string ConfigText(string extra, int port = 0) => $"""
        mcp_listen_address = 127.0.0.1
        mcp_listen_port = {port}
        mcp_authkey = '{AuthKey}'
        mcp_max_slaves = 8
        mcp_txlog_path = '{TxlogPath}'
        mcp_segment_size = 1MB
        mcp_queue_min_size = 64MB
        mcp_queue_max_size = 1GB
        mcp_log_level = debug1
        {extra}
        """;

    public string WriteConfig(string extra, int port)
    {
        string path = _dir.File("mcp.conf");
        File.WriteAllText(path, ConfigText(extra, port));
        return path;
    }

    public McpClientOptions Options(NodeRole role, short slave = -1, string? key = null, bool ssl = false, IPAddress? from = null, ulong systemId = 42) => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        AuthKey = key ?? AuthKey,
        Role = role,
        SlaveNo = slave,
        RequireSsl = ssl,
        LocalAddress = from,
        SystemId = systemId,
        Name = role == NodeRole.Master ? "test-master" : $"test-slave-{slave}",
    };

    public Task<MasterLink> MasterAsync(ulong systemId = 42) => MasterLink.ConnectAsync(Options(NodeRole.Master, systemId: systemId));

    public Task<SlaveLink> SlaveAsync(short no) => SlaveLink.ConnectAsync(Options(NodeRole.Slave, no));

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>Records a test master sends: transaction n has commit LSN 1000 + n and sections for chosen slaves.</summary>
internal static class TestRecords
{
    public const uint Epoch = 1;

    /// <summary>Record for transaction <paramref name="n"/>: one section per entry of <paramref name="slaveSets"/>, each holding n.</summary>
    public static byte[] Transaction(long n, params SlaveSet[] slaveSets)
    {
        using var b = new RecordBuilder(256);
        b.Begin(RecordKind.Data);
        uint table = 1;
        foreach (SlaveSet set in slaveSets.Length == 0 ? [SlaveSet.All] : slaveSets)
        {
            b.BeginSection(table++, ChangeOp.Insert, set, 1);
            b.BeginTuple(1);
            BinaryPrimitives.WriteInt64BigEndian(b.AddField(8), n);
            b.EndSection();
        }
        return b.Finish(epoch: Epoch, commitLsn: 1000 + (ulong)n, xid: (uint)n, commitTime: PgTime.Now()).ToArray();
    }

    public static long LsnToN(ulong lsn) => (long)lsn - 1000;

    /// <summary>A transaction of about <paramref name="bytes"/> bytes for every slave (to fill segments).</summary>
    public static byte[] Big(long n, int bytes)
    {
        using var b = new RecordBuilder(bytes + 256);
        b.Begin(RecordKind.Data);
        b.BeginSection(1, ChangeOp.Insert, SlaveSet.All, 2);
        b.BeginTuple(2);
        BinaryPrimitives.WriteInt64BigEndian(b.AddField(8), n);
        b.AddField(new byte[bytes]);
        b.EndSection();
        return b.Finish(epoch: Epoch, commitLsn: 1000 + (ulong)n, xid: (uint)n, commitTime: PgTime.Now()).ToArray();
    }

    /// <summary>
    /// A full dump as the master agent ships it (docs/dumps.md): DUMP_START, per table RELATION-less
    /// TABLE_DUMP_BEGIN / CHUNK (rows 1..rowsPerTable, values n) / END, DUMP_END — all with commit LSN
    /// 1000 + <paramref name="afterN"/> and seq 1, 2, 3… so they sort after transaction afterN (seq 0) and
    /// before afterN + 1.
    /// </summary>
    public static List<byte[]> Dump(uint dumpId, SlaveSet slaves, long afterN, int tables = 1, int rowsPerTable = 3)
    {
        var records = new List<byte[]>();
        uint seq = 1;
        ulong lsn = 1000 + (ulong)afterN;
        byte[] Marker(RecordKind kind)
        {
            using var b = new RecordBuilder(256);
            b.Begin(kind);
            Span<byte> m = stackalloc byte[DumpMarker.Size];
            new DumpMarker(dumpId, slaves, tables, lsn + 1).Write(m);
            b.Write(m);
            return b.Finish(epoch: Epoch, commitLsn: lsn, seq: seq++).ToArray();
        }
        byte[] Table(RecordKind kind, uint table, ChangeOp op, int rows)
        {
            using var b = new RecordBuilder(256);
            b.Begin(kind, kind == RecordKind.TableDumpEnd ? RecordFlags.None : RecordFlags.Continued);
            b.BeginSection(table, op, slaves, 1);
            for (int i = 1; i <= rows; i++)
            {
                b.BeginTuple(1);
                BinaryPrimitives.WriteInt64BigEndian(b.AddField(8), i);
            }
            b.EndSection();
            return b.Finish(epoch: Epoch, commitLsn: lsn, seq: seq++).ToArray();
        }
        records.Add(Marker(RecordKind.DumpStart));
        for (uint t = 1; t <= tables; t++)
        {
            records.Add(Table(RecordKind.TableDumpBegin, t, ChangeOp.Truncate, 0));
            records.Add(Table(RecordKind.TableDumpChunk, t, ChangeOp.Insert, rowsPerTable));
            records.Add(Table(RecordKind.TableDumpEnd, t, ChangeOp.Insert, 0));
        }
        records.Add(Marker(RecordKind.DumpEnd));
        return records;
    }

    /// <summary>The values (n) of the sections a slave received in a record, by table.</summary>
    public static List<(uint Table, long N)> Values(ReadOnlySpan<byte> payload)
    {
        var list = new List<(uint, long)>();
        foreach (Section s in PayloadReader.Sections(payload))
        {
            TupleReader t = s.GetTuples();
            while (t.MoveNextTuple())
            {
                t.TryReadField(out ReadOnlySpan<byte> v, out _);
                list.Add((s.TableId, BinaryPrimitives.ReadInt64BigEndian(v)));
            }
        }
        return list;
    }
}

/// <summary>
/// A slave that records what it receives, acks it, and checks recnos are gapless and in order — but for the
/// one gap a slave takes: after the MCP said DUMP, before a DUMP_START naming it.
/// </summary>
internal sealed class RecordingSlave : IAsyncDisposable
{
    private readonly SlaveLink _link;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    public readonly List<(long Recno, RecordKind Kind, ulong Lsn, List<(uint Table, long N)> Values)> Received = [];
    public StateChange? LastState { get; private set; }
    public long Applied { get; private set; }
    /// <summary>Where it jumped to a DUMP_START over a gap (0: never).</summary>
    public long GapTo { get; private set; }
    /// <summary>Acknowledge at most this record (null: everything applied).</summary>
    public long? AckLimit { get; set; }
    private readonly short _no;

    private RecordingSlave(SlaveLink link, short no, long next)
    {
        _link = link;
        _no = no;
        Applied = next - 1;
        _loop = Task.Run(LoopAsync);
    }

    public static async Task<RecordingSlave> StartAsync(McpHarness mcp, short no, long next = 1, bool needsDump = false)
    {
        SlaveLink link = await mcp.SlaveAsync(no);
        await link.SubscribeAsync(next, needsDump: needsDump);
        return new RecordingSlave(link, no, next);
    }

    /// <summary>Acknowledges what it applied (after lifting <see cref="AckLimit"/>).</summary>
    public ValueTask AckNowAsync() => _link.AckAsync(AckLimit is long l ? Math.Min(l, Applied) : Applied);

    public List<(long Recno, RecordKind Kind, ulong Lsn, List<(uint Table, long N)> Values)> Snapshot()
    {
        lock (Received)
            return [.. Received];
    }

    public Task Loop => _loop;

    private async Task LoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            SlaveMessage m = await _link.ReceiveAsync(_cts.Token);
            if (m.State is not null)
            {
                LastState = m.State;
                continue;
            }
            long last = Applied;
            SlaveLink.ForEachRecord(m.Records, (h, rec) =>
            {
                byte[] bytes = rec.ToArray();
                if (h.Recno != last + 1)
                {
                    bool dumpStart = h.Kind == RecordKind.DumpStart && LastState?.State == Mammoth.Log.State.SlaveSyncState.DUMP
                        && DumpMarker.Read(bytes.AsSpan(RecordHeader.Size)).Slaves.Contains(_no);
                    if (!dumpStart)
                        throw new InvalidOperationException($"gap: got record {h.Recno} ({h.Kind}) after {last}");
                    GapTo = h.Recno;
                }
                if (Mammoth.Log.Crc32C.Compute(bytes.AsSpan(RecordHeader.Size)) != h.PayloadCrc)
                    throw new InvalidOperationException($"record {h.Recno}: payload CRC mismatch");
                lock (Received)
                    Received.Add((h.Recno, h.Kind, h.CommitLsn, h.Kind is RecordKind.Data or RecordKind.TableDumpChunk ? TestRecords.Values(bytes.AsSpan(RecordHeader.Size)) : []));
                last = h.Recno;
            });
            Applied = last;
            await _link.AckAsync(AckLimit is long limit ? Math.Min(limit, last) : last, _cts.Token);
        }
    }

    public async Task WaitForAsync(long recno, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (Applied < recno)
        {
            if (_loop.IsFaulted)
                await _loop;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"slave reached {Applied}, expected {recno}");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _link.DisposeAsync();
    }
}

/// <summary>Tests that run one at a time because one of them measures the process's managed memory.</summary>
[Xunit.CollectionDefinition(Name)]
public sealed class HubMemory
{
    public const string Name = "hub memory";
}
