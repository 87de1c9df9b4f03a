using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Log.Storage;
using Mammoth.Net.Diagnostics;

namespace Mammoth.Net.Hub;

// Full dumps, the MCP's side (docs/dumps.md). A slave in DUMP waits for the first DUMP_START naming it at or
// after the record the queue had reached when it went to DUMP (SlaveRecord.DumpSinceRecno). A watcher follows
// the durable log — reading only headers, and only while some slave waits — and notes in the slave's record
// where its dump starts and ends; the waiting session is woken and streams from the DUMP_START. The slave's
// acknowledgement of the DUMP_END ends its dump: SYNC. The notes are in mcp_state.json, and after a restart
// the watcher reads again from the oldest DumpSinceRecno, so a dump appended before a crash is still found.
public sealed partial class McpServer
{
    private long _dumpWatchNext;

    /// <summary>Next record the dump watcher looks at (tests).</summary>
    internal long DumpWatchNext => Volatile.Read(ref _dumpWatchNext);

    /// <summary>In DUMP for real: a dump was asked for (a slave never streamed to may still start at record 1).</summary>
    internal static bool IsWaitingForDump(SlaveRecord r) =>
        r.State == SlaveSyncState.DUMP && r.DumpReason is not null && r.DumpReason != SlaveRecord.NeverSynced;

    private void StartDumpWatcher()
    {
        TxLog log = TxLog;
        long from = log.NextRecno;
        lock (_stateLock)
        {
            foreach (SlaveRecord r in _state.Slaves)
                if (r.State == SlaveSyncState.DUMP && r.DumpSinceRecno is long since)
                    from = Math.Min(from, since);
        }
        from = Math.Max(from, log.FirstRecno);
        Volatile.Write(ref _dumpWatchNext, from);
        _background.Add(Task.Run(() => DumpWatchLoopAsync(from)));
    }

    private async Task DumpWatchLoopAsync(long from)
    {
        TxLog log = TxLog;
        using TxLogReader reader = log.OpenReader(from);
        long reportedDamage = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                // Signal before position (the flusher publishes the position, then completes the signal).
                Task advanced = log.DurableAdvanced;
                long durable = log.DurableRecno;
                if (!AnySlaveAwaitsDump())
                {
                    // Nobody waits: skip without reading. A slave that goes to DUMP now waits for records from
                    // the log's next recno, which is past this durable point.
                    if (reader.NextRecno <= durable)
                        reader.Seek(durable + 1);
                }
                else
                {
                    while (true)
                    {
                        ReadStatus st = reader.TryRead(out LogRecord rec);
                        if (st == ReadStatus.Ok)
                        {
                            if (rec.Kind is RecordKind.DumpStart or RecordKind.DumpEnd)
                                OnDumpMarker(rec.Kind, rec.Recno, rec.Payload);
                            continue;
                        }
                        if (st == ReadStatus.Recycled)
                        {
                            // Recycling took records the watcher had not read: every waiting slave holds the
                            // queue from its DumpSinceRecno, so those held nothing a waiting slave needs.
                            long first = log.FirstRecno;
                            if (first > reader.NextRecno)
                            {
                                reader.Seek(first);
                                continue;
                            }
                        }
                        if (st == ReadStatus.Damaged && reportedDamage != reader.NextRecno)
                        {
                            reportedDamage = reader.NextRecno;
                            _log.Write(PgLogLevel.Error, $"looking for DUMP_START records: cannot read {reader.Problem}");
                        }
                        break;
                    }
                }
                Volatile.Write(ref _dumpWatchNext, reader.NextRecno);
                await advanced.WaitAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is TxLogException or ObjectDisposedException)
        {
            if (!_stop.IsCancellationRequested)
                _log.Write(PgLogLevel.Error, $"stopped looking for DUMP_START records: {ex.Message}");
        }
    }

    private bool AnySlaveAwaitsDump()
    {
        lock (_stateLock)
        {
            foreach (SlaveRecord r in _state.Slaves)
                if (r.State == SlaveSyncState.DUMP && r.DumpSinceRecno is not null)
                    return true;
        }
        return false;
    }

    /// <summary>A DUMP_START or DUMP_END at <paramref name="recno"/>: notes it for the slaves in DUMP it names.</summary>
    internal void OnDumpMarker(RecordKind kind, long recno, ReadOnlySpan<byte> payload)
    {
        if (!DumpMarker.TryRead(payload, out DumpMarker m))
        {
            _log.Write(PgLogLevel.Warning, $"record {recno} ({kind}) does not hold a dump marker; ignored");
            return;
        }
        ulong wake = 0;
        lock (_stateLock)
        {
            foreach (SlaveRecord r in _state.Slaves)
            {
                if (r.State != SlaveSyncState.DUMP || r.DumpSinceRecno is not long since || recno < since || !m.Slaves.Contains(r.SlaveNo))
                    continue;
                if (kind == RecordKind.DumpStart)
                {
                    // Only forward: a later DUMP_START (the master restarted the dump) replaces an earlier one;
                    // reading again after a restart finds the earlier one first and moves on to it.
                    if (r.DumpStartRecno is long s && s >= recno)
                        continue;
                    r.ClearDumpProgress();
                    r.DumpStartRecno = recno;
                    r.DumpId = m.DumpId;
                    r.DumpTables = m.TableCount;
                    _log.Write(PgLogLevel.Log, $"slave {r.SlaveNo}: its full dump (dump {m.DumpId}, {m.TableCount} tables) starts at record {recno}");
                    if ((uint)r.SlaveNo <= SlaveSet.MaxSlaveNumber)
                        wake |= 1UL << r.SlaveNo;
                }
                else
                {
                    if (r.DumpStartRecno is not long s || recno <= s || r.DumpId != m.DumpId || r.DumpEndRecno is not null)
                        continue;
                    r.DumpEndRecno = recno;
                    _log.Write(PgLogLevel.Log, $"slave {r.SlaveNo}: its full dump ends at record {recno}");
                    if (r.AckRecno >= recno)
                        FinishDumpLocked(r); // it was faster than this watcher
                }
                _stateDirty = true;
            }
        }
        if (wake != 0)
        {
            foreach (SlaveSession session in SlaveSessions())
                if ((uint)session.SlaveNo <= SlaveSet.MaxSlaveNumber && (wake & (1UL << session.SlaveNo)) != 0)
                    session.Wake();
        }
    }

    /// <summary>The slave acknowledged its DUMP_END: SYNC (DESYNC if it is gone meanwhile).</summary>
    private void FinishDumpLocked(SlaveRecord r)
    {
        SlaveSyncState next = r.Connected ? SlaveSyncState.SYNC : SlaveSyncState.DESYNC;
        _log.Write(PgLogLevel.Log, $"slave {r.SlaveNo}: acknowledged the end of its full dump (record {r.DumpEndRecno}): DUMP -> {next}");
        r.State = next;
        r.DumpReason = null;
        r.DumpRequestedAt = null;
        r.DumpSinceRecno = null;
        r.HaltError = null;
        r.ClearDumpProgress();
        _stateDirty = true;
    }

    /// <summary>
    /// Where a slave holds the queue for recycling. A slave in DUMP whose next record is gone holds it from
    /// where its dump starts (or will start): that record must survive until it is streamed.
    /// </summary>
    private static long RecyclePosition(SlaveRecord r, long first)
    {
        if (r.State != SlaveSyncState.DUMP || r.DumpSinceRecno is not long since)
            return r.AckRecno;
        if (r.AckRecno >= first - 1)
            return r.AckRecno; // still streaming through the queue towards its dump
        return (r.DumpStartRecno ?? since) - 1;
    }

    /// <summary>Whether a slave in DUMP can still be streamed from its DUMP_START (appended or still to come).</summary>
    internal bool DumpStillServable(int slaveNo, long first)
    {
        lock (_stateLock)
        {
            SlaveRecord r = _state.Slave(slaveNo);
            return IsWaitingForDump(r) && r.DumpSinceRecno is long since && (r.DumpStartRecno ?? since) >= first;
        }
    }

    /// <summary>A slave ahead of the queue: its acknowledgements were of another queue's records.</summary>
    internal void ForgetAck(int slaveNo)
    {
        lock (_stateLock)
        {
            _state.Slave(slaveNo).AckRecno = 0;
            _stateDirty = true;
        }
    }
}
