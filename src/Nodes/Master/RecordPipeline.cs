using System.Buffers;
using Mammoth.Log.Records;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Nodes.Master;

/// <summary>
/// Between the capture loop and the MCP: batches finished records into RECORDS frames and sends them,
/// bounds the bytes not yet durable (capture waits above <see cref="MasterAgentOptions.MaxInFlightBytes"/>),
/// and turns DURABLE confirmations into the LSN that may be confirmed to the slot.
/// </summary>
/// <remarks>
/// <para>Sending happens on the capture loop itself: a frame goes out when the batch is full, and the partly
/// filled batch when the capture loop is about to wait (<see cref="FlushAsync"/>). A socket write to the MCP
/// normally completes at once, so there is no hand-off to another task and no wake-up per frame; when the MCP
/// is slow the write waits, and so does capture, as it would for credit. A record of at least half a frame
/// (a part of a big transaction) is written straight from the caller's buffer, without a copy.</para>
/// <para>One FIFO of entries, in stream order: one per record (its identity and the bytes appended up to it)
/// and one per commit (its end LSN). Durability arrives in order, so the FIFO is drained from the front:
/// records the newest DURABLE covers, and the commits behind them. The confirmable LSN is the end LSN of the
/// last commit drained — a commit is drained only when every record before it is durable, whether it had
/// records of its own or not (a heartbeat, a transaction of unreplicated tables).</para>
/// <para>Records the MCP's WELCOME says it already stored (re-streamed after a reconnect) are not sent: they
/// enter the FIFO as already covered. The MCP would drop them anyway (dedup on commit LSN and seq).</para>
/// <para>Threads: the capture loop calls everything but <see cref="Drain"/>, which the confirmer calls; they
/// share only the entry FIFO (under a lock; a <c>ConcurrentQueue</c> would allocate, since peeking marks its
/// segments as never to be reused) and the released-bytes counter.</para>
/// <para>An entry is queued before its bytes can leave: the MCP's DURABLE for a record may arrive before the
/// write that sent it returns, and a DURABLE that finds no entry to drain would release nothing until the next
/// one — with a part of at least <see cref="MasterAgentOptions.MaxInFlightBytes"/>, never.</para>
/// </remarks>
internal sealed class RecordPipeline : IDisposable
{
    private struct Entry
    {
        public ulong Lsn;
        public uint Seq;
        public bool IsCommit;
        public ulong EndLsn;
        public long Bytes;
    }

    private readonly Lock _lock = new();
    private readonly Queue<Entry> _entries = new();
    private readonly AsyncSignal _credit = new();
    private readonly MasterLink _link;
    private readonly uint _epoch;
    private readonly Durable _resume;
    private readonly int _frameBytes;
    private readonly long _maxInFlight;
    private readonly MasterStatistics _stats;
    private readonly MammothLog _log;
    private long _skipped;
    private ulong _skippedUpTo;
    private byte[] _batch;
    private int _batchLength;
    private long _appended;   // capture loop only
    private long _released;   // written by Drain

    public RecordPipeline(MasterLink link, uint epoch, Durable resume, MasterAgentOptions options, MasterStatistics stats, MammothLog log)
    {
        _link = link;
        _log = log;
        _epoch = epoch;
        _resume = resume;
        _frameBytes = options.FrameBytes;
        _maxInFlight = options.MaxInFlightBytes;
        _stats = stats;
        _batch = ArrayPool<byte>.Shared.Rent(_frameBytes);
    }

    /// <summary>Set when an entry that may be confirmable without a new DURABLE was added.</summary>
    public AsyncSignal EntriesAdded { get; } = new();

    /// <summary>Bytes appended and not yet durable.</summary>
    public long InFlight => _appended - Volatile.Read(ref _released);

    /// <summary>
    /// Queues one finished record, sending frames as they fill. The bytes are used before the returned task
    /// completes; the caller must not touch them meanwhile.
    /// </summary>
    public ValueTask AppendAsync(ReadOnlyMemory<byte> record, ulong commitLsn, uint seq, CancellationToken ct)
    {
        if (Covers(_resume, commitLsn, seq))
        {
            lock (_lock)
                _entries.Enqueue(new Entry { Lsn = commitLsn, Seq = seq, Bytes = _appended });
            _stats.RecordSkipped();
            _skipped++;
            _skippedUpTo = commitLsn;
            EntriesAdded.Set();
            return default;
        }
        if (_skipped > 0)
            ReportSkipped(commitLsn, seq);
        if (_appended - Volatile.Read(ref _released) < _maxInFlight && record.Length < _frameBytes / 2
            && _frameBytes - _batchLength >= record.Length)
        {
            // Fast path: into the batch; a frame goes out only when it is full.
            record.Span.CopyTo(_batch.AsSpan(_batchLength));
            _batchLength += record.Length;
            Appended(record.Length, commitLsn, seq);
            return _batchLength >= _frameBytes - 256 ? FlushAsync(ct) : default;
        }
        return AppendSlowAsync(record, commitLsn, seq, ct);
    }

    private async ValueTask AppendSlowAsync(ReadOnlyMemory<byte> record, ulong commitLsn, uint seq, CancellationToken ct)
    {
        if (_appended - Volatile.Read(ref _released) >= _maxInFlight)
        {
            await FlushAsync(ct).ConfigureAwait(false);
            while (_appended - Volatile.Read(ref _released) >= _maxInFlight)
                await _credit.WaitAsync().WaitAsync(ct).ConfigureAwait(false);
        }
        if (record.Length >= _frameBytes / 2)
        {
            // A part of a big transaction: its own frame, straight from the builder.
            await FlushAsync(ct).ConfigureAwait(false);
            Appended(record.Length, commitLsn, seq);
            await SendAsync(record, ct).ConfigureAwait(false);
            return;
        }
        if (_frameBytes - _batchLength < record.Length)
            await FlushAsync(ct).ConfigureAwait(false);
        record.Span.CopyTo(_batch.AsSpan(_batchLength));
        _batchLength += record.Length;
        Appended(record.Length, commitLsn, seq);
    }

    private void Appended(int length, ulong commitLsn, uint seq)
    {
        _appended += length;
        lock (_lock)
            _entries.Enqueue(new Entry { Lsn = commitLsn, Seq = seq, Bytes = _appended });
        _stats.Record(length);
        _stats.InFlight(_appended - Volatile.Read(ref _released));
    }

    private void ReportSkipped(ulong commitLsn, uint seq)
    {
        _log.Write(PgLogLevel.Log,
            $"skipped {_skipped} re-streamed records the MCP already stored (up to commit LSN {PgTime.FormatLsn(_skippedUpTo)}); sending from commit LSN {PgTime.FormatLsn(commitLsn)} seq {seq}");
        _skipped = 0;
    }

    /// <summary>
    /// Sends the partly filled batch. The capture loop calls it when it is about to wait (for the next message
    /// from PostgreSQL): while it is busy only full frames go out, and when it waits nothing is held back.
    /// </summary>
    public ValueTask FlushAsync(CancellationToken ct)
    {
        if (_batchLength == 0)
            return default;
        int length = _batchLength;
        _batchLength = 0;
        return SendAsync(_batch.AsMemory(0, length), ct);
    }

    private ValueTask SendAsync(ReadOnlyMemory<byte> records, CancellationToken ct)
    {
        _stats.Frame();
        return _link.SendRecordsAsync(records, ct);
    }

    /// <summary>The transaction ending at <paramref name="endLsn"/> is complete (all its records appended).</summary>
    public void Commit(ulong endLsn, bool hadRecords)
    {
        lock (_lock)
            _entries.Enqueue(new Entry { IsCommit = true, EndLsn = endLsn });
        if (!hadRecords)
            EntriesAdded.Set();
    }

    /// <summary>
    /// Drops the entries <paramref name="durable"/> covers; returns the end LSN of the last commit among them
    /// (0 when none) and releases their bytes for capture. One caller at a time (the confirmer).
    /// </summary>
    public ulong Drain(Durable durable)
    {
        ulong confirm = 0;
        long released = -1;
        lock (_lock)
        {
            while (_entries.TryPeek(out Entry e))
            {
                if (e.IsCommit)
                    confirm = e.EndLsn;
                else if (Covers(durable, e.Lsn, e.Seq))
                    released = e.Bytes;
                else
                    break;
                _entries.Dequeue();
            }
        }
        if (released > Volatile.Read(ref _released))
        {
            Volatile.Write(ref _released, released);
            _credit.Set();
        }
        return confirm;
    }

    /// <summary>Whether a DURABLE (or WELCOME resume point) covers the record (epoch of this session, commitLsn, seq).</summary>
    private bool Covers(Durable d, ulong commitLsn, uint seq) =>
        d.Epoch > _epoch || (d.Epoch == _epoch && (d.CommitLsn > commitLsn || (d.CommitLsn == commitLsn && d.Seq >= seq)));

    /// <summary>Returns the batch buffer; call after the capture loop has ended.</summary>
    public void Dispose()
    {
        byte[] b = _batch;
        _batch = [];
        if (b.Length > 0)
            ArrayPool<byte>.Shared.Return(b);
    }
}
