using System.Buffers;
using System.Numerics;
using Mammoth.Log.Records;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Nodes.Master;

/// <summary>
/// Between the capture loop and the MCP: batches finished records into RECORDS frames for the sender task,
/// bounds the bytes not yet durable (capture waits above <see cref="MasterAgentOptions.MaxInFlightBytes"/>),
/// and turns DURABLE confirmations into the LSN that may be confirmed to the slot.
/// </summary>
/// <remarks>
/// <para>One FIFO of entries, in stream order: one per record (its identity and the bytes appended up to it)
/// and one per commit (its end LSN). Durability arrives in order, so the FIFO is drained from the front:
/// records the newest DURABLE covers, and the commits behind them. The confirmable LSN is the end LSN of the
/// last commit drained — a commit is drained only when every record before it is durable, whether it had
/// records of its own or not (a heartbeat, a transaction of unreplicated tables).</para>
/// <para>Records the MCP's WELCOME says it already stored (re-streamed after a reconnect) are not sent: they
/// enter the FIFO as already covered. The MCP would drop them anyway (dedup on commit LSN and seq).</para>
/// <para>Threads: <see cref="AppendAsync"/> and <see cref="Commit"/> from the capture loop only; the sender
/// and <see cref="Drain"/> from their own tasks.</para>
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
    private readonly Queue<(byte[] Buffer, int Length)> _ready = new();
    private readonly AsyncSignal _toSend = new();
    private readonly AsyncSignal _credit = new();
    private readonly uint _epoch;
    private readonly Durable _resume;
    private readonly int _frameBytes;
    private readonly long _maxInFlight;
    private readonly MasterStatistics _stats;
    private readonly MammothLog _log;
    private long _skipped;
    private ulong _skippedUpTo;
    private byte[]? _current;
    private int _currentLength;
    private readonly Stack<byte[]> _free = new();
    private long _freeBytes;
    private readonly long _keepBytes;
    private long _appended;   // capture loop only
    private long _released;   // written by Drain
    private bool _disposed;

    public RecordPipeline(uint epoch, Durable resume, MasterAgentOptions options, MasterStatistics stats, MammothLog log)
    {
        _log = log;
        _epoch = epoch;
        _resume = resume;
        _frameBytes = options.FrameBytes;
        _maxInFlight = options.MaxInFlightBytes;
        _keepBytes = Math.Max(4L * options.FrameBytes, 2L * BitOperations.RoundUpToPowerOf2((uint)options.MaxRecordPayload + 4096));
        _stats = stats;
    }

    /// <summary>Set when an entry that may be confirmable without a new DURABLE was added.</summary>
    public AsyncSignal EntriesAdded { get; } = new();

    /// <summary>Bytes appended and not yet durable.</summary>
    public long InFlight => _appended - Volatile.Read(ref _released);

    /// <summary>
    /// Queues one finished record (the bytes are copied before this returns or, when the in-flight bound is
    /// reached, before the returned task completes; the caller must not touch them meanwhile).
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
        if (_appended - Volatile.Read(ref _released) >= _maxInFlight)
            return AppendSlowAsync(record, commitLsn, seq, ct);
        Append(record.Span, commitLsn, seq);
        return default;
    }

    private async ValueTask AppendSlowAsync(ReadOnlyMemory<byte> record, ulong commitLsn, uint seq, CancellationToken ct)
    {
        Flush();
        while (_appended - Volatile.Read(ref _released) >= _maxInFlight)
            await _credit.WaitAsync().WaitAsync(ct).ConfigureAwait(false);
        Append(record.Span, commitLsn, seq);
    }

    private void Append(ReadOnlySpan<byte> record, ulong commitLsn, uint seq)
    {
        if (_skipped > 0)
        {
            _log.Write(PgLogLevel.Log,
                $"skipped {_skipped} re-streamed records the MCP already stored (up to commit LSN {PgTime.FormatLsn(_skippedUpTo)}); sending from commit LSN {PgTime.FormatLsn(commitLsn)} seq {seq}");
            _skipped = 0;
        }
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_current is null || _current.Length - _currentLength < record.Length)
            {
                if (_current is not null)
                    _ready.Enqueue((_current, _currentLength));
                _current = RentBuffer(Math.Max(_frameBytes, record.Length));
                _currentLength = 0;
            }
            record.CopyTo(_current.AsSpan(_currentLength));
            _currentLength += record.Length;
            bool full = _currentLength >= _frameBytes;
            if (full)
            {
                _ready.Enqueue((_current, _currentLength));
                _current = null;
                _currentLength = 0;
            }
            _appended += record.Length;
            _entries.Enqueue(new Entry { Lsn = commitLsn, Seq = seq, Bytes = _appended });
            if (!full)
            {
                _stats.Record(record.Length);
                _stats.InFlight(_appended - Volatile.Read(ref _released));
                return;
            }
        }
        _stats.Record(record.Length);
        _stats.InFlight(_appended - Volatile.Read(ref _released));
        _toSend.Set();
    }

    /// <summary>
    /// Lets the sender ship the partly filled batch. The capture loop calls it when it is about to wait (for
    /// the next message from PostgreSQL, or for credit): while it is busy, only full frames are sent, which
    /// keeps wake-ups and frames few; when it waits, nothing is held back.
    /// </summary>
    public void Flush()
    {
        bool pending;
        lock (_lock)
            pending = _currentLength > 0 || _ready.Count > 0;
        if (pending)
            _toSend.Set();
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
    /// (0 when none) and releases their bytes for capture.
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

    /// <summary>Sends batches as they fill, one RECORDS frame each, until cancelled or the link fails.</summary>
    public async Task RunSenderAsync(MasterLink link, CancellationToken ct)
    {
        while (true)
        {
            await _toSend.WaitAsync().WaitAsync(ct).ConfigureAwait(false);
            while (TryTake(out byte[]? buffer, out int length))
            {
                try
                {
                    await link.SendRecordsAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
                }
                finally
                {
                    ReturnBuffer(buffer);
                }
            }
        }
    }

    private bool TryTake([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? buffer, out int length)
    {
        lock (_lock)
        {
            if (_ready.TryDequeue(out var item))
            {
                (buffer, length) = item;
                return true;
            }
            if (_current is not null && _currentLength > 0)
            {
                (buffer, length) = (_current, _currentLength);
                _current = null;
                _currentLength = 0;
                return true;
            }
        }
        buffer = null;
        length = 0;
        return false;
    }

    // Frame buffers circulate between the capture loop and the sender. The shared ArrayPool keeps few arrays
    // of a part's size (8 MiB and more) and they are rented on one thread and returned on another, so the
    // pipeline keeps a few of its own instead of allocating one per part.
    private byte[] RentBuffer(int size)
    {
        // under _lock
        while (_free.TryPop(out byte[]? b))
        {
            _freeBytes -= b.Length;
            if (b.Length >= size)
                return b;
            ArrayPool<byte>.Shared.Return(b);
        }
        return ArrayPool<byte>.Shared.Rent(size);
    }

    private void ReturnBuffer(byte[] buffer)
    {
        lock (_lock)
        {
            if (!_disposed && _freeBytes + buffer.Length <= _keepBytes)
            {
                _free.Push(buffer);
                _freeBytes += buffer.Length;
                return;
            }
        }
        ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>Whether a DURABLE (or WELCOME resume point) covers the record (epoch of this session, commitLsn, seq).</summary>
    private bool Covers(Durable d, ulong commitLsn, uint seq) =>
        d.Epoch > _epoch || (d.Epoch == _epoch && (d.CommitLsn > commitLsn || (d.CommitLsn == commitLsn && d.Seq >= seq)));

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            while (_ready.TryDequeue(out var item))
                ArrayPool<byte>.Shared.Return(item.Buffer);
            if (_current is not null)
                ArrayPool<byte>.Shared.Return(_current);
            _current = null;
            while (_free.TryPop(out byte[]? b))
                ArrayPool<byte>.Shared.Return(b);
            _freeBytes = 0;
        }
    }
}
