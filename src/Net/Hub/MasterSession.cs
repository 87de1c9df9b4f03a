using System.Buffers;
using System.IO.Pipelines;
using Mammoth.Log;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Net.Hub;

/// <summary>
/// The master's connection: RECORDS frames in, appended to the txlog; DURABLE frames out once the flush
/// that covers them completed. A master that reconnects re-sends from its last durable point; records whose
/// (commit LSN, seq) the MCP already stored for this epoch are dropped.
/// </summary>
internal sealed class MasterSession : Session
{
    private readonly SemaphoreSlim _pendingSignal = new(0, int.MaxValue);
    private readonly object _pendingLock = new();
    private long _pendingRecno;     // highest recno appended (or confirmed as a duplicate) and not yet reported
    private Durable _pendingDurable;
    private ulong _lastLsn;         // dedup point: last (commit LSN, seq) stored for the current epoch
    private uint _lastSeq;
    private readonly uint _epoch;

    public MasterSession(McpServer server, FrameConnection connection, Hello hello) : base(server, connection, hello)
    {
        RecordHeader last = server.TxLog.LastHeader;
        lock (server.StateLock)
            _epoch = server.State.Epoch;
        if (last.Epoch == _epoch)
        {
            _lastLsn = last.CommitLsn;
            _lastSeq = last.Seq;
        }
    }

    /// <summary>Records appended through this session (tests, status).</summary>
    public long Appended { get; private set; }
    public long Duplicates { get; private set; }

    protected override async Task RunCoreAsync(CancellationToken ct)
    {
        foreach ((short slave, string reason) in Server.PendingDumps())
            await SendDumpRequestAsync(slave, reason).ConfigureAwait(false);
        using var notifierStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task notifier = NotifyDurableLoopAsync(notifierStop.Token);
        try
        {
            await ReceiveLoopAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            await notifierStop.CancelAsync().ConfigureAwait(false);
            await notifier.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        PipeReader input = Connection.Input;
        int max = Connection.MaxFramePayload;
        while (true)
        {
            ReadResult r = await input.ReadAsync(ct).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = r.Buffer;
            bool stored = false;
            try
            {
                while (Frame.TryRead(ref buffer, max, out FrameType type, out ReadOnlySequence<byte> payload))
                {
                    Heard();
                    switch (type)
                    {
                        case FrameType.Records:
                            stored |= Ingest(payload);
                            break;
                        case FrameType.Refresh:
                            Server.OnRefresh();
                            break;
                        case FrameType.EchoReply:
                            break;
                        case FrameType.Echo:
                            ulong token = Messages.ReadEcho(payload);
                            _ = Connection.SendAsync(token, static (w, t) => Messages.WriteEcho(w, FrameType.EchoReply, t), ct).AsTask();
                            break;
                        case FrameType.Bye:
                            CloseReason = "said goodbye";
                            return;
                        default:
                            throw Unexpected("master", type);
                    }
                }
            }
            finally
            {
                if (stored)
                {
                    lock (Server.AppendLock)
                        Server.TxLog.Flush(); // group commit: one write + one fdatasync for everything this read brought
                    _pendingSignal.Release();
                }
                input.AdvanceTo(buffer.Start, buffer.End);
            }
            if (r.IsCompleted)
            {
                if (buffer.Length > 0)
                    throw new ProtocolException(ErrorCode.Protocol, $"the master closed the connection in the middle of a frame ({buffer.Length} bytes of it received)");
                CloseReason ??= "the master closed the connection";
                return;
            }
        }
    }

    /// <summary>Appends the records of one RECORDS frame; returns whether anything is pending a DURABLE.</summary>
    private bool Ingest(ReadOnlySequence<byte> payload)
    {
        TxLog log = Server.TxLog;
        bool verify = Server.Options.VerifyIngest;
        Span<byte> head = stackalloc byte[RecordHeader.Size];
        bool pending = false;
        lock (Server.AppendLock)
        {
            while (payload.Length > 0)
            {
                if (payload.Length < RecordHeader.Size)
                    throw Invalid("a record header is cut off at the end of the frame");
                payload.Slice(0, RecordHeader.Size).CopyTo(head);
                RecordHeader h = RecordHeader.Read(head);
                if (!h.IsValid(int.MaxValue))
                    throw Invalid("a record header fails its checks (magic, version or checksum)");
                long total = (long)RecordHeader.Size + h.PayloadLength;
                if (total > payload.Length)
                    throw Invalid($"record of {total} bytes runs past the end of its frame");
                ReadOnlySequence<byte> record = payload.Slice(0, total);
                payload = payload.Slice(total);
                if (h.Kind is RecordKind.Empty or RecordKind.Mark || !Enum.IsDefined(h.Kind))
                    throw Invalid($"record kind {(byte)h.Kind} may not come from a master");
                if (h.Epoch != _epoch)
                {
                    throw new ProtocolException(ErrorCode.Fenced,
                        $"record of epoch {h.Epoch} refused: the MCP is at epoch {_epoch}; this master was demoted and may not write");
                }
                if (verify && !PayloadCrcMatches(record.Slice(RecordHeader.Size), h.PayloadCrc))
                    throw Invalid($"the payload checksum of the record with commit LSN {PgTime.FormatLsn(h.CommitLsn)} does not match");

                pending = true;
                if (h.CommitLsn != 0 && (h.CommitLsn < _lastLsn || (h.CommitLsn == _lastLsn && h.Seq <= _lastSeq)))
                {
                    // Re-sent after a reconnect: already stored (and durable once the log says so).
                    Duplicates++;
                    SetPending(log.LastRecno, new Durable(_epoch, h.CommitLsn, h.Seq, log.LastRecno));
                    continue;
                }
                long recno = log.Append(record);
                Appended++;
                if (h.CommitLsn != 0)
                {
                    _lastLsn = h.CommitLsn;
                    _lastSeq = h.Seq;
                }
                SetPending(recno, new Durable(_epoch, h.CommitLsn, h.Seq, recno));
            }
        }
        return pending;
    }

    private static bool PayloadCrcMatches(in ReadOnlySequence<byte> payload, uint crc)
    {
        uint state = ~0u;
        foreach (ReadOnlyMemory<byte> m in payload)
            state = Crc32C.Append(state, m.Span);
        return ~state == crc;
    }

    private void SetPending(long recno, Durable d)
    {
        lock (_pendingLock)
        {
            _pendingRecno = recno;
            _pendingDurable = d;
        }
    }

    private static ProtocolException Invalid(string why) => new(ErrorCode.RecordInvalid, "invalid record from the master: " + why);

    /// <summary>Sends DURABLE for the newest pending record once the txlog says it is on disk.</summary>
    private async Task NotifyDurableLoopAsync(CancellationToken ct)
    {
        long sent = 0;
        TxLog log = Server.TxLog;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                long recno;
                Durable d;
                lock (_pendingLock)
                {
                    recno = _pendingRecno;
                    d = _pendingDurable;
                }
                if (recno <= sent || d.Recno == 0)
                {
                    await _pendingSignal.WaitAsync(ct).ConfigureAwait(false);
                    continue;
                }
                await log.WaitForDurableAsync(recno, ct).ConfigureAwait(false);
                await Connection.SendAsync(d, static (w, m) => Messages.Write(w, m), ct).ConfigureAwait(false);
                sent = recno;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        catch (TxLogException ex)
        {
            Log.Write(PgLogLevel.Panic, $"the txlog failed: {ex.Message}");
            Abort("the MCP cannot store records (txlog failure)");
        }
    }

    public async Task SendDumpRequestAsync(short slave, string reason)
    {
        try
        {
            await Connection.SendAsync(new DumpRequest(slave, reason), static (w, m) => Messages.Write(w, m), Aborted).ConfigureAwait(false);
            Log.Write(PgLogLevel.Log, $"asked the master for a dump for {(slave < 0 ? "every slave" : $"slave {slave}")}: {reason}");
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // Sent again when the master reconnects (PendingDumps).
        }
    }
}
