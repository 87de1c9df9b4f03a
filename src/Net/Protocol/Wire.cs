using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Mammoth.Net.Protocol;

/// <summary>Writes big-endian fields into a span (control messages are small and bounded).</summary>
internal ref struct WireWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    private int _pos;

    public readonly int Length => _pos;
    public readonly ReadOnlySpan<byte> Written => _buffer[.._pos];

    public void U8(byte v) => _buffer[_pos++] = v;
    public void U16(ushort v) { BinaryPrimitives.WriteUInt16BigEndian(_buffer[_pos..], v); _pos += 2; }
    public void I16(short v) { BinaryPrimitives.WriteInt16BigEndian(_buffer[_pos..], v); _pos += 2; }
    public void U32(uint v) { BinaryPrimitives.WriteUInt32BigEndian(_buffer[_pos..], v); _pos += 4; }
    public void U64(ulong v) { BinaryPrimitives.WriteUInt64BigEndian(_buffer[_pos..], v); _pos += 8; }
    public void I64(long v) { BinaryPrimitives.WriteInt64BigEndian(_buffer[_pos..], v); _pos += 8; }
    public void Bytes(scoped ReadOnlySpan<byte> v) { v.CopyTo(_buffer[_pos..]); _pos += v.Length; }

    /// <summary>u16 length + UTF-8, cut to <see cref="Messages.MaxText"/> bytes.</summary>
    public void Str(string? s)
    {
        s ??= "";
        int n = Encoding.UTF8.GetBytes(s.AsSpan(0, Math.Min(s.Length, Messages.MaxText / 3)), _buffer[(_pos + 2)..]);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_pos..], (ushort)n);
        _pos += 2 + n;
    }
}

/// <summary>Reads big-endian fields; any read past the end throws a protocol error naming the message.</summary>
internal ref struct WireReader(ReadOnlySpan<byte> buffer, string message)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;
    private readonly string _message = message;
    private int _pos;

    public byte U8() { Need(1); return _buffer[_pos++]; }
    public ushort U16() { Need(2); ushort v = BinaryPrimitives.ReadUInt16BigEndian(_buffer[_pos..]); _pos += 2; return v; }
    public short I16() { Need(2); short v = BinaryPrimitives.ReadInt16BigEndian(_buffer[_pos..]); _pos += 2; return v; }
    public uint U32() { Need(4); uint v = BinaryPrimitives.ReadUInt32BigEndian(_buffer[_pos..]); _pos += 4; return v; }
    public ulong U64() { Need(8); ulong v = BinaryPrimitives.ReadUInt64BigEndian(_buffer[_pos..]); _pos += 8; return v; }
    public long I64() { Need(8); long v = BinaryPrimitives.ReadInt64BigEndian(_buffer[_pos..]); _pos += 8; return v; }
    public byte[] Bytes(int n) { Need(n); byte[] v = _buffer.Slice(_pos, n).ToArray(); _pos += n; return v; }

    public string Str()
    {
        int n = U16();
        Need(n);
        string s = Encoding.UTF8.GetString(_buffer.Slice(_pos, n));
        _pos += n;
        return s;
    }

    /// <summary>Everything must have been read: trailing bytes are a protocol error.</summary>
    public readonly void End()
    {
        if (_pos != _buffer.Length)
            throw new ProtocolException(ErrorCode.Protocol, $"{_message} frame has {_buffer.Length - _pos} unexpected trailing bytes");
    }

    private readonly void Need(int n)
    {
        if (_buffer.Length - _pos < n)
            throw new ProtocolException(ErrorCode.Protocol, $"{_message} frame is truncated");
    }

    /// <summary>A control payload as one span: the sequence's own memory, or a copy into <paramref name="scratch"/>.</summary>
    public static ReadOnlySpan<byte> Flatten(in ReadOnlySequence<byte> payload, Span<byte> scratch, string message)
    {
        if (payload.IsSingleSegment)
            return payload.FirstSpan;
        if (payload.Length > scratch.Length)
            throw new ProtocolException(ErrorCode.Protocol, $"{message} frame is too long ({payload.Length} bytes)");
        payload.CopyTo(scratch);
        return scratch[..(int)payload.Length];
    }
}
