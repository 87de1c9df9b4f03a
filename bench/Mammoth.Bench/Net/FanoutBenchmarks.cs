using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Bench.Net;

/// <summary>
/// MCP → N slaves fan-out: a txlog pre-filled with 256 MiB of 1 KiB DATA records (every section for every
/// slave, so nothing is filtered), N <see cref="SlaveLink"/>s subscribe from record 1 and drain to the end
/// concurrently; aggregate MB/s over loopback.
/// </summary>
/// <remarks>
/// <para><b>Methods.</b> <see cref="Reference"/> is the reference of the issue: N plain TCP loopback
/// connections, the server side writing the same 256 MiB from a buffer in 256 KiB writes, the client side
/// reading 64 KiB at a time (FrameConnection's read buffer) and doing nothing else. <see cref="Mcp"/> is the
/// in-process <see cref="McpServer"/> streaming from the mapped segments (VerifyOnRead on, as by default);
/// <see cref="McpNoVerifyOnRead"/> the same with TxLogOptions.VerifyOnRead off. <see cref="NullMcp"/> puts a
/// bare socket in the MCP's place that writes the same frames from a buffer (header and payload in one
/// write): the cost of the SlaveLink client alone, and its share of the allocations.</para>
/// <para><b>Client work.</b> A slave counts records by walking their headers (payload_length) and does
/// nothing else; it does not ACK. The handshakes happen in the (untimed) iteration setup; SUBSCRIBE is timed.</para>
/// <para><b>Files.</b> The txlog is written once per process (64 MiB segments, as by default) and stays in
/// the page cache, as a queue that slaves follow closely does; the reference buffer holds the very bytes of
/// that txlog (read back from it, recnos stamped).</para>
/// </remarks>
public class FanoutBenchmarks : IThroughputBenchmark
{
    private const long VolumePerSlave = 256L << 20;
    private const int Records = (int)(VolumePerSlave / NetBench.RecordSize);
    private const int Frames = (int)(VolumePerSlave / NetBench.FrameBytes);
    private const int FrameSize = Frame.HeaderSize + NetBench.FrameBytes;

    private string? _dir;
    private byte[] _stream = [];   // the txlog's records, back to back
    private byte[] _frames = [];   // the same as RECORDS frames of 256 KiB, headers included
    private McpServer? _server;
    private bool _serverVerifies;
    private SlaveLink[] _links = [];
    private Socket? _listener;
    private Socket[] _clients = [];
    private Socket[] _servers = [];
    private byte[][] _readBuffers = [];

    [Params(1, 4, 16)]
    public int Slaves { get; set; } = 1;

    public long BytesPerOperation => Slaves * VolumePerSlave;
    public long RecordsPerOperation => (long)Slaves * Records;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _dir = Log.BenchFiles.NewDirectory("fanout");
        byte[] records = NetBench.Records(Records);
        using (TxLog log = TxLog.Open(new TxLogOptions { Path = _dir, FlushBytes = 1 << 20, Preallocation = SegmentPreallocation.Sparse }))
        {
            for (int i = 0; i < Records; i++)
                log.Append(records.AsSpan(i * NetBench.RecordSize, NetBench.RecordSize));
            log.FlushAsync().AsTask().GetAwaiter().GetResult();
        }
        _stream = new byte[VolumePerSlave];
        using (TxLog log = TxLog.Open(new TxLogOptions { Path = _dir, ReadOnly = true }))
        using (TxLogReader reader = log.OpenReader(1))
        {
            int offset = 0;
            while (reader.TryRead(out LogRecord r) == ReadStatus.Ok)
            {
                r.Bytes.Span.CopyTo(_stream.AsSpan(offset));
                offset += r.Length;
            }
            if (offset != _stream.Length)
                throw new InvalidOperationException($"read back {offset} bytes of records, expected {_stream.Length}");
        }
        _frames = new byte[(long)Frames * FrameSize];
        for (int f = 0; f < Frames; f++)
        {
            Frame.WriteHeader(_frames.AsSpan(f * FrameSize), FrameType.Records, NetBench.FrameBytes);
            _stream.AsSpan(f * NetBench.FrameBytes, NetBench.FrameBytes).CopyTo(_frames.AsSpan(f * FrameSize + Frame.HeaderSize));
        }
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server = null;
        Log.BenchFiles.Delete(_dir);
    }

    // ---- reference: plain sockets ---------------------------------------------------------------------------

    [IterationSetup(Target = nameof(Reference))]
    public void SetupReference()
    {
        _listener = Listen();
        _clients = new Socket[Slaves];
        _servers = new Socket[Slaves];
        _readBuffers = new byte[Slaves][];
        for (int i = 0; i < Slaves; i++)
        {
            _clients[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _clients[i].Connect(_listener.LocalEndPoint!);
            _servers[i] = _listener.Accept();
            _servers[i].NoDelay = true;
            _readBuffers[i] = new byte[NetBench.ReadBufferSize];
        }
    }

    [Benchmark(Baseline = true)]
    public Task Reference()
    {
        var tasks = new Task[2 * Slaves];
        for (int i = 0; i < Slaves; i++)
        {
            Socket server = _servers[i], client = _clients[i];
            byte[] buffer = _readBuffers[i];
            tasks[2 * i] = Task.Run(() => WriteAsync(server, _stream, NetBench.FrameBytes));
            tasks[2 * i + 1] = Task.Run(() => ReadAsync(client, buffer, VolumePerSlave));
        }
        return Task.WhenAll(tasks);
    }

    [IterationCleanup(Target = nameof(Reference))]
    public void CleanupReference() => CloseSockets();

    // ---- the MCP ----------------------------------------------------------------------------------------------

    [IterationSetup(Target = nameof(Mcp))]
    public void SetupMcp() => ConnectSlavesAsync(verifyOnRead: true).GetAwaiter().GetResult();

    [IterationSetup(Target = nameof(McpNoVerifyOnRead))]
    public void SetupMcpNoVerify() => ConnectSlavesAsync(verifyOnRead: false).GetAwaiter().GetResult();

    private async Task ConnectSlavesAsync(bool verifyOnRead)
    {
        if (_server is null || _serverVerifies != verifyOnRead)
        {
            if (_server is not null)
                await _server.DisposeAsync().ConfigureAwait(false);
            _server = new McpServer(NetBench.Settings(_dir!, "64MB"), NetBench.Log(), new McpServerOptions
            {
                FlushBytes = 1 << 20,
                SlaveBatchBytes = NetBench.FrameBytes,
                VerifyOnRead = verifyOnRead,
            });
            await _server.StartAsync().ConfigureAwait(false);
            _serverVerifies = verifyOnRead;
        }
        _links = new SlaveLink[Slaves];
        for (int i = 0; i < Slaves; i++)
            _links[i] = await SlaveLink.ConnectAsync(NetBench.Client(_server.LocalEndPoint, NodeRole.Slave, (short)i)).ConfigureAwait(false);
    }

    [Benchmark]
    public Task Mcp() => DrainAllAsync();

    [Benchmark]
    public Task McpNoVerifyOnRead() => DrainAllAsync();

    [IterationCleanup(Targets = [nameof(Mcp), nameof(McpNoVerifyOnRead)])]
    public void CleanupMcp()
    {
        DisposeLinks();
        // The next iteration reconnects the same slave numbers: wait until the MCP has let these go.
        var until = DateTime.UtcNow.AddSeconds(30);
        while (_server!.SlaveSessions().Length > 0)
        {
            if (DateTime.UtcNow > until)
                throw new TimeoutException("the MCP did not close the slave sessions within 30 s");
            Thread.Sleep(5);
        }
    }

    // ---- null MCP: the SlaveLink client alone ---------------------------------------------------------------------

    [IterationSetup(Target = nameof(NullMcp))]
    public void SetupNullMcp()
    {
        _listener = Listen();
        _links = new SlaveLink[Slaves];
        _servers = new Socket[Slaves];
        for (int i = 0; i < Slaves; i++)
        {
            Task<Socket> accept = AcceptAsync(_listener);
            _links[i] = SlaveLink.ConnectAsync(NetBench.Client((IPEndPoint)_listener.LocalEndPoint!, NodeRole.Slave, (short)i)).GetAwaiter().GetResult();
            _servers[i] = accept.GetAwaiter().GetResult();
        }

        static async Task<Socket> AcceptAsync(Socket listener)
        {
            Socket s = await listener.AcceptAsync().ConfigureAwait(false);
            await Net.NullMcp.AcceptAsync(s, NetBench.AuthKey).ConfigureAwait(false);
            return s;
        }
    }

    [Benchmark]
    public Task NullMcp()
    {
        var tasks = new Task[2 * Slaves];
        for (int i = 0; i < Slaves; i++)
        {
            Socket server = _servers[i];
            SlaveLink link = _links[i];
            tasks[2 * i] = Task.Run(async () =>
            {
                (FrameType type, _) = await Net.NullMcp.ReadFrameAsync(server).ConfigureAwait(false);
                if (type != FrameType.Subscribe)
                    throw new InvalidOperationException($"expected SUBSCRIBE, got {type}");
                await WriteAsync(server, _frames, FrameSize).ConfigureAwait(false);
            });
            tasks[2 * i + 1] = Task.Run(() => DrainAsync(link));
        }
        return Task.WhenAll(tasks);
    }

    [IterationCleanup(Target = nameof(NullMcp))]
    public void CleanupNullMcp()
    {
        DisposeLinks();
        CloseSockets();
    }

    // ---- shared ---------------------------------------------------------------------------------------------

    private Task DrainAllAsync()
    {
        var tasks = new Task[Slaves];
        for (int i = 0; i < Slaves; i++)
        {
            SlaveLink link = _links[i];
            tasks[i] = Task.Run(() => DrainAsync(link));
        }
        return Task.WhenAll(tasks);
    }

    /// <summary>SUBSCRIBE from record 1, then count records until all of them arrived.</summary>
    private static async Task DrainAsync(SlaveLink link)
    {
        await link.SubscribeAsync(1).ConfigureAwait(false);
        long n = 0;
        while (n < Records)
        {
            SlaveMessage m = await link.ReceiveAsync().ConfigureAwait(false);
            if (m.State is { } state)
                throw new InvalidOperationException($"the MCP put the slave in state {state.State}: {state.Reason}");
            n += CountRecords(m.Records);
        }
        if (n != Records)
            throw new InvalidOperationException($"a slave received {n} records, expected {Records}");
    }

    /// <summary>Walks the record headers of a RECORDS payload by their payload_length (bytes 8..11).</summary>
    private static int CountRecords(in ReadOnlySequence<byte> records)
    {
        var reader = new SequenceReader<byte>(records);
        Span<byte> length = stackalloc byte[4];
        int n = 0;
        while (!reader.End)
        {
            reader.Advance(8);
            if (!reader.TryCopyTo(length))
                throw new InvalidOperationException("a record header is cut off");
            reader.Advance(RecordHeader.Size - 8 + BinaryPrimitives.ReadInt32BigEndian(length));
            n++;
        }
        return n;
    }

    private static async Task WriteAsync(Socket s, byte[] data, int chunk)
    {
        for (int offset = 0; offset < data.Length; offset += chunk)
            await Net.NullMcp.SendAllAsync(s, data.AsMemory(offset, Math.Min(chunk, data.Length - offset))).ConfigureAwait(false);
    }

    private static async Task ReadAsync(Socket s, byte[] buffer, long total)
    {
        for (long got = 0; got < total;)
        {
            int n = await s.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
            if (n == 0)
                throw new IOException("the server closed the connection early");
            got += n;
        }
    }

    private static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(64);
        return listener;
    }

    private void DisposeLinks()
    {
        foreach (SlaveLink link in _links)
            link.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _links = [];
    }

    private void CloseSockets()
    {
        foreach (Socket s in _clients.Concat(_servers))
            s.Dispose();
        _clients = [];
        _servers = [];
        _listener?.Dispose();
        _listener = null;
    }
}
