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

    /// <remarks>
    /// Group commit: records are appended as frames arrive, and the txlog writes them every FlushBytes; what
    /// is left is written (and handed to the flusher) when the master has nothing more to send for now, i.e.
    /// when the next socket read would wait. A master that streams gets the txlog's write cadence; a master
    /// that sends one frame and waits for its DURABLE gets it written at once.
    /// </remarks>
    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        PipeReader input = Connection.Input;
        int max = Connection.MaxFramePayload;
        bool unflushed = false;
        try
        {
            while (true)
            {
                ValueTask<ReadResult> read = input.ReadAsync(ct);
                if (unflushed && !read.IsCompleted)
                {
                    FlushAppends();
                    unflushed = false;
                }
                ReadResult r = await read.ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = r.Buffer;
                try
                {
                    while (Frame.TryRead(ref buffer, max, out FrameType type, out ReadOnlySequence<byte> payload))
                    {
                        Heard();
                        switch (type)
                        {
                            case FrameType.Records:
                                unflushed = true; // before Ingest: records before a bad one in the frame are appended too
                                if (Ingest(payload))
                                    _pendingSignal.Release();
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
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
                if (r.IsCompleted)
                {
                    if (buffer.Length > 0)
                        throw new EndOfStreamException($"the master's connection closed in the middle of a frame ({buffer.Length} bytes of it received)");
                    CloseReason ??= "the master closed the connection";
                    return;
                }
            }
        }
        finally
        {
            // Whatever was stored before the session ended (a BYE, a close, a bad record later in the stream)
            // is written now rather than at the next master's first flush.
            if (unflushed)
                FlushAppends();
        }
    }

    private void FlushAppends()
    {
        lock (Server.AppendLock)
            Server.TxLog.Flush();
    }

    /// <summary>Appends the records of one RECORDS frame; returns whether anything is pending a DURABLE.</summary>
    /// <remarks>
    /// Records that lie wholly inside one buffer segment of the pipe (nearly all of them) are checked and
    /// appended as spans; only a record cut by a segment boundary takes the sequence path. The pending DURABLE
    /// is set once per frame, for its last record.
    /// </remarks>
    private bool Ingest(ReadOnlySequence<byte> payload)
    {
        TxLog log = Server.TxLog;
        bool verify = Server.Options.VerifyIngest;
        Span<byte> head = stackalloc byte[RecordHeader.Size];
        long pendingRecno = 0;
        Durable pendingDurable = default;
        lock (Server.AppendLock)
        {
            while (payload.Length > 0)
            {
                // Fast path: whole records inside the first buffer segment.
                ReadOnlySpan<byte> span = payload.FirstSpan;
                int used = 0;
                while (span.Length - used >= RecordHeader.Size)
                {
                    RecordHeader h = RecordHeader.Read(span[used..]);
                    long total = Check(h, payload.Length - used);
                    if (total > span.Length - used)
                        break;
                    ReadOnlySpan<byte> record = span.Slice(used, (int)total);
                    if (verify && Crc32C.Compute(record[RecordHeader.Size..]) != h.PayloadCrc)
                        throw BadCrc(h);
                    pendingRecno = IsDuplicate(h) ? log.LastRecno : Stored(h, log.Append(record));
                    pendingDurable = new Durable(_epoch, h.CommitLsn, h.Seq, pendingRecno);
                    used += (int)total;
                }
                if (used > 0)
                {
                    payload = payload.Slice(used);
                    continue;
                }

                // Slow path: one record cut by a segment boundary.
                if (payload.Length < RecordHeader.Size)
                    throw Invalid("a record header is cut off at the end of the frame");
                payload.Slice(0, RecordHeader.Size).CopyTo(head);
                RecordHeader hs = RecordHeader.Read(head);
                long length = Check(hs, payload.Length);
                ReadOnlySequence<byte> rec = payload.Slice(0, length);
                payload = payload.Slice(length);
                if (verify && !PayloadCrcMatches(rec.Slice(RecordHeader.Size), hs.PayloadCrc))
                    throw BadCrc(hs);
                pendingRecno = IsDuplicate(hs) ? log.LastRecno : Stored(hs, log.Append(rec));
                pendingDurable = new Durable(_epoch, hs.CommitLsn, hs.Seq, pendingRecno);
            }
        }
        if (pendingRecno == 0)
            return false;
        lock (_pendingLock)
        {
            _pendingRecno = pendingRecno;
            _pendingDurable = pendingDurable;
        }
        return true;
    }

    /// <summary>The checks of one record before its payload (docs/protocol.md §7.1); returns its total length.</summary>
    private long Check(in RecordHeader h, long left)
    {
        if (!h.IsValid(int.MaxValue))
            throw Invalid("a record header fails its checks (magic, version or checksum)");
        long total = (long)RecordHeader.Size + h.PayloadLength;
        if (total > left)
            throw Invalid($"record of {total} bytes runs past the end of its frame");
        if (h.Kind is RecordKind.Empty or RecordKind.Mark || !Enum.IsDefined(h.Kind))
            throw Invalid($"record kind {(byte)h.Kind} may not come from a master");
        if (h.Epoch != _epoch)
        {
            throw new ProtocolException(ErrorCode.Fenced,
                $"record of epoch {h.Epoch} refused: the MCP is at epoch {_epoch}; this master was demoted and may not write");
        }
        return total;
    }

    /// <summary>Re-sent after a reconnect: already stored (and durable once the log says so).</summary>
    private bool IsDuplicate(in RecordHeader h)
    {
        if (h.CommitLsn == 0 || h.CommitLsn > _lastLsn || (h.CommitLsn == _lastLsn && h.Seq > _lastSeq))
            return false;
        Duplicates++;
        return true;
    }

    private long Stored(in RecordHeader h, long recno)
    {
        Appended++;
        if (h.CommitLsn != 0)
        {
            _lastLsn = h.CommitLsn;
            _lastSeq = h.Seq;
        }
        return recno;
    }

    private static ProtocolException BadCrc(in RecordHeader h) =>
        Invalid($"the payload checksum of the record with commit LSN {PgTime.FormatLsn(h.CommitLsn)} does not match");

    private static bool PayloadCrcMatches(in ReadOnlySequence<byte> payload, uint crc)
    {
        uint state = ~0u;
        foreach (ReadOnlyMemory<byte> m in payload)
            state = Crc32C.Append(state, m.Span);
        return ~state == crc;
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
