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

    public static async Task<McpHarness> StartAsync(string extraConfig = "", McpServerOptions? options = null)
    {
        var h = new McpHarness();
        McpServerSettings settings = McpServerSettings.Parse(h.ConfigText(extraConfig), "test-mcp.conf");
        h.Server = new McpServer(settings, new MammothLog(TextWriter.Synchronized(h._logText), PgLogLevel.Debug1), options ?? new McpServerOptions
        {
            StateSaveInterval = TimeSpan.FromMilliseconds(50),
            Preallocation = Mammoth.Log.Storage.SegmentPreallocation.Sparse,
        });
        await h.Server.StartAsync();
        return h;
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

/// <summary>A slave that records what it receives, acks it, and checks recnos are gapless and in order.</summary>
internal sealed class RecordingSlave : IAsyncDisposable
{
    private readonly SlaveLink _link;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    public readonly List<(long Recno, RecordKind Kind, ulong Lsn, List<(uint Table, long N)> Values)> Received = [];
    public StateChange? LastState { get; private set; }
    public long Applied { get; private set; }

    private RecordingSlave(SlaveLink link, long next)
    {
        _link = link;
        Applied = next - 1;
        _loop = Task.Run(LoopAsync);
    }

    public static async Task<RecordingSlave> StartAsync(McpHarness mcp, short no, long next = 1)
    {
        SlaveLink link = await mcp.SlaveAsync(no);
        await link.SubscribeAsync(next);
        return new RecordingSlave(link, next);
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
                if (h.Recno != last + 1)
                    throw new InvalidOperationException($"gap: got record {h.Recno} after {last}");
                byte[] bytes = rec.ToArray();
                if (Mammoth.Log.Crc32C.Compute(bytes.AsSpan(RecordHeader.Size)) != h.PayloadCrc)
                    throw new InvalidOperationException($"record {h.Recno}: payload CRC mismatch");
                lock (Received)
                    Received.Add((h.Recno, h.Kind, h.CommitLsn, h.Kind == RecordKind.Data ? TestRecords.Values(bytes.AsSpan(RecordHeader.Size)) : []));
                last = h.Recno;
            });
            Applied = last;
            await _link.AckAsync(last, _cts.Token);
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
