using System.Buffers;
using System.Threading.Channels;
using Mammoth.Net.Protocol;

namespace Mammoth.Net.Transport;

/// <summary>
/// The master agent's connection to the MCP: sends RECORDS frames, receives DURABLE confirmations and
/// DUMP_REQUESTs, answers ECHOs.
/// </summary>
public sealed class MasterLink : IAsyncDisposable
{
    private readonly FrameConnection _conn;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _receive;
    private readonly Channel<DumpRequest> _dumpRequests = Channel.CreateUnbounded<DumpRequest>();
    private readonly Lock _durableLock = new();
    private Durable _durable;
    private TaskCompletionSource _durableAdvanced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private MasterLink(FrameConnection conn, Welcome welcome)
    {
        _conn = conn;
        Welcome = welcome;
        _durable = new Durable(welcome.LastEpoch, welcome.LastLsn, welcome.LastSeq, welcome.LastRecno);
        _receive = Task.Run(ReceiveLoopAsync);
    }

    public Welcome Welcome { get; }

    /// <summary>The newest DURABLE received (initially the WELCOME's resume point).</summary>
    public Durable LastDurable
    {
        get
        {
            lock (_durableLock)
                return _durable;
        }
    }

    /// <summary>Completes when a new DURABLE arrives or the link fails (then awaiting it throws).</summary>
    public Task DurableAdvanced => Volatile.Read(ref _durableAdvanced).Task;

    public ChannelReader<DumpRequest> DumpRequests => _dumpRequests.Reader;

    /// <summary>Completes when the link ends; faulted with the reason (e.g. <see cref="McpRefusedException"/>).</summary>
    public Task Completion => _receive;

    public static async Task<MasterLink> ConnectAsync(McpClientOptions options, CancellationToken ct = default)
    {
        if (options.Role != NodeRole.Master)
            throw new ArgumentException("a master link needs Role = Master", nameof(options));
        (FrameConnection conn, Welcome welcome) = await McpClient.ConnectAsync(options, ct).ConfigureAwait(false);
        return new MasterLink(conn, welcome);
    }

    /// <summary>
    /// Sends whole records (one or more, back to back) as one RECORDS frame. A frame of more than
    /// <see cref="FrameConnection.DirectWriteThreshold"/> bytes is written straight from <paramref name="records"/>
    /// (no copy into a pipe buffer: a multi-MiB part would otherwise need a contiguous pipe segment of its
    /// size), a smaller one is copied behind its header and goes out in one write. Either way the memory
    /// must stay untouched until the returned task completes.
    /// </summary>
    public ValueTask SendRecordsAsync(ReadOnlyMemory<byte> records, CancellationToken ct = default)
    {
        if (_receive.IsCompleted)
            return ValueTask.FromException(Failure());
        return _conn.SendFrameAsync(FrameType.Records, records, ct);
    }

    /// <summary>Tells the MCP about MCP REFRESH.</summary>
    public ValueTask SendRefreshAsync(CancellationToken ct = default) =>
        _conn.SendAsync("MCP REFRESH", static (w, t) => Messages.WriteText(w, FrameType.Refresh, t), ct);

    /// <summary>Waits until a DURABLE covers (epoch, lsn, seq).</summary>
    public async Task WaitDurableAsync(uint epoch, ulong lsn, uint seq, CancellationToken ct = default)
    {
        while (true)
        {
            Task advanced = DurableAdvanced;
            Durable d = LastDurable;
            if (d.Epoch > epoch || (d.Epoch == epoch && (d.CommitLsn > lsn || (d.CommitLsn == lsn && d.Seq >= seq))))
                return;
            await advanced.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    private Exception Failure() => _receive.Exception?.InnerException ?? new IOException("the MCP link is closed");

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                ReceivedFrame f = await _conn.ReadFrameAsync(_cts.Token).ConfigureAwait(false);
                if (f.IsEnd)
                    throw new IOException("the MCP closed the connection");
                switch (f.Type)
                {
                    case FrameType.Durable:
                        Durable d = Messages.ReadDurable(f.Payload);
                        lock (_durableLock)
                            _durable = d;
                        Interlocked.Exchange(ref _durableAdvanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                        break;
                    case FrameType.DumpRequest:
                        _dumpRequests.Writer.TryWrite(Messages.ReadDumpRequest(f.Payload));
                        break;
                    case FrameType.Echo:
                        ulong token = Messages.ReadEcho(f.Payload);
                        _ = _conn.SendAsync(token, static (w, t) => Messages.WriteEcho(w, FrameType.EchoReply, t), _cts.Token).AsTask();
                        break;
                    case FrameType.EchoReply:
                        break;
                    case FrameType.Error:
                        ErrorMessage e = Messages.ReadError(f.Payload);
                        throw new McpRefusedException(e.Code, e.Message);
                    default:
                        throw new ProtocolException(ErrorCode.Protocol, $"unexpected frame {f.Type} from the MCP");
                }
                _conn.Consume(f);
            }
        }
        catch (Exception ex)
        {
            _dumpRequests.Writer.TryComplete(ex);
            Volatile.Read(ref _durableAdvanced).TrySetException(ex);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync().ConfigureAwait(false);
        await _conn.DisposeAsync().ConfigureAwait(false);
        await _receive.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _cts.Dispose();
    }
}
