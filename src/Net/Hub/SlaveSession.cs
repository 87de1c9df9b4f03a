using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Log.Storage;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Net.Hub;

/// <summary>
/// A slave's connection: SUBSCRIBE(next recno), then a stream of RECORDS frames read from the mapped txlog at
/// the slave's own pace (its socket is the only thing it can fill: a slow slave slows nobody else), and
/// ACKs back. Records are filtered to the slave's tables; records with nothing for it become EMPTY.
/// </summary>
internal sealed class SlaveSession : Session
{
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _sentRecno;

    public SlaveSession(McpServer server, FrameConnection connection, Hello hello) : base(server, connection, hello)
    {
        SlaveNo = hello.SlaveNo;
    }

    public int SlaveNo { get; }

    /// <summary>Last recno sent, or being sent, to the slave: what it may acknowledge.</summary>
    public long SentRecno => Volatile.Read(ref _sentRecno);

    /// <summary>Makes an idle sender look at the log again (after recycling or a state change).</summary>
    public void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    protected override async Task RunCoreAsync(CancellationToken ct)
    {
        ReceivedFrame f = await Connection.ReadFrameAsync(ct).ConfigureAwait(false);
        while (!f.IsEnd && f.Type is FrameType.Echo or FrameType.EchoReply)
        {
            Heard();
            await HandleCommonAsync(f, ct).ConfigureAwait(false);
            Connection.Consume(f);
            f = await Connection.ReadFrameAsync(ct).ConfigureAwait(false);
        }
        if (f.IsEnd)
            return;
        if (f.Type != FrameType.Subscribe)
            throw new ProtocolException(ErrorCode.Protocol, $"expected SUBSCRIBE from slave {SlaveNo}, got frame type {(byte)f.Type}");
        Subscribe sub = Messages.ReadSubscribe(f.Payload);
        Connection.Consume(f);
        Heard();

        long next = Admit(sub);
        Volatile.Write(ref _sentRecno, next - 1);
        Task sender = next > 0 ? SendLoopAsync(next, ct) : Task.CompletedTask;
        try
        {
            await ReceiveLoopAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            Abort(CloseReason ?? "slave disconnected");
            await sender.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Decides where the slave starts; 0 when it must wait for a dump.</summary>
    private long Admit(Subscribe sub)
    {
        TxLog log = Server.TxLog;
        long first = log.FirstRecno, last = log.LastRecno;
        SlaveSyncState state;
        string? reason;
        lock (Server.StateLock)
        {
            SlaveRecord r = Server.State.Slave(SlaveNo);
            state = r.State;
            reason = r.DumpReason;
        }
        if (sub.NextRecno < 1)
            throw new ProtocolException(ErrorCode.Protocol, $"slave {SlaveNo} subscribed from record {sub.NextRecno}; records start at 1");
        if (sub.NextRecno < first)
        {
            Server.RequestDump(SlaveNo, $"its next record {sub.NextRecno} was recycled (the queue starts at {first})");
            _ = TellStateAsync(SlaveSyncState.DUMP, first, "your next record was recycled; waiting for a full dump");
            return 0;
        }
        if (sub.NextRecno > last + 1)
        {
            Server.RequestDump(SlaveNo, $"it has applied up to record {sub.NextRecno - 1} but the queue ends at {last} (the txlog was replaced)");
            _ = TellStateAsync(SlaveSyncState.DUMP, first, "you are ahead of this MCP's queue; waiting for a full dump");
            return 0;
        }
        if (state == SlaveSyncState.DUMP && reason is not null && reason != "never synced")
        {
            _ = TellStateAsync(SlaveSyncState.DUMP, first, "waiting for a full dump: " + reason);
            return 0;
        }
        Server.SetSlaveState(SlaveNo, SlaveSyncState.SYNC);
        Server.OnAck(SlaveNo, sub.NextRecno - 1);
        Log.Write(PgLogLevel.Log, $"slave {SlaveNo} streams from record {sub.NextRecno} (queue {first}..{last})");
        return sub.NextRecno;
    }

    private async Task TellStateAsync(SlaveSyncState state, long first, string reason)
    {
        try
        {
            await Connection.SendAsync(new StateChange(state, first, reason), static (w, m) => Messages.Write(w, m), Aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        while (true)
        {
            ReceivedFrame f = await Connection.ReadFrameAsync(ct).ConfigureAwait(false);
            if (f.IsEnd)
            {
                CloseReason ??= "the slave closed the connection";
                return;
            }
            Heard();
            FrameType t = f.Type;
            switch (t)
            {
                case FrameType.Ack:
                    long ack = Messages.ReadAck(f.Payload);
                    if (ack > SentRecno)
                        throw new ProtocolException(ErrorCode.Protocol, $"slave {SlaveNo} acknowledged record {ack}, which it was never sent (last sent {SentRecno})");
                    Server.OnAck(SlaveNo, ack);
                    break;
                case FrameType.SlaveStatus:
                    SlaveStatus st = Messages.ReadSlaveStatus(f.Payload);
                    if (st.Halted)
                    {
                        Log.Write(PgLogLevel.Error, $"slave {SlaveNo} halted at record {st.AppliedRecno + 1}: {st.Error}");
                        Server.SetSlaveState(SlaveNo, SlaveSyncState.DESYNC, st.Error);
                    }
                    else
                    {
                        Server.SetSlaveState(SlaveNo, SlaveSyncState.SYNC);
                    }
                    break;
                default:
                    if (!await HandleCommonAsync(f, ct).ConfigureAwait(false))
                        throw Unexpected($"slave {SlaveNo}", t);
                    break;
            }
            Connection.Consume(f);
            if (t == FrameType.Bye)
                return;
        }
    }

    // Two batches are in play: while one is copied into the socket on a thread-pool thread (the copy runs in
    // the send() call of whoever sends), the next is read and checked from the txlog here. The pipeline is
    // drained (the batch sent in line) when the reader has just left a segment, so that the segment's lease
    // is released only after every batch holding bytes of it has been sent, and before waiting for records.
    private async Task SendLoopAsync(long next, CancellationToken ct)
    {
        TxLog log = Server.TxLog;
        int maxBatch = Math.Min(Server.Options.SlaveBatchBytes, Connection.MaxFramePayload);
        using TxLogReader reader = log.OpenReader(next, holdRetired: true);
        var background = new BackgroundSend(Connection);
        ValueTask sending = default;
        SlaveBatch? inFlight = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                Task advanced = log.DurableAdvanced;
                Task woken = Volatile.Read(ref _wake).Task;
                SlaveBatch batch = Server.BatchPool.Get();
                ReadStatus status = ReadStatus.Ok;
                while (batch.Bytes < maxBatch)
                {
                    status = reader.TryRead(out LogRecord rec);
                    if (status != ReadStatus.Ok)
                        break;
                    Add(batch, rec);
                }

                // Frames go out in order: the previous one first.
                ValueTask previous = sending;
                sending = default;
                try
                {
                    await previous.ConfigureAwait(false);
                }
                catch
                {
                    Server.BatchPool.Return(batch);
                    throw;
                }
                if (inFlight is not null)
                {
                    Server.BatchPool.Return(inFlight);
                    inFlight = null;
                }

                if (batch.Records == 0)
                {
                    Server.BatchPool.Return(batch);
                    reader.ReleaseRetired(); // nothing of a left segment is in flight any more
                }
                else if (status == ReadStatus.Ok && !reader.HasRetired)
                {
                    // Counted as sent before it goes: a fast slave may ACK it before the send call returns.
                    Volatile.Write(ref _sentRecno, batch.LastRecno);
                    inFlight = batch;
                    sending = background.StartAsync(batch.Seal(), ct);
                }
                else
                {
                    try
                    {
                        Volatile.Write(ref _sentRecno, batch.LastRecno);
                        await Connection.SendRecordsAsync(batch.Seal(), ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        Server.BatchPool.Return(batch);
                        reader.ReleaseRetired();
                    }
                }

                switch (status)
                {
                    case ReadStatus.Ok:
                        continue; // the batch was full: go on
                    case ReadStatus.NotYet:
                        await Task.WhenAny(advanced, woken).WaitAsync(ct).ConfigureAwait(false);
                        continue;
                    case ReadStatus.Recycled:
                        Server.RequestDump(SlaveNo, $"its next record {reader.NextRecno} was recycled while it was being streamed");
                        await TellStateAsync(SlaveSyncState.DUMP, log.FirstRecno, "your next record was recycled; waiting for a full dump").ConfigureAwait(false);
                        return;
                    case ReadStatus.Damaged:
                        Log.Write(PgLogLevel.Error, $"slave {SlaveNo}: cannot serve {reader.Problem}");
                        Server.RequestDump(SlaveNo, $"record {reader.NextRecno} in the txlog is damaged");
                        await TellStateAsync(SlaveSyncState.DUMP, log.FirstRecno, "the next record is damaged in the MCP's txlog; waiting for a full dump").ConfigureAwait(false);
                        return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            Abort(CloseReason ?? $"sending to slave {SlaveNo} failed");
        }
        finally
        {
            // The bytes of a batch still being sent belong to leased segments: wait for it before the reader goes.
            try
            {
                await sending.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
            }
            if (inFlight is not null)
                Server.BatchPool.Return(inFlight);
        }
    }

    private void Add(SlaveBatch batch, in LogRecord rec)
    {
        switch (SlaveFilter.Classify(rec.Kind, rec.Payload, SlaveNo))
        {
            case FilterVerdict.AsIs:
                batch.AddStored(rec.Bytes, rec.Recno);
                break;
            case FilterVerdict.Empty:
                batch.CommitScratch(SlaveFilter.WriteEmpty(rec.Bytes.Span, batch.Scratch(RecordHeader.Size)), rec.Recno);
                break;
            default:
                batch.CommitScratch(SlaveFilter.WriteFiltered(rec.Bytes.Span, SlaveNo, batch.Scratch(rec.Length)), rec.Recno);
                break;
        }
    }
}
