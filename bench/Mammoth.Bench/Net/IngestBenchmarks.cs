using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Mammoth.Log.Storage;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Bench.Net;

/// <summary>
/// Master → MCP ingest: 64 MiB of 1 KiB DATA records in RECORDS frames of 256 KiB, pipelined (the master
/// sends frame after frame without waiting), timed until the DURABLE covering the last record arrives.
/// </summary>
/// <remarks>
/// <para><b>Methods.</b> <see cref="TxLogAppend"/> is the reference of the issue: TxLog.Append of the same
/// records with the same group-commit size (FlushBytes = 1 MiB) and one durable wait at the end, no network.
/// <see cref="Mcp"/> is a <see cref="MasterLink"/> talking to an in-process <see cref="McpServer"/> over
/// loopback, key index off, VerifyIngest on (the payload CRC of every record the master sends, as by default);
/// <see cref="McpNoVerify"/> the same with VerifyIngest off; <see cref="McpKeyIndex"/> the Mcp case with <c>mcp_key_index = on</c> (the default of
/// mcp_server.conf), which indexes every record in the background. <see cref="NullMcp"/> is the same
/// MasterLink talking to a bare socket that does the handshake, discards the frames and answers one
/// DURABLE at the end: the cost of the client and of the loopback copy alone, and the client's own share
/// of the allocations (the MCP's share is Mcp − NullMcp).</para>
/// <para><b>Fair files.</b> Every iteration gets a fresh folder and a fresh server. Its segments are 128 MiB
/// (so the timed 64 MiB never roll) and zero-filled in the background as by default; the setup (untimed)
/// appends one record, which creates the first segment and starts the preparation of the next, and waits
/// for that preparation to finish. The reference does exactly the same.</para>
/// </remarks>
public class IngestBenchmarks : IThroughputBenchmark
{
    private const long Volume = 64L << 20;
    private const int Records = (int)(Volume / NetBench.RecordSize);
    private const int Frames = (int)(Volume / NetBench.FrameBytes);
    private const string SegmentSize = "128MB";
    private const int FlushBytes = 1 << 20;
    /// <summary>Commit LSN of the last timed record: record 0 (LSN 1) is the untimed first record.</summary>
    private const ulong LastLsn = Records + 1;

    private byte[] _records = [];
    private string? _dir;
    private McpServer? _server;
    private MasterLink? _master;
    private TxLog? _log;
    private Socket? _listener;
    private Task? _sink;

    public long BytesPerOperation => Volume;
    public long RecordsPerOperation => Records;

    [GlobalSetup]
    public void GlobalSetup() => _records = NetBench.Records(Records + 1);

    private ReadOnlyMemory<byte> Record(int i) => _records.AsMemory(i * NetBench.RecordSize, NetBench.RecordSize);

    /// <summary>The timed frames: records 1..Records, <see cref="NetBench.RecordsPerFrame"/> per frame.</summary>
    private ReadOnlyMemory<byte> FramePayload(int f) => _records.AsMemory(NetBench.RecordSize + f * NetBench.FrameBytes, NetBench.FrameBytes);

    // ---- reference: TxLog.Append, same records, same group-commit size -----------------------------------

    [IterationSetup(Target = nameof(TxLogAppend))]
    public void SetupTxLog()
    {
        _dir = Log.BenchFiles.NewDirectory("ingest-ref");
        _log = TxLog.Open(new TxLogOptions
        {
            Path = _dir,
            SegmentSize = 128L << 20,
            FlushBytes = FlushBytes,
            Preallocation = SegmentPreallocation.ZeroFill,
        });
        _log.Append(Record(0).Span);
        _log.FlushAsync().AsTask().GetAwaiter().GetResult();
        _log.SpareReady.GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public async Task TxLogAppend()
    {
        TxLog log = _log!;
        for (int i = 1; i <= Records; i++)
            log.Append(_records.AsSpan(i * NetBench.RecordSize, NetBench.RecordSize));
        await log.FlushAsync().ConfigureAwait(false);
    }

    [IterationCleanup(Target = nameof(TxLogAppend))]
    public void CleanupTxLog()
    {
        _log?.Dispose();
        _log = null;
        Log.BenchFiles.Delete(_dir);
    }

    // ---- the MCP -----------------------------------------------------------------------------------------

    [IterationSetup(Target = nameof(Mcp))]
    public void SetupMcp() => StartMcpAsync(keyIndex: false, verify: true).GetAwaiter().GetResult();

    [IterationSetup(Target = nameof(McpNoVerify))]
    public void SetupMcpNoVerify() => StartMcpAsync(keyIndex: false, verify: false).GetAwaiter().GetResult();

    [IterationSetup(Target = nameof(McpKeyIndex))]
    public void SetupMcpKeyIndex() => StartMcpAsync(keyIndex: true, verify: true).GetAwaiter().GetResult();

    private async Task StartMcpAsync(bool keyIndex, bool verify)
    {
        _dir = Log.BenchFiles.NewDirectory("ingest-mcp");
        _server = new McpServer(NetBench.Settings(_dir, SegmentSize, keyIndex), NetBench.Log(), new McpServerOptions
        {
            FlushBytes = FlushBytes,
            VerifyIngest = verify,
        });
        await _server.StartAsync().ConfigureAwait(false);
        _master = await MasterLink.ConnectAsync(NetBench.Client(_server.LocalEndPoint, NodeRole.Master)).ConfigureAwait(false);
        await _master.SendRecordsAsync(Record(0)).ConfigureAwait(false);
        await _master.WaitDurableAsync(NetBench.Epoch, 1, 0).ConfigureAwait(false);
        await _server.TxLog.SpareReady.ConfigureAwait(false);
    }

    [Benchmark]
    public Task Mcp() => SendAllAsync(_master!);

    [Benchmark]
    public Task McpNoVerify() => SendAllAsync(_master!);

    [Benchmark]
    public Task McpKeyIndex() => SendAllAsync(_master!);

    [IterationCleanup(Targets = [nameof(Mcp), nameof(McpNoVerify), nameof(McpKeyIndex)])]
    public void CleanupMcp()
    {
        long stored = _server!.TxLog.LastRecno;
        _master?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _master = null;
        _server = null;
        Log.BenchFiles.Delete(_dir);
        if (stored != Records + 1)
            throw new InvalidOperationException($"the MCP stored {stored} records, expected {Records + 1}");
    }

    private async Task SendAllAsync(MasterLink master)
    {
        for (int f = 0; f < Frames; f++)
            await master.SendRecordsAsync(FramePayload(f)).ConfigureAwait(false);
        await master.WaitDurableAsync(NetBench.Epoch, LastLsn, 0).ConfigureAwait(false);
    }

    // ---- null MCP: the client and the loopback copy alone ----------------------------------------------------

    [IterationSetup(Target = nameof(NullMcp))]
    public void SetupNullMcp()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
        Task<Socket> server = AcceptAsync(_listener);
        _master = MasterLink.ConnectAsync(NetBench.Client((IPEndPoint)_listener.LocalEndPoint!, NodeRole.Master)).GetAwaiter().GetResult();
        Socket s = server.GetAwaiter().GetResult();
        _sink = Task.Run(() => SinkAsync(s));

        static async Task<Socket> AcceptAsync(Socket listener)
        {
            Socket s = await listener.AcceptAsync().ConfigureAwait(false);
            await Net.NullMcp.AcceptAsync(s, NetBench.AuthKey).ConfigureAwait(false);
            return s;
        }
    }

    [Benchmark]
    public Task NullMcp() => SendAllAsync(_master!);

    [IterationCleanup(Target = nameof(NullMcp))]
    public void CleanupNullMcp()
    {
        _master?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _sink?.GetAwaiter().GetResult();
        _listener?.Dispose();
        _master = null;
        _sink = null;
        _listener = null;
    }

    /// <summary>Reads and discards every timed frame, then confirms the last record as durable.</summary>
    private static async Task SinkAsync(Socket s)
    {
        using (s)
        {
            byte[] buffer = new byte[NetBench.ReadBufferSize];
            long expected = (long)Frames * (Frame.HeaderSize + NetBench.FrameBytes);
            for (long got = 0; got < expected;)
            {
                int n = await s.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                    throw new IOException("the master closed the connection early");
                got += n;
            }
            await Net.NullMcp.SendAsync(s, new Durable(NetBench.Epoch, LastLsn, 0, Records), static (w, m) => Messages.Write(w, m)).ConfigureAwait(false);
            try
            {
                // Wait for the master to close, so the DURABLE is read before the socket goes.
                await s.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
            }
            catch (SocketException)
            {
            }
        }
    }
}
