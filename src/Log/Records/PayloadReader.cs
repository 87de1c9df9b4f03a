using System.Buffers.Binary;

namespace Mammoth.Log.Records;

/// <summary>One section of a payload, as a view over the payload bytes.</summary>
public readonly ref struct Section
{
    public Section(SectionHeader header, int offset, ReadOnlySpan<byte> columnMask, ReadOnlySpan<byte> rows)
    {
        Header = header;
        Offset = offset;
        ColumnMask = columnMask;
        Rows = rows;
    }

    public SectionHeader Header { get; }
    /// <summary>Offset of the section inside the payload.</summary>
    public int Offset { get; }
    public ReadOnlySpan<byte> ColumnMask { get; }
    /// <summary>The rows: binary-COPY tuples, back to back.</summary>
    public ReadOnlySpan<byte> Rows { get; }
    /// <summary>Offset of the first row inside the payload.</summary>
    public int RowsOffset => Offset + SectionHeader.Size + ColumnMask.Length;

    public uint TableId => Header.TableId;
    public ChangeOp Op => Header.Op;
    public SlaveSet Slaves => Header.Slaves;
    public int RowCount => Header.RowCount;
    public short FieldCount => Header.FieldCount;

    /// <summary>Is column <paramref name="index"/> present (an empty mask means all are).</summary>
    public bool HasColumn(int index) =>
        ColumnMask.IsEmpty || ((uint)(index >> 3) < (uint)ColumnMask.Length && (ColumnMask[index >> 3] & (1 << (index & 7))) != 0);

    public TupleReader GetTuples() => new(Rows);
}

/// <summary>Walks the sections of a payload. Call <see cref="PayloadReader.Validate"/> first on untrusted bytes.</summary>
public ref struct SectionEnumerator
{
    private readonly ReadOnlySpan<byte> _payload;
    private int _offset;
    private Section _current;

    public SectionEnumerator(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        _offset = 0;
        _current = default;
    }

    public readonly Section Current => _current;

    public readonly SectionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_payload.Length - _offset < SectionHeader.Size)
            return false;
        SectionHeader h = SectionHeader.Read(_payload[_offset..]);
        int maskStart = _offset + SectionHeader.Size;
        if ((uint)h.RowsLength > (uint)(_payload.Length - maskStart - h.MaskLength))
            return false;
        _current = new Section(h, _offset, _payload.Slice(maskStart, h.MaskLength), _payload.Slice(maskStart + h.MaskLength, h.RowsLength));
        _offset = maskStart + h.MaskLength + h.RowsLength;
        return true;
    }
}

/// <summary>Reads binary-COPY tuples one field at a time, without allocating.</summary>
public ref struct TupleReader
{
    private readonly ReadOnlySpan<byte> _rows;
    private int _offset;
    private int _fieldsLeft;

    public TupleReader(ReadOnlySpan<byte> rows)
    {
        _rows = rows;
        _offset = 0;
        _fieldsLeft = 0;
    }

    /// <summary>Offset inside the rows where the current tuple starts.</summary>
    public int TupleOffset { get; private set; }

    /// <summary>Number of fields of the current tuple.</summary>
    public int FieldCount { get; private set; }

    /// <summary>Moves to the next tuple, skipping unread fields of the current one.</summary>
    public bool MoveNextTuple()
    {
        while (_fieldsLeft > 0)
        {
            if (!TryReadField(out _, out _))
                return false;
        }
        if (_rows.Length - _offset < 2)
            return false;
        TupleOffset = _offset;
        FieldCount = BinaryPrimitives.ReadInt16BigEndian(_rows[_offset..]);
        _fieldsLeft = FieldCount;
        _offset += 2;
        return FieldCount >= 0;
    }

    /// <summary>Reads the next field of the current tuple; NULL gives <paramref name="isNull"/> true and an empty span.</summary>
    public bool TryReadField(out ReadOnlySpan<byte> value, out bool isNull)
    {
        value = default;
        isNull = false;
        if (_fieldsLeft <= 0 || _rows.Length - _offset < 4)
            return false;
        int len = BinaryPrimitives.ReadInt32BigEndian(_rows[_offset..]);
        _offset += 4;
        _fieldsLeft--;
        if (len == -1)
        {
            isNull = true;
            return true;
        }
        if (len < 0 || len > _rows.Length - _offset)
            return false;
        value = _rows.Slice(_offset, len);
        _offset += len;
        return true;
    }

    /// <summary>Bytes of the whole current tuple once all its fields are read.</summary>
    public readonly ReadOnlySpan<byte> CurrentTupleBytes => _rows[TupleOffset.._offset];
}

/// <summary>Validation of payloads from untrusted sources (network, damaged files).</summary>
public static class PayloadReader
{
    public static SectionEnumerator Sections(ReadOnlySpan<byte> payload) => new(payload);

    /// <summary>
    /// Checks that a sectioned payload parses exactly: section bounds, tuple and field lengths, row counts.
    /// Returns null when valid, else a short description of the first problem.
    /// </summary>
    public static string? Validate(ReadOnlySpan<byte> payload)
    {
        int offset = 0;
        int index = 0;
        while (offset < payload.Length)
        {
            if (payload.Length - offset < SectionHeader.Size)
                return $"section {index} at payload offset {offset}: truncated section header";
            SectionHeader h = SectionHeader.Read(payload[offset..]);
            if (h.Op is < ChangeOp.Insert or > ChangeOp.Truncate)
                return $"section {index} at payload offset {offset}: unknown operation {(byte)h.Op}";
            int rowsStart = offset + SectionHeader.Size + h.MaskLength;
            if (h.RowsLength < 0 || h.RowCount < 0 || rowsStart > payload.Length || h.RowsLength > payload.Length - rowsStart)
                return $"section {index} at payload offset {offset}: length beyond the payload";
            var tuples = new TupleReader(payload.Slice(rowsStart, h.RowsLength));
            int rows = 0;
            int consumed = 0;
            while (consumed < h.RowsLength)
            {
                if (!tuples.MoveNextTuple())
                    return $"section {index} (table {h.TableId}): row {rows} is malformed";
                for (int f = 0; f < tuples.FieldCount; f++)
                {
                    if (!tuples.TryReadField(out _, out _))
                        return $"section {index} (table {h.TableId}): row {rows} field {f} is malformed";
                }
                consumed = tuples.TupleOffset + tuples.CurrentTupleBytes.Length;
                rows++;
            }
            if (rows != h.RowCount)
                return $"section {index} (table {h.TableId}): header says {h.RowCount} rows, found {rows}";
            offset = rowsStart + h.RowsLength;
            index++;
        }
        return null;
    }
}
