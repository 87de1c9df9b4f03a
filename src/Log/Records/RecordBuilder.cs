using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;

namespace Mammoth.Log.Records;

/// <summary>
/// Builds one record (header + payload) in a pooled buffer: sections of binary-COPY tuples, or a raw
/// payload through <see cref="IBufferWriter{T}"/>. Reusable: <see cref="Begin"/> starts the next record
/// in the same buffer, so a long-lived builder allocates nothing per record.
/// </summary>
/// <remarks>Not thread-safe. Bytes returned by <see cref="Finish"/> are valid until the next <see cref="Begin"/>.</remarks>
public sealed class RecordBuilder : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _length;
    private RecordKind _kind;
    private RecordFlags _flags;
    private int _sectionStart = -1;
    private int _sectionRows;

    public RecordBuilder(int initialCapacity = 64 * 1024)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, RecordHeader.Size + 256));
        Begin(RecordKind.Data);
    }

    /// <summary>Bytes of payload written so far.</summary>
    public int PayloadLength => _length - RecordHeader.Size;

    /// <summary>True when no section or payload byte has been written since <see cref="Begin"/>.</summary>
    public bool IsEmpty => _length == RecordHeader.Size;

    public RecordKind Kind => _kind;

    public void Begin(RecordKind kind, RecordFlags flags = RecordFlags.None)
    {
        _kind = kind;
        _flags = flags;
        _length = RecordHeader.Size;
        _sectionStart = -1;
        _sectionRows = 0;
    }

    public void SetFlags(RecordFlags flags) => _flags = flags;

    // ---- sections -----------------------------------------------------------------------------

    /// <summary>Starts a section; rows follow through <see cref="BeginTuple"/>/<see cref="AddField(ReadOnlySpan{byte})"/> or <see cref="AddTuples"/>.</summary>
    public void BeginSection(uint tableId, ChangeOp op, SlaveSet slaves, short fieldCount, ReadOnlySpan<byte> columnMask = default)
    {
        Debug.Assert(_sectionStart < 0, "EndSection was not called");
        if (columnMask.Length > ushort.MaxValue)
            throw new ArgumentException("column mask too long", nameof(columnMask));
        _sectionStart = _length;
        _sectionRows = 0;
        Span<byte> head = Reserve(SectionHeader.Size + columnMask.Length);
        new SectionHeader
        {
            TableId = tableId, Op = op, Slaves = slaves, FieldCount = fieldCount, MaskLength = columnMask.Length,
        }.Write(head);
        columnMask.CopyTo(head[SectionHeader.Size..]);
    }

    /// <summary>Starts a tuple of <paramref name="fieldCount"/> fields.</summary>
    public void BeginTuple(short fieldCount)
    {
        BinaryPrimitives.WriteInt16BigEndian(Reserve(2), fieldCount);
        _sectionRows++;
    }

    public void AddField(ReadOnlySpan<byte> value)
    {
        Span<byte> d = Reserve(4 + value.Length);
        BinaryPrimitives.WriteInt32BigEndian(d, value.Length);
        value.CopyTo(d[4..]);
    }

    /// <summary>Reserves a field of <paramref name="length"/> bytes and returns the span to fill.</summary>
    public Span<byte> AddField(int length)
    {
        Span<byte> d = Reserve(4 + length);
        BinaryPrimitives.WriteInt32BigEndian(d, length);
        return d.Slice(4, length);
    }

    public void AddNull() => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), -1);

    /// <summary>Appends <paramref name="rows"/> already-encoded tuples.</summary>
    public void AddTuples(ReadOnlySpan<byte> tuples, int rows)
    {
        tuples.CopyTo(Reserve(tuples.Length));
        _sectionRows += rows;
    }

    /// <summary>
    /// Counts <paramref name="rows"/> rows in the open section without writing them: for a section whose row
    /// count describes rows carried elsewhere (TABLE_DUMP_END holds the total of the table's chunks).
    /// </summary>
    public void CountRows(int rows) => _sectionRows += rows;

    public void EndSection()
    {
        Debug.Assert(_sectionStart >= 0, "BeginSection was not called");
        Span<byte> head = _buffer.AsSpan(_sectionStart);
        int maskLength = BinaryPrimitives.ReadUInt16BigEndian(head[24..]);
        int rowsLength = _length - _sectionStart - SectionHeader.Size - maskLength;
        BinaryPrimitives.WriteInt32BigEndian(head[16..], _sectionRows);
        BinaryPrimitives.WriteInt32BigEndian(head[20..], rowsLength);
        _sectionStart = -1;
    }

    /// <summary>Rows written to the open section so far.</summary>
    public int SectionRowCount => _sectionRows;

    // ---- raw payload (IBufferWriter) ----------------------------------------------------------

    public void Write(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_length + count > _buffer.Length)
            throw new InvalidOperationException("Advance past the buffer obtained from GetSpan.");
        _length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureCapacity(Math.Max(sizeHint, 256));
        return _buffer.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureCapacity(Math.Max(sizeHint, 256));
        return _buffer.AsSpan(_length);
    }

    // ---- finish --------------------------------------------------------------------------------

    /// <summary>
    /// Writes the header (payload CRC and header CRC included) and returns the whole record: valid until
    /// the next <see cref="Begin"/>.
    /// </summary>
    public ReadOnlySpan<byte> Finish(uint epoch = 0, ulong commitLsn = 0, uint xid = 0, long commitTime = 0, long recno = 0, uint seq = 0)
    {
        Debug.Assert(_sectionStart < 0, "a section is still open");
        RecordHeader h = RecordHeader.Create(_kind, _flags);
        h.PayloadLength = PayloadLength;
        h.PayloadCrc = Crc32C.Compute(_buffer.AsSpan(RecordHeader.Size, PayloadLength));
        h.Recno = recno;
        h.Epoch = epoch;
        h.CommitLsn = commitLsn;
        h.Xid = xid;
        h.CommitTime = commitTime;
        h.Seq = seq;
        h.Seal();
        h.Write(_buffer);
        return _buffer.AsSpan(0, _length);
    }

    /// <summary>The record as memory (after <see cref="Finish"/>), e.g. to hand to a socket.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    private Span<byte> Reserve(int count)
    {
        EnsureCapacity(count);
        Span<byte> s = _buffer.AsSpan(_length, count);
        _length += count;
        return s;
    }

    private void EnsureCapacity(int count)
    {
        if (_buffer.Length - _length >= count)
            return;
        Grow(count);
    }

    private void Grow(int count)
    {
        long wanted = Math.Max((long)_buffer.Length * 2, (long)_length + count);
        if (wanted > Array.MaxLength)
            throw new InvalidOperationException("record too large");
        byte[] next = ArrayPool<byte>.Shared.Rent((int)wanted);
        _buffer.AsSpan(0, _length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = next;
    }

    public void Dispose()
    {
        byte[] b = _buffer;
        _buffer = [];
        if (b.Length > 0)
            ArrayPool<byte>.Shared.Return(b);
    }
}
