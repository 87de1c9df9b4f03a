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
/// <remarks>
/// A slave in DUMP is first told so (STATE DUMP). If its next record is gone (or it is ahead of the queue, or a
/// dump was asked for it by MCP REFRESH while it was away), the session waits until the DUMP_START of its dump
/// is in the txlog and streams from there: the one recno gap a slave accepts is the one before a DUMP_START
/// naming it. A slave in DUMP that is already past that DUMP_START (it reconnects mid-dump) goes on from its
/// next record, and one that still streams (MCP REFRESH) simply reaches it.
/// </remarks>
internal sealed class SlaveSession : Session
{
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _sentRecno;
    // Acks that only restate what the slave applied before its dump stream began are ignored: while it waits,
    // below the DUMP_START it is streamed from, and its SUBSCRIBE position when that is beyond what it was sent.
    private volatile bool _waitingForDump;
    private long _ignoreAcksBelow;
    private long _subscribedApplied = -1;

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
        Task sender = ServeAsync(next, ct);
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
        string? reason;
        bool inDump;
        long? dumpStart, dumpEnd;
        lock (Server.StateLock)
        {
            SlaveRecord r = Server.State.Slave(SlaveNo);
            reason = r.DumpReason;
            inDump = McpServer.IsWaitingForDump(r);
            dumpStart = r.DumpStartRecno;
            dumpEnd = r.DumpEndRecno;
        }
        if (sub.NextRecno < 1)
            throw new ProtocolException(ErrorCode.Protocol, $"slave {SlaveNo} subscribed from record {sub.NextRecno}; records start at 1");
        _subscribedApplied = sub.NextRecno - 1;
        if (sub.NeedsDump)
        {
            // Its rows came from another queue: its recno means nothing here. It gets a full dump, streamed from
            // that dump's DUMP_START whatever its recno.
            if (!inDump)
            {
                Server.ForgetAck(SlaveNo);
                Server.RequestDump(SlaveNo, "its rows came from another MCP queue (the txlog was replaced)");
            }
            _subscribedApplied = 0;
            _ = TellStateAsync(SlaveSyncState.DUMP, first, "your records came from another MCP queue; waiting for a full dump");
            return 0;
        }
        bool servable = sub.NextRecno >= first && sub.NextRecno <= last + 1;
        if (inDump)
        {
            if (dumpStart is long start && servable && sub.NextRecno > start && dumpEnd is long end && sub.NextRecno > end)
            {
                // It applied its whole dump, but its acknowledgement of the DUMP_END was lost (an MCP crash).
                Server.OnAck(SlaveNo, sub.NextRecno - 1);
            }
            else if (dumpStart is long start2 && servable && sub.NextRecno >= start2)
            {
                // Reconnected in the middle of its dump (or right at its DUMP_START): it goes on from there.
                _ = TellStateAsync(SlaveSyncState.DUMP, first, $"continuing your full dump (it started at record {start2}) from record {sub.NextRecno}");
                Server.OnAck(SlaveNo, sub.NextRecno - 1);
                Log.Write(PgLogLevel.Log, $"slave {SlaveNo} goes on with its full dump from record {sub.NextRecno} (the dump started at record {start2})");
                return sub.NextRecno;
            }
            else
            {
                _ = TellStateAsync(SlaveSyncState.DUMP, first, "waiting for a full dump: " + reason);
                return 0;
            }
        }
        else if (sub.NextRecno < first)
        {
            Server.RequestDump(SlaveNo, $"its next record {sub.NextRecno} was recycled (the queue starts at {first})");
            _ = TellStateAsync(SlaveSyncState.DUMP, first, "your next record was recycled; waiting for a full dump");
            return 0;
        }
        else if (sub.NextRecno > last + 1)
        {
            Server.ForgetAck(SlaveNo);
            Server.RequestDump(SlaveNo, $"it has applied up to record {sub.NextRecno - 1} but the queue ends at {last} (the txlog was replaced)");
            _ = TellStateAsync(SlaveSyncState.DUMP, first, "you are ahead of this MCP's queue; waiting for a full dump");
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
                    if (_waitingForDump || ack < Volatile.Read(ref _ignoreAcksBelow) || (ack == _subscribedApplied && ack > SentRecno))
                        break; // restates what it applied before its dump stream (see the fields)
                    if (ack > SentRecno)
                        throw new ProtocolException(ErrorCode.Protocol, $"slave {SlaveNo} acknowledged record {ack}, which it was never sent (last sent {SentRecno})");
                    Server.OnAck(SlaveNo, ack);
                    break;
                case FrameType.SlaveStatus:
                    SlaveStatus st = Messages.ReadSlaveStatus(f.Payload);
                    if (st.Halted)
                        Log.Write(PgLogLevel.Error, $"slave {SlaveNo} halted at record {st.AppliedRecno + 1}: {st.Error}");
                    Server.OnSlaveStatus(SlaveNo, st.Halted, st.Error);
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

    /// <summary>
    /// Streams from <paramref name="next"/>; when that is 0, or once the next record is gone, waits for the
    /// slave's DUMP_START and streams from it.
    /// </summary>
    private async Task ServeAsync(long next, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (next == 0)
                {
                    _waitingForDump = true;
                    next = await WaitForDumpStartAsync(ct).ConfigureAwait(false);
                    Volatile.Write(ref _ignoreAcksBelow, next);
                    Volatile.Write(ref _sentRecno, next - 1);
                    Server.OnAck(SlaveNo, next - 1); // its position in this queue: right before its dump
                    _waitingForDump = false;
                    Log.Write(PgLogLevel.Log, $"slave {SlaveNo} streams its full dump from record {next}");
                }
                if (!await SendLoopAsync(next, ct).ConfigureAwait(false))
                    return;
                next = 0;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Waits until the slave's record says where its dump starts (the dump watcher notes it and wakes us).</summary>
    private async Task<long> WaitForDumpStartAsync(CancellationToken ct)
    {
        TxLog log = Server.TxLog;
        while (true)
        {
            Task woken = Volatile.Read(ref _wake).Task;
            long first = log.FirstRecno;
            string? lost = null;
            lock (Server.StateLock)
            {
                SlaveRecord r = Server.State.Slave(SlaveNo);
                if (r.State == SlaveSyncState.DUMP && r.DumpStartRecno is long start)
                {
                    if (start >= first)
                        return start;
                    lost = $"the start of its dump (record {start}) was recycled before it was streamed (the queue starts at {first})";
                }
                else if (r.State == SlaveSyncState.DUMP && r.DumpSinceRecno is long since && since < first)
                {
                    lost = $"records from {since} on, where its dump was to start, were recycled (the queue starts at {first})";
                }
            }
            if (lost is not null)
            {
                Server.RequestDump(SlaveNo, lost);
                continue;
            }
            await woken.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Streams until cancelled (false) or until the next record is gone and the slave waits for a dump (true).</summary>
    /// <remarks>
    /// Two batches are in play: while one is copied into the socket on a thread-pool thread (the copy runs in
    /// the send() call of whoever sends), the next is read and checked from the txlog here. The pipeline is
    /// drained (the batch sent in line) when the reader has just left a segment, so that the segment's lease
    /// is released only after every batch holding bytes of it has been sent, and before waiting for records.
    /// </remarks>
    private async Task<bool> SendLoopAsync(long next, CancellationToken ct)
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
                        // In DUMP already with its dump start still held: it goes on from there (a gap the slave takes).
                        if (!Server.DumpStillServable(SlaveNo, log.FirstRecno))
                            Server.RequestDump(SlaveNo, $"its next record {reader.NextRecno} was recycled while it was being streamed");
                        await TellStateAsync(SlaveSyncState.DUMP, log.FirstRecno, "your next record was recycled; waiting for a full dump").ConfigureAwait(false);
                        return true;
                    case ReadStatus.Damaged:
                        Log.Write(PgLogLevel.Error, $"slave {SlaveNo}: cannot serve {reader.Problem}");
                        Server.RequestDump(SlaveNo, $"record {reader.NextRecno} in the txlog is damaged");
                        await TellStateAsync(SlaveSyncState.DUMP, log.FirstRecno, "the next record is damaged in the MCP's txlog; waiting for a full dump").ConfigureAwait(false);
                        return true;
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
        return false;
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
