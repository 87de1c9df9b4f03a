using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Nodes.Slave;

// One connection to the MCP: a reader that copies RECORDS frames into pooled buffers (and answers ECHOs
// while the apply works), the apply loop, and a keep-alive.
public sealed partial class SlaveAgent
{
    private long _lastAcked;
    private volatile bool _streaming;
    private bool _waitingForDump;
    // Why this slave itself asked for a full dump (its rows came from another queue): more telling than the MCP's STATE reason.
    private string? _ownDumpReason;
    private long _batchFloor;

    /// <param name="batchIdle">
    /// Batch mode: end the session (normally) once no record has arrived for this long and the slave is
    /// between transactions and outside a dump; null: stream until cancelled or the link fails.
    /// </param>
    private async Task RunLinkAsync(Backoff backoff, CancellationToken ct, TimeSpan? batchIdle = null)
    {
        NodeSettings s = _settings;
        var options = new McpClientOptions
        {
            Host = s.McpAddress,
            Port = s.McpPort,
            AuthKey = s.McpAuthKey,
            Role = NodeRole.Slave,
            SlaveNo = (short)_slaveNo,
            SystemId = _systemId,
            RequireSsl = s.McpRequireSsl,
            SslCaFile = s.McpSslCaFile,
            Name = $"slave {_slaveNo} on {Environment.MachineName}",
        };
        _status.Update(st => st.State = "connecting");
        SlaveLink link = await SlaveLink.ConnectAsync(options, ct).ConfigureAwait(false);
        await using (link.ConfigureAwait(false))
        {
            Welcome w = link.Welcome;
            RecordApplier applier = _applier!;
            ApplyProgress p = applier.Committed;
            string where = $"{s.McpAddress}:{s.McpPort}";
            _log.Write(PgLogLevel.Log, $"connected to the MCP at {where} (queue {w.McpId}, records {w.FirstRecno}..{w.LastRecno}); applied up to record {p.AppliedRecno}");
            _status.Update(st =>
            {
                st.Connected = true;
                st.Mcp = where;
                st.McpId = w.McpId;
                st.Problem = null;
                st.WaitingForDump = false;
                st.DumpReason = null;
                if (w.LastRecno > st.McpLastRecno)
                    st.McpLastRecno = w.LastRecno;
            });

            bool newQueue = p.McpId is Guid synced && synced != w.McpId && p.AppliedRecno > 0;
            if (newQueue)
            {
                // Record numbers of another queue mean nothing here: subscribing by them would apply the wrong
                // records. The slave asks for a full dump and takes this queue's numbering from its DUMP_START on.
                string reason = $"this slave applied records up to {p.AppliedRecno} from MCP queue {p.McpId}, and the MCP at {where} is queue {w.McpId} (its txlog was replaced); the slave needs a full dump";
                _log.Write(PgLogLevel.Warning, $"waiting for a full dump: {reason}");
                _status.Update(st =>
                {
                    st.State = "waiting for a full dump";
                    st.WaitingForDump = true;
                    st.DumpReason = reason;
                });
                applier.FollowNewQueue(w.McpId);
                _ownDumpReason = reason;
            }
            else if (p.McpId != w.McpId)
            {
                if (p.AppliedRecno > 0)
                    _log.Write(PgLogLevel.Warning, $"this slave applied records up to {p.AppliedRecno} without a record of its MCP queue; taking the MCP at {where} (queue {w.McpId}) as the one they came from");
                await applier.StoreMcpIdAsync(w.McpId, ct).ConfigureAwait(false);
            }
            if (w.SlaveAck > p.AppliedRecno)
            {
                _log.Write(PgLogLevel.Warning,
                    $"the MCP has this slave's acknowledgement of record {w.SlaveAck}, but its database has applied only up to {p.AppliedRecno} (restored from a backup?); applying again from record {p.AppliedRecno + 1}");
            }

            await link.SubscribeAsync(newQueue ? Math.Max(1, w.FirstRecno) : p.AppliedRecno + 1, batchIdle is not null, ct, needsDump: newQueue).ConfigureAwait(false);
            _waitingForDump = newQueue;
            _batchFloor = w.LastRecno;
            Volatile.Write(ref _lastAcked, newQueue ? 0 : p.AppliedRecno);
            if (_halted && _haltError is not null)
            {
                // A new session starts as SYNC at the MCP: say again that this slave is halted (until it resumes).
                await link.SendStatusAsync(p.AppliedRecno, halted: true, WireText(_haltError), ct).ConfigureAwait(false);
            }
            _streaming = false;
            if (!newQueue)
            {
                _ownDumpReason = null;
                _status.Update(st => st.State = _halted ? "halted" : "streaming");
            }

            using var linkCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var channel = Channel.CreateBounded<Inbound>(new BoundedChannelOptions(_options.ReadAheadFrames)
            {
                SingleReader = true,
                SingleWriter = true,
            });
            Task reader = ReadLoopAsync(link, channel.Writer, linkCts.Token);
            Task keepalive = KeepaliveLoopAsync(link, linkCts.Token);
            var frames = new FrameQueue();
            try
            {
                await ApplyLoopAsync(link, channel.Reader, frames, backoff, batchIdle, linkCts.Token).ConfigureAwait(false);
                await link.SayGoodbyeAsync("batch done", ct).ConfigureAwait(false); // only batch mode gets here
            }
            finally
            {
                await linkCts.CancelAsync().ConfigureAwait(false);
                await reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                await keepalive.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (_applier is { InTransaction: true } a)
                    await a.RollbackAsync().ConfigureAwait(false);
                frames.ReleaseAll();
                while (channel.Reader.TryRead(out Inbound left))
                    left.Release();
                _streaming = false;
            }
        }
    }

    /// <summary>Applies what arrives; returns only in batch mode (<paramref name="batchIdle"/>), when the batch is over.</summary>
    private async Task ApplyLoopAsync(SlaveLink link, ChannelReader<Inbound> inbox, FrameQueue frames, Backoff backoff, TimeSpan? batchIdle, CancellationToken ct)
    {
        long lastArrival = Environment.TickCount64;
        while (true)
        {
            if (ProtectionDue && _applier is { InTransaction: false })
                await SyncProtectionAsync(ct).ConfigureAwait(false);

            TimeSpan wait = _options.ProtectionInterval;
            if (batchIdle is { } idle)
            {
                TimeSpan quiet = TimeSpan.FromMilliseconds(Environment.TickCount64 - lastArrival);
                if (quiet >= idle && BatchMayEnd)
                {
                    _log.Write(PgLogLevel.Log, $"batch: no new record for {idle.TotalSeconds:0.###} s (replication_slave_batch_mode_timeout); disconnecting from the MCP");
                    return;
                }
                // Past the timeout but inside a transaction or a dump: look again a little later.
                TimeSpan left = quiet >= idle ? TimeSpan.FromMilliseconds(200) : idle - quiet;
                if (left < wait)
                    wait = left;
            }

            Inbound item = await NextAsync(inbox, wait, ct).ConfigureAwait(false);
            if (item.IsNone)
                continue; // idle tick: protection check, batch timeout
            lastArrival = Environment.TickCount64;
            if (item.State is { } state)
            {
                HandleState(state);
                continue;
            }
            backoff.Reset(); // records flow: the next connection problem starts with a short wait again
            frames.Add(item);
            await ApplyFramesAsync(link, inbox, frames, ct).ConfigureAwait(false);
            if (_applier is { Dump.IsFull: true })
                _waitingForDump = false; // the full dump the MCP announced has begun
        }
    }

    /// <summary>
    /// A batch may end only once it has applied every record the MCP held when it connected (WELCOME's last
    /// record, so even a timeout of 0 fetches the whole backlog), between transactions (a master transaction in
    /// parts, or a table's dump, is one local transaction), outside a full dump (DUMP_START..DUMP_END), and not
    /// while the MCP has said that a full dump is on its way: otherwise the batch would end with the slave half
    /// loaded, and the next one would start the dump again.
    /// </summary>
    private bool BatchMayEnd =>
        _applier is { InTransaction: false, Dump.Running: false } a && a.Committed.AppliedRecno >= _batchFloor && !_waitingForDump && !_halted;

    private async ValueTask<Inbound> NextAsync(ChannelReader<Inbound> inbox, TimeSpan wait, CancellationToken ct)
    {
        try
        {
            if (inbox.TryRead(out Inbound ready))
                return ready;
            using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
            tick.CancelAfter(wait);
            try
            {
                return await inbox.ReadAsync(tick.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return default;
            }
        }
        catch (ChannelClosedException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }

    /// <summary>
    /// Applies the frames not applied yet. On an apply error: halt, wait, and apply again from the last commit
    /// (the frames of the open transaction are kept) until it goes through; on a lost database: reopen it and
    /// do the same.
    /// </summary>
    private async Task ApplyFramesAsync(SlaveLink link, ChannelReader<Inbound> inbox, FrameQueue frames, CancellationToken ct)
    {
        var haltBackoff = new Backoff(_options.RetryMin, _options.RetryMax);
        bool isolate = false;
        while (true)
        {
            try
            {
                RecordApplier a = _applier ?? throw new DatabaseUnavailableException("the slave database is not open");
                a.Isolate = isolate;
                while (frames.NextToApply < frames.Count)
                {
                    bool more = frames.NextToApply < frames.Count - 1 || inbox.TryPeek(out _);
                    await a.ApplyAsync(frames.Next.Memory, commitAtEnd: !more, ct).ConfigureAwait(false);
                    frames.NextToApply++;
                }
                a.Isolate = false;
                break;
            }
            catch (ApplyException ex) when (ex.Ambiguous && !isolate && !frames.Incomplete)
            {
                // Which statement of a batch failed is not known: apply again section by section to name it.
                frames.NextToApply = 0;
                isolate = true;
            }
            catch (ApplyException ex)
            {
                frames.NextToApply = 0;
                // Retries go one record per transaction: the records before the failing one then commit, and
                // the error always names the exact record and section.
                isolate = true;
                await HaltAsync(link, ex, ct).ConfigureAwait(false);
                if (frames.Incomplete)
                    throw new ResubscribeException($"apply halted at record {ex.Recno} inside a master transaction too large to keep; fetching it from the MCP again");
                await Task.Delay(haltBackoff.Next(), ct).ConfigureAwait(false);
            }
            catch (DatabaseUnavailableException ex)
            {
                frames.NextToApply = 0;
                ReportProblem(ex.Message, database: true);
                await ReopenDatabaseAsync(ct).ConfigureAwait(false);
                _status.Update(st =>
                {
                    st.Connected = true;
                    st.State = _halted ? "halted" : "streaming";
                });
                if (frames.Incomplete)
                    throw new ResubscribeException("the slave database came back inside a master transaction too large to keep; fetching it from the MCP again");
            }
        }

        RecordApplier applier = _applier!;
        if (_halted)
            await ResumeAsync(link, ct).ConfigureAwait(false);
        if (!applier.InTransaction)
        {
            frames.ReleaseAll();
        }
        else if (frames.Bytes > _options.RetainBytes)
        {
            // A huge master transaction: stop holding its frames (after the server has their statements).
            await applier.FlushAsync(ct).ConfigureAwait(false);
            frames.ReleaseAll();
            frames.Incomplete = true;
        }

        ApplyProgress p = applier.Committed;
        // While a full dump switches this slave to a new queue, the committed recno is still the old queue's.
        if (!applier.SwitchingQueue && p.AppliedRecno > Volatile.Read(ref _lastAcked))
        {
            await link.AckAsync(p.AppliedRecno, ct).ConfigureAwait(false); // only after the COMMIT
            Volatile.Write(ref _lastAcked, p.AppliedRecno);
            _status.OnApplied(p, applier.RowsApplied);
        }
        _status.OnDump(applier.Dump);
        if (applier.ReplicatedTablesChanged)
        {
            applier.ReplicatedTablesChanged = false;
            _protectionDirty = true;
        }
    }

    private async Task HaltAsync(SlaveLink link, ApplyException ex, CancellationToken ct)
    {
        bool news = !_halted || _haltRecno != ex.Recno || _haltError != ex.Message;
        DateTime now = DateTime.UtcNow;
        _halted = true;
        _haltRecno = ex.Recno;
        _haltError = ex.Message;
        if (news)
            _log.Write(PgLogLevel.Error, $"apply halted: {ex.Message}; nothing after it is applied, and it is retried until it goes through");
        else
            _log.Write(PgLogLevel.Debug1, $"still halted: {ex.Message}");
        _status.Update(st =>
        {
            st.State = "halted";
            st.Halted = true;
            st.HaltedRecno = ex.Recno;
            st.HaltedError = ex.Message;
            st.HaltedSince ??= now;
        });
        if (!news)
            return;
        try
        {
            await _applier!.StoreErrorAsync(ex.Recno, ex.Message, ct).ConfigureAwait(false);
        }
        catch (DatabaseUnavailableException dbex)
        {
            _log.Write(PgLogLevel.Warning, $"could not keep the error in mammoth.slave_progress: {dbex.Message}");
        }
        await link.SendStatusAsync(_applier!.Committed.AppliedRecno, halted: true, WireText(ex.Message), ct).ConfigureAwait(false);
    }

    /// <summary>An error as the SLAVE_STATUS frame carries it (a text field has a size limit).</summary>
    private static string WireText(string error) => error.Length > 1000 ? error[..1000] + "…" : error;

    private async Task ResumeAsync(SlaveLink link, CancellationToken ct)
    {
        if (_applier is not { } a || a.Committed.AppliedRecno < _haltRecno)
            return; // the halted record is not committed yet (its transaction continues in a later record)
        _log.Write(PgLogLevel.Log, $"apply resumed: record {_haltRecno} is applied now (it had halted with: {_haltError})");
        _halted = false;
        _haltError = null;
        _status.Update(st =>
        {
            st.State = "streaming";
            st.Halted = false;
            st.HaltedRecno = null;
            st.HaltedError = null;
            st.HaltedSince = null;
        });
        await link.SendStatusAsync(a.Committed.AppliedRecno, halted: false, null, ct).ConfigureAwait(false);
    }

    private void HandleState(StateChange state)
    {
        _waitingForDump = state.State == SlaveSyncState.DUMP;
        if (state.State == SlaveSyncState.DUMP)
        {
            _log.Write(PgLogLevel.Log, $"waiting for a full dump: {state.Reason}");
            _status.Update(st =>
            {
                st.State = "waiting for a full dump";
                st.WaitingForDump = true;
                st.DumpReason = _ownDumpReason ?? state.Reason;
            });
        }
        else
        {
            _log.Write(PgLogLevel.Log, $"the MCP says this slave is {state.State}: {state.Reason}");
        }
    }

    // ---- reader and keep-alive -------------------------------------------------------------------------

    private async Task ReadLoopAsync(SlaveLink link, ChannelWriter<Inbound> writer, CancellationToken ct)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                SlaveMessage m = await link.ReceiveAsync(ct).ConfigureAwait(false);
                if (m.State is { } state)
                {
                    await writer.WriteAsync(new Inbound(state), ct).ConfigureAwait(false);
                    continue;
                }
                var inbound = Inbound.Copy(m.Records);
                (int count, long last) = CountRecords(inbound.Memory.Span);
                _status.OnReceived(count, last);
                _streaming = true;
                try
                {
                    await writer.WriteAsync(inbound, ct).ConfigureAwait(false);
                }
                catch
                {
                    inbound.Release();
                    throw;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            writer.TryComplete(error);
        }
    }

    private static (int Count, long LastRecno) CountRecords(ReadOnlySpan<byte> records)
    {
        int n = 0;
        long last = 0;
        int o = 0;
        while (records.Length - o >= RecordHeader.Size)
        {
            RecordHeader h = RecordHeader.Read(records[o..]);
            n++;
            last = h.Recno;
            o += RecordHeader.Size + Math.Max(0, h.PayloadLength);
        }
        return (n, last);
    }

    /// <summary>
    /// While the apply works on a big transaction or is halted, the reader may be blocked on a full queue and
    /// no frame goes to the MCP, which drops peers it has not heard from for mcp_echo_timeout: repeat the last
    /// ACK now and then. Only once records flow (before that the MCP has sent nothing to acknowledge).
    /// </summary>
    private async Task KeepaliveLoopAsync(SlaveLink link, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.KeepaliveInterval, ct).ConfigureAwait(false);
                if (_streaming)
                    await link.AckAsync(Volatile.Read(ref _lastAcked), ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    /// <summary>A RECORDS frame (copied into a pooled buffer) or a STATE message.</summary>
    private readonly struct Inbound
    {
        private readonly byte[]? _buffer;
        private readonly int _length;

        public Inbound(StateChange state)
        {
            State = state;
            _buffer = null;
            _length = 0;
        }

        private Inbound(byte[] buffer, int length)
        {
            _buffer = buffer;
            _length = length;
            State = null;
        }

        public static Inbound Copy(in ReadOnlySequence<byte> records)
        {
            int length = checked((int)records.Length);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            records.CopyTo(buffer);
            return new Inbound(buffer, length);
        }

        public StateChange? State { get; }
        public bool IsNone => State is null && _buffer is null;
        public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);
        public int Length => _length;

        public void Release()
        {
            if (_buffer is not null)
                ArrayPool<byte>.Shared.Return(_buffer);
        }
    }

    /// <summary>Frames since the last commit, kept so that a failed transaction can be applied again.</summary>
    private sealed class FrameQueue
    {
        private readonly List<Inbound> _frames = [];

        public int Count => _frames.Count;
        public int NextToApply { get; set; }
        public Inbound Next => _frames[NextToApply];
        public long Bytes { get; private set; }

        /// <summary>Frames of the open transaction were released: after a failure it must be fetched again.</summary>
        public bool Incomplete { get; set; }

        public void Add(Inbound frame)
        {
            _frames.Add(frame);
            Bytes += frame.Length;
        }

        public void ReleaseAll()
        {
            foreach (Inbound f in _frames)
                f.Release();
            _frames.Clear();
            NextToApply = 0;
            Bytes = 0;
            Incomplete = false;
        }
    }
}
