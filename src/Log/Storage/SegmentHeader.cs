using System.Buffers.Binary;

namespace Mammoth.Log.Storage;

/// <summary>
/// The first bytes of every segment file; records follow at <see cref="Size"/>.
/// </summary>
/// <remarks>
/// <code>
///  0                 8         12        16                24                32                40
///  +-----------------+---------+---------+-----------------+-----------------+-----------------+
///  | "MMTXSEG1"      | version | hdr size| base_recno u64  | capacity u64    | created (unix ms)|
///  +-----------------+---------+---------+-----------------+-----------------+-----------------+
///  40 .. 60 reserved (zero)                                                  60 crc32c of 0..60
/// </code>
/// </remarks>
internal readonly struct SegmentHeader
{
    public const int Size = 64;
    public const ulong Magic = 0x4D4D_5458_5345_4731; // "MMTXSEG1"
    public const uint Version = 1;

    public long BaseRecno { get; init; }
    public long Capacity { get; init; }
    public long CreatedUnixMs { get; init; }

    public void Write(Span<byte> d)
    {
        d[..Size].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(d, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], Version);
        BinaryPrimitives.WriteUInt32BigEndian(d[12..], Size);
        BinaryPrimitives.WriteInt64BigEndian(d[16..], BaseRecno);
        BinaryPrimitives.WriteInt64BigEndian(d[24..], Capacity);
        BinaryPrimitives.WriteInt64BigEndian(d[32..], CreatedUnixMs);
        BinaryPrimitives.WriteUInt32BigEndian(d[60..], Crc32C.Compute(d[..60]));
    }

    public static bool TryRead(ReadOnlySpan<byte> s, out SegmentHeader header, out string? problem)
    {
        header = default;
        if (s.Length < Size)
        {
            problem = "the file is shorter than a segment header";
            return false;
        }
        if (BinaryPrimitives.ReadUInt64BigEndian(s) != Magic)
        {
            problem = s[..Size].IndexOfAnyExcept((byte)0) < 0 ? "the segment header is all zeros (never written)" : "the segment header has a wrong magic number";
            return false;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(s[60..]) != Crc32C.Compute(s[..60]))
        {
            problem = "the segment header checksum does not match";
            return false;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(s[8..]) != Version)
        {
            problem = $"unsupported segment version {BinaryPrimitives.ReadUInt32BigEndian(s[8..])}";
            return false;
        }
        header = new SegmentHeader
        {
            BaseRecno = BinaryPrimitives.ReadInt64BigEndian(s[16..]),
            Capacity = BinaryPrimitives.ReadInt64BigEndian(s[24..]),
            CreatedUnixMs = BinaryPrimitives.ReadInt64BigEndian(s[32..]),
        };
        problem = null;
        return true;
    }
}
