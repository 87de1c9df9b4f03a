using System.Buffers;
using Mammoth.Log.Records;
using Mammoth.Net.Protocol;

namespace Mammoth.Net.Transport;

/// <summary>What <see cref="SlaveLink.ReceiveAsync"/> returns: records, or a state change from the MCP.</summary>
public readonly struct SlaveMessage
{
    internal SlaveMessage(ReadOnlySequence<byte> records, StateChange? state)
    {
        Records = records;
        State = state;
    }

    /// <summary>Whole records back to back; valid until the next ReceiveAsync.</summary>
    public ReadOnlySequence<byte> Records { get; }
    public StateChange? State { get; }
}

/// <summary>The slave agent's connection to the MCP: SUBSCRIBE, then records in, ACKs out.</summary>
public sealed class SlaveLink : IAsyncDisposable
{
    private readonly FrameConnection _conn;
    private ReceivedFrame _held;
    private bool _holding;

    private SlaveLink(FrameConnection conn, Welcome welcome)
    {
        _conn = conn;
        Welcome = welcome;
    }

    public Welcome Welcome { get; }

    public static async Task<SlaveLink> ConnectAsync(McpClientOptions options, CancellationToken ct = default)
    {
        if (options.Role != NodeRole.Slave || options.SlaveNo < 0)
            throw new ArgumentException("a slave link needs Role = Slave and a slave number", nameof(options));
        (FrameConnection conn, Welcome welcome) = await McpClient.ConnectAsync(options, ct).ConfigureAwait(false);
        return new SlaveLink(conn, welcome);
    }

    public ValueTask SubscribeAsync(long nextRecno, bool batchMode = false, CancellationToken ct = default, bool needsDump = false) =>
        _conn.SendAsync(new Subscribe(nextRecno, batchMode, needsDump), static (w, m) => Messages.Write(w, m), ct);

    public ValueTask AckAsync(long appliedRecno, CancellationToken ct = default) =>
        _conn.SendAsync(appliedRecno, static (w, r) => Messages.WriteAck(w, r), ct);

    public ValueTask SendStatusAsync(long appliedRecno, bool halted, string? error, CancellationToken ct = default) =>
        _conn.SendAsync(new SlaveStatus(appliedRecno, halted, error), static (w, m) => Messages.Write(w, m), ct);

    public ValueTask SayGoodbyeAsync(string reason, CancellationToken ct = default) =>
        _conn.SendAsync(reason, static (w, t) => Messages.WriteText(w, FrameType.Bye, t), ct);

    /// <summary>
    /// Waits for the next RECORDS or STATE frame (answering ECHOs on the way). The records are valid until the
    /// next call. Throws <see cref="McpRefusedException"/> on an ERROR frame and <see cref="IOException"/>
    /// when the MCP closes the connection.
    /// </summary>
    public async ValueTask<SlaveMessage> ReceiveAsync(CancellationToken ct = default)
    {
        if (_holding)
        {
            _conn.Consume(_held);
            _holding = false;
        }
        while (true)
        {
            ReceivedFrame f = await _conn.ReadFrameAsync(ct).ConfigureAwait(false);
            if (f.IsEnd)
                throw new IOException("the MCP closed the connection");
            switch (f.Type)
            {
                case FrameType.Records:
                    _held = f;
                    _holding = true;
                    return new SlaveMessage(f.Payload, null);
                case FrameType.State:
                    StateChange s = Messages.ReadState(f.Payload);
                    _conn.Consume(f);
                    return new SlaveMessage(default, s);
                case FrameType.Echo:
                    ulong token = Messages.ReadEcho(f.Payload);
                    _conn.Consume(f);
                    await _conn.SendAsync(token, static (w, t) => Messages.WriteEcho(w, FrameType.EchoReply, t), ct).ConfigureAwait(false);
                    break;
                case FrameType.EchoReply:
                    _conn.Consume(f);
                    break;
                case FrameType.Error:
                    ErrorMessage e = Messages.ReadError(f.Payload);
                    _conn.Consume(f);
                    throw new McpRefusedException(e.Code, e.Message);
                default:
                    throw new ProtocolException(ErrorCode.Protocol, $"unexpected frame {f.Type} from the MCP");
            }
        }
    }

    /// <summary>Splits a RECORDS payload into records, checking each header; calls <paramref name="onRecord"/> per record.</summary>
    public static int ForEachRecord(in ReadOnlySequence<byte> records, Action<RecordHeader, ReadOnlySequence<byte>> onRecord)
    {
        ReadOnlySequence<byte> rest = records;
        Span<byte> head = stackalloc byte[RecordHeader.Size];
        int n = 0;
        while (rest.Length > 0)
        {
            if (rest.Length < RecordHeader.Size)
                throw new ProtocolException(ErrorCode.RecordInvalid, "a record header is cut off at the end of a RECORDS frame");
            rest.Slice(0, RecordHeader.Size).CopyTo(head);
            RecordHeader h = RecordHeader.Read(head);
            if (!h.IsValid(int.MaxValue) || RecordHeader.Size + (long)h.PayloadLength > rest.Length)
                throw new ProtocolException(ErrorCode.RecordInvalid, "a record in a RECORDS frame fails its header checks");
            ReadOnlySequence<byte> rec = rest.Slice(0, RecordHeader.Size + h.PayloadLength);
            onRecord(h, rec);
            rest = rest.Slice(rec.End);
            n++;
        }
        return n;
    }

    public async ValueTask DisposeAsync() => await _conn.DisposeAsync().ConfigureAwait(false);
}
