using System.Buffers.Binary;

namespace Mammoth.Log.Types;

/// <summary>
/// Reads PostgreSQL binary COPY data (see <see cref="CopyBinaryFormat"/>) from a span without
/// allocating: the header (optional — txlog sections hold bare tuples), then tuples until the
/// trailer. Each step validates a whole item before consuming it, so a buffer that ends mid-tuple
/// gives <see cref="CopyBinaryStatus.NeedMoreData"/> and leaves the position on that tuple's start.
/// </summary>
/// <remarks>Tuples and fields returned point into the buffer and are valid as long as it is.</remarks>
public ref struct CopyBinaryReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public CopyBinaryReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes consumed so far (header, tuples, trailer).</summary>
    public readonly int Consumed => _position;

    /// <summary>The bytes not consumed yet.</summary>
    public readonly ReadOnlySpan<byte> Remaining => _buffer[_position..];

    /// <summary>
    /// Validates and consumes the header: signature, flags (OIDs and unknown critical flags are
    /// rejected), and header extension.
    /// </summary>
    public CopyBinaryStatus ReadHeader()
    {
        var status = ReadHeader(_buffer[_position..], out int consumed);
        if (status == CopyBinaryStatus.Done)
            _position += consumed;
        return status;
    }

    /// <summary>The header check on its own, for callers that do not hold a reader.</summary>
    public static CopyBinaryStatus ReadHeader(ReadOnlySpan<byte> buffer, out int consumed)
    {
        consumed = 0;
        var signature = CopyBinaryFormat.Signature;
        int compared = Math.Min(buffer.Length, signature.Length);
        if (!buffer[..compared].SequenceEqual(signature[..compared]))
            return CopyBinaryStatus.InvalidData;
        if (buffer.Length < CopyBinaryFormat.HeaderLength)
            return CopyBinaryStatus.NeedMoreData;
        int flags = BinaryPrimitives.ReadInt32BigEndian(buffer[11..]);
        // Bits 0-15 are critical: a reader must reject any it does not know. Bit 16 = OIDs.
        if ((flags & 0xFFFF) != 0 || (flags & CopyBinaryFormat.FlagHasOids) != 0)
            return CopyBinaryStatus.InvalidData;
        int extension = BinaryPrimitives.ReadInt32BigEndian(buffer[15..]);
        if (extension < 0)
            return CopyBinaryStatus.InvalidData;
        if (buffer.Length - CopyBinaryFormat.HeaderLength < extension)
            return CopyBinaryStatus.NeedMoreData;
        consumed = CopyBinaryFormat.HeaderLength + extension;
        return CopyBinaryStatus.Done;
    }

    /// <summary>
    /// Reads the next tuple. <see cref="CopyBinaryStatus.End"/> when the trailer is read;
    /// at the end of the buffer without a trailer, <see cref="CopyBinaryStatus.NeedMoreData"/>.
    /// </summary>
    public CopyBinaryStatus ReadTuple(out CopyTuple tuple)
    {
        tuple = default;
        var rest = _buffer[_position..];
        var status = Measure(rest, out int length, out int fieldCount);
        if (status == CopyBinaryStatus.End)
            _position += CopyBinaryFormat.TrailerLength;
        else if (status == CopyBinaryStatus.Done)
        {
            tuple = new CopyTuple(rest[..length], fieldCount);
            _position += length;
        }
        return status;
    }

    /// <summary>
    /// Finds the length of the tuple at the start of <paramref name="buffer"/> (field count
    /// included) without consuming it.
    /// </summary>
    public static CopyBinaryStatus Measure(ReadOnlySpan<byte> buffer, out int length, out int fieldCount)
    {
        length = 0;
        fieldCount = 0;
        if (buffer.Length < 2)
            return CopyBinaryStatus.NeedMoreData;
        short count = BinaryPrimitives.ReadInt16BigEndian(buffer);
        if (count == -1)
        {
            length = CopyBinaryFormat.TrailerLength;
            return CopyBinaryStatus.End;
        }
        if (count < 0)
            return CopyBinaryStatus.InvalidData;
        int position = 2;
        for (int i = 0; i < count; i++)
        {
            if (buffer.Length - position < 4)
                return CopyBinaryStatus.NeedMoreData;
            int fieldLength = BinaryPrimitives.ReadInt32BigEndian(buffer[position..]);
            position += 4;
            if (fieldLength == -1)
                continue;
            if (fieldLength < 0)
                return CopyBinaryStatus.InvalidData;
            if (buffer.Length - position < fieldLength)
                return CopyBinaryStatus.NeedMoreData;
            position += fieldLength;
        }
        length = position;
        fieldCount = count;
        return CopyBinaryStatus.Done;
    }
}
