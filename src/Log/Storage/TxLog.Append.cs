using Microsoft.Win32.SafeHandles;
using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Mammoth.Log.Records;

namespace Mammoth.Log.Storage;

public sealed partial class TxLog
{
    // Appender state: touched only by the single appender thread (and Dispose).
    private Segment? _active;
    private byte[] _buffer;
    private int _bufferLength;
    private long _bufferFileOffset;      // where _buffer[0] goes in _active
    private long _nextRecno;
    private RecordHeader _lastHeader;

    /// <summary>
    /// Appends one record (header + payload, as <see cref="RecordBuilder"/> or the wire delivers it), stamps
    /// the next recno into the stored copy and returns it. The record is durable once
    /// <see cref="WaitForDurableAsync"/> for that recno completes; it is written when
    /// <see cref="TxLogOptions.FlushBytes"/> are pending or on <see cref="Flush"/>.
    /// </summary>
    /// <remarks>Single appender: not thread-safe against itself. Checks the header (magic, version, CRC,
    /// length) but not the payload CRC, which the master computed and slaves verify.</remarks>
    public long Append(ReadOnlySpan<byte> record)
    {
        RecordHeader h = CheckRecord(record.Length, record);
        if (record.Length > MaxBuffered)
        {
            Segment big = SegmentFor(record.Length);
            WriteBuffer();
            return AppendDirect(big, record, h);
        }
        Span<byte> dest = Reserve(record.Length, out Segment seg);
        record.CopyTo(dest);
        return Complete(seg, dest, h);
    }

    /// <summary>
    /// Appends a record that arrived in pieces (a pipe's buffer segments), copying the pieces straight into
    /// the write buffer. Same contract as <see cref="Append(ReadOnlySpan{byte})"/>.
    /// </summary>
    public long Append(in ReadOnlySequence<byte> record)
    {
        if (record.IsSingleSegment)
            return Append(record.FirstSpan);
        int length = checked((int)record.Length);
        Span<byte> head = stackalloc byte[RecordHeader.Size];
        if (length >= RecordHeader.Size)
            record.Slice(0, RecordHeader.Size).CopyTo(head);
        RecordHeader h = CheckRecord(length, head);
        if (length > MaxBuffered)
        {
            // Larger than the write buffer: rare; flatten and take the direct path.
            byte[] flat = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                record.CopyTo(flat);
                return Append(flat.AsSpan(0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(flat);
            }
        }
        Span<byte> dest = Reserve(length, out Segment seg);
        record.CopyTo(dest);
        return Complete(seg, dest, h);
    }

    private int MaxBuffered => _buffer.Length - RecordHeader.Size;

    private RecordHeader CheckRecord(int length, ReadOnlySpan<byte> header)
    {
        if (length < RecordHeader.Size)
            ThrowBadRecord("shorter than a record header");
        RecordHeader h = RecordHeader.Read(header);
        if (h.Magic != RecordHeader.MagicValue || h.Version != RecordHeader.CurrentVersion || h.PayloadLength != length - RecordHeader.Size)
            ThrowBadRecord("bad magic, version or length");
        ThrowIfUnusable();
        return h;
    }

    private Segment SegmentFor(int length) =>
        _active is not null && _bufferFileOffset + _bufferLength + length <= _active.Capacity ? _active : Roll(length);

    /// <summary>Room for a record of <paramref name="length"/> bytes in the write buffer, in the segment it will land in.</summary>
    private Span<byte> Reserve(int length, out Segment seg)
    {
        seg = SegmentFor(length);
        if (_bufferLength + length > MaxBuffered)
            WriteBuffer();
        return _buffer.AsSpan(_bufferLength, length);
    }

    /// <summary>The record is in the buffer at <paramref name="dest"/>: number it and account for it.</summary>
    private long Complete(Segment seg, Span<byte> dest, RecordHeader h)
    {
        long recno = _nextRecno;
        RecordHeader.StampRecno(dest, recno);
        seg.Index.MaybeAdd(recno, _bufferFileOffset + _bufferLength, _options.IndexIntervalBytes);
        _bufferLength += dest.Length;
        Commit(seg, recno, h);
        if (_bufferLength >= _options.FlushBytes)
            WriteBuffer();
        return recno;
    }

    /// <summary>Writes what is buffered and wakes the flusher. Cheap when nothing is pending.</summary>
    public void Flush()
    {
        ThrowIfUnusable();
        WriteBuffer();
    }

    /// <summary>Flushes and waits until everything appended so far is durable.</summary>
    public ValueTask FlushAsync(CancellationToken ct = default)
    {
        Flush();
        return WaitForDurableAsync(_nextRecno - 1, ct);
    }

    private void Commit(Segment seg, long recno, RecordHeader h)
    {
        seg.LastRecno = recno;
        h.Recno = recno;
        _lastHeader = h;
        Volatile.Write(ref _nextRecno, recno + 1);
    }

    /// <summary>A record larger than the buffer goes to the file at once, from the caller's memory.</summary>
    private long AppendDirect(Segment seg, ReadOnlySpan<byte> record, RecordHeader h)
    {
        Debug.Assert(_bufferLength == 0);
        long recno = _nextRecno;
        Span<byte> head = stackalloc byte[RecordHeader.Size];
        record[..RecordHeader.Size].CopyTo(head);
        RecordHeader.StampRecno(head, recno);
        long offset = _bufferFileOffset;
        seg.Index.MaybeAdd(recno, offset, _options.IndexIntervalBytes);
        RandomAccess.Write(seg.Handle, head, offset);
        RandomAccess.Write(seg.Handle, record[RecordHeader.Size..], offset + RecordHeader.Size);
        _bufferFileOffset += record.Length;
        Commit(seg, recno, h);
        Published(seg);
        return recno;
    }

    /// <summary>
    /// Fault injection for crash tests (never set in production): given the length of the next buffer
    /// write, returns how many bytes to write before the process kills itself with SIGKILL, or -1.
    /// </summary>
    internal Func<int, int>? TearWrite { get; set; }

    private void WriteBuffer()
    {
        if (_bufferLength == 0)
            return;
        Segment seg = _active!;
        if (TearWrite?.Invoke(_bufferLength) is int tear and >= 0)
        {
            RandomAccess.Write(seg.Handle, _buffer.AsSpan(0, Math.Min(tear, _bufferLength)), _bufferFileOffset);
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        }
        RandomAccess.Write(seg.Handle, _buffer.AsSpan(0, _bufferLength), _bufferFileOffset);
        _bufferFileOffset += _bufferLength;
        _bufferLength = 0;
        Published(seg);
    }

    /// <summary>Bytes up to <see cref="_bufferFileOffset"/> are in the file: hand them to the flusher.</summary>
    private void Published(Segment seg)
    {
        seg.DataEnd = _bufferFileOffset;
        lock (_syncLock)
        {
            if (!_unsynced.Contains(seg) && seg.TryAcquire())
                _unsynced.Add(seg);
            _writtenRecno = _nextRecno - 1;
        }
        _flushSignal.Release();
    }

    /// <summary>Seals the active segment and starts the next one, sized for a record of <paramref name="recordLength"/>.</summary>
    private Segment Roll(int recordLength)
    {
        if (_active is not null)
        {
            WriteBuffer();
            _active.Seal();
        }
        string dir = System.IO.Path.GetFullPath(_options.Path);
        long baseRecno = _nextRecno;
        long needed = SegmentHeader.Size + (long)recordLength;
        string final = System.IO.Path.Combine(dir, Segment.FileNameFor(baseRecno));
        string? spare = needed <= _options.SegmentSize ? WaitSpare() : null;
        if (spare is null)
        {
            long capacity = Math.Max(_options.SegmentSize, AlignUp(needed, 4096));
            if (capacity > int.MaxValue)
                throw new TxLogException($"a record of {recordLength} bytes is larger than the largest segment (2 GiB).");
            spare = CreateSpareFile(System.IO.Path.Combine(dir, "big-" + SpareFileName), capacity, _options.Preallocation);
        }
        File.Move(spare, final);
        Segment seg = Segment.Open(final, baseRecno, writable: true);
        lock (_syncLock)
            _dirDirty = true; // the rename must reach the disk before any record in the new segment counts as durable
        lock (_segmentsLock)
            _segments = [.. _segments, seg];
        _active = seg;
        _bufferFileOffset = 0;
        new SegmentHeader { BaseRecno = baseRecno, Capacity = seg.Capacity, CreatedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }
            .Write(_buffer.AsSpan(0, SegmentHeader.Size));
        _bufferLength = SegmentHeader.Size;
        if (_spare is null)
            StartSpare();
        return seg;
    }

    private static long AlignUp(long v, long a) => (v + a - 1) / a * a;

    // ---- spare segment, prepared in the background so a roll is a rename ---------------------------

    private Task<string>? _spare;

    /// <summary>
    /// Completes when the next segment file, prepared in the background, is ready (or its preparation failed).
    /// Benchmarks wait on it before timing so that they measure appends, not segment preparation; appender thread only.
    /// </summary>
    internal Task SpareReady => _spare is { } t ? t.ContinueWith(static _ => { }, TaskScheduler.Default) : Task.CompletedTask;

    private void StartSpare()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetFullPath(_options.Path), SpareFileName);
        long size = _options.SegmentSize;
        SegmentPreallocation mode = _options.Preallocation;
        _spare = Task.Run(() => CreateSpareFile(path, size, mode));
    }

    private string? WaitSpare()
    {
        Task<string>? t = _spare;
        _spare = null;
        if (t is null)
            return null;
        try
        {
            return t.GetAwaiter().GetResult(); // appender thread; only waits when rolls outrun preparation
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TxLogException($"cannot prepare the next txlog segment in \"{_options.Path}\": {ex.Message}", ex);
        }
    }

    private static string CreateSpareFile(string path, long size, SegmentPreallocation mode)
    {
        using SafeFileHandle h = CreatePreallocated(path, size, mode);
        return path;
    }

    /// <summary>Creates a file of <paramref name="size"/> bytes given its space as <paramref name="mode"/> says, fsynced.</summary>
    internal static SafeFileHandle CreatePreallocated(string path, long size, SegmentPreallocation mode, FileMode fileMode = FileMode.Create)
    {
        SafeFileHandle h = File.OpenHandle(path, fileMode, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        switch (mode)
        {
            case SegmentPreallocation.ZeroFill:
                var zeros = new byte[1 << 20];
                for (long o = 0; o < size; o += zeros.Length)
                    RandomAccess.Write(h, zeros.AsSpan(0, (int)Math.Min(zeros.Length, size - o)), o);
                break;
            case SegmentPreallocation.Fallocate:
                Posix.Allocate(h, size);
                break;
            default:
                RandomAccess.SetLength(h, size);
                break;
        }
        RandomAccess.FlushToDisk(h);
        return h;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadRecord(string why) => throw new ArgumentException($"not a valid record: {why}");

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_options.ReadOnly)
            throw new InvalidOperationException("the txlog was opened read-only");
        if (_failure is not null)
            throw new TxLogException($"txlog \"{Path}\" cannot take records after a failed write or sync: {_failure.Message}; restart the MCP.", _failure);
    }
}
