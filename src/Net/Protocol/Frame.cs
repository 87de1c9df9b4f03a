using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Mammoth.Net.Protocol;

/// <summary>
/// Frame layout: <c>length u32 | type u8 | payload</c>, big-endian; <c>length</c> counts the payload only.
/// </summary>
public static class Frame
{
    public const int HeaderSize = 5;
    public const int ProtocolVersion = 1;

    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>. Returns false when more bytes are
    /// needed (nothing consumed). Throws <see cref="ProtocolException"/> for a frame above
    /// <paramref name="maxPayload"/> or of an unknown type, before its payload arrives.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxPayload, out FrameType type, out ReadOnlySequence<byte> payload)
    {
        type = default;
        payload = default;
        if (buffer.Length < HeaderSize)
            return false;
        Span<byte> head = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(head);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(head);
        type = (FrameType)head[4];
        if (length > (uint)maxPayload)
            ThrowTooLarge(length, maxPayload, type);
        if (!IsKnown(type))
            ThrowUnknown(head[4]);
        if (buffer.Length - HeaderSize < length)
            return false;
        payload = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    public static bool IsKnown(FrameType t) => t is (>= FrameType.Hello and <= FrameType.Error)
        or (>= FrameType.Records and <= FrameType.State) or (>= FrameType.Refresh and <= FrameType.Promote) or FrameType.Bye;

    /// <summary>Writes a frame header for a payload of <paramref name="length"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, FrameType type, int length)
    {
        BinaryPrimitives.WriteInt32BigEndian(destination, length);
        destination[4] = (byte)type;
    }

    /// <summary>Writes a whole frame to <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, FrameType type, ReadOnlySpan<byte> payload)
    {
        Span<byte> d = writer.GetSpan(HeaderSize + payload.Length);
        WriteHeader(d, type, payload.Length);
        payload.CopyTo(d[HeaderSize..]);
        writer.Advance(HeaderSize + payload.Length);
    }

    [DoesNotReturn]
    private static void ThrowTooLarge(uint length, int max, FrameType type) =>
        throw new ProtocolException(ErrorCode.Protocol, $"frame of {length} bytes (type {(byte)type}) is larger than the maximum of {max} bytes");

    [DoesNotReturn]
    private static void ThrowUnknown(byte type) =>
        throw new ProtocolException(ErrorCode.Protocol, $"unknown frame type {type}");
}
