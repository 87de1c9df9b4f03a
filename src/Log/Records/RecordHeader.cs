using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mammoth.Log.Records;

/// <summary>
/// The fixed header in front of every record, in the txlog and on the wire. All fields are big-endian;
/// the struct stores them in that byte order, so it can be read from or written to a span as is.
/// </summary>
/// <remarks>
/// <code>
///  0       2     3     4       6       8              12              16
///  +-------+-----+-----+-------+-------+---------------+---------------+
///  | magic | ver |kind | flags | rsvd  | payload_length| payload_crc32c|
///  +-------+-----+-----+-------+-------+---------------+---------------+
///  16                              24                              32
///  +-------------------------------+-------------------------------+
///  | recno u64 (assigned by MCP)   | commit_lsn u64                |
///  +-------------------------------+-------------------------------+
///  32                              40              44      48      52      56
///  +-------------------------------+-------+-------+-------+-------+
///  | commit_time i64 (µs, PG epoch)| epoch | xid   | seq   | hcrc  |
///  +-------------------------------+-------+-------+-------+-------+
/// </code>
/// <c>seq</c> numbers the records of one master transaction (0, 1, 2…: its RELATION record, then its
/// data parts), so that (epoch, commit_lsn, seq) identifies a record the master sent and the MCP can drop
/// re-sent duplicates. <c>hcrc</c> is the CRC-32C of bytes 0..52. The payload CRC is computed once, by whoever builds the
/// record (the master agent); the MCP stamps <c>recno</c> and recomputes only the header CRC.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct RecordHeader
{
    public const int Size = 56;
    public const ushort MagicValue = 0x4D4D; // "MM"
    public const byte CurrentVersion = 1;
    internal const int HeaderCrcOffset = 52;
    internal const int RecnoOffset = 16;

    [FieldOffset(0)] private ushort _magic;
    [FieldOffset(2)] private byte _version;
    [FieldOffset(3)] private byte _kind;
    [FieldOffset(4)] private ushort _flags;
    [FieldOffset(6)] private ushort _reserved;
    [FieldOffset(8)] private uint _payloadLength;
    [FieldOffset(12)] private uint _payloadCrc;
    [FieldOffset(16)] private ulong _recno;
    [FieldOffset(24)] private ulong _commitLsn;
    [FieldOffset(32)] private long _commitTime;
    [FieldOffset(40)] private uint _epoch;
    [FieldOffset(44)] private uint _xid;
    [FieldOffset(48)] private uint _seq;
    [FieldOffset(52)] private uint _headerCrc;

    public ushort Magic { readonly get => Be(_magic); set => _magic = Be(value); }
    public byte Version { readonly get => _version; set => _version = value; }
    public RecordKind Kind { readonly get => (RecordKind)_kind; set => _kind = (byte)value; }
    public RecordFlags Flags { readonly get => (RecordFlags)Be(_flags); set => _flags = Be((ushort)value); }
    public int PayloadLength { readonly get => (int)Be(_payloadLength); set => _payloadLength = Be((uint)value); }
    public uint PayloadCrc { readonly get => Be(_payloadCrc); set => _payloadCrc = Be(value); }
    public long Recno { readonly get => (long)Be(_recno); set => _recno = Be((ulong)value); }
    /// <summary>Master WAL position of the commit; with <see cref="Epoch"/> it identifies a master transaction.</summary>
    public ulong CommitLsn { readonly get => Be(_commitLsn); set => _commitLsn = Be(value); }
    /// <summary>Microseconds since 2000-01-01 UTC (PostgreSQL's epoch).</summary>
    public long CommitTime { readonly get => (long)Be((ulong)_commitTime); set => _commitTime = (long)Be((ulong)value); }
    /// <summary>Master generation, raised by every promotion.</summary>
    public uint Epoch { readonly get => Be(_epoch); set => _epoch = Be(value); }
    public uint Xid { readonly get => Be(_xid); set => _xid = Be(value); }
    /// <summary>Position of this record among the records of its master transaction.</summary>
    public uint Seq { readonly get => Be(_seq); set => _seq = Be(value); }
    public uint HeaderCrc { readonly get => Be(_headerCrc); set => _headerCrc = Be(value); }

    /// <summary>Header plus payload.</summary>
    public readonly int TotalLength => Size + PayloadLength;

    public static RecordHeader Create(RecordKind kind, RecordFlags flags = RecordFlags.None) => new()
    {
        Magic = MagicValue,
        Version = CurrentVersion,
        Kind = kind,
        Flags = flags,
    };

    /// <summary>Reads a header from the first <see cref="Size"/> bytes (no validation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RecordHeader Read(ReadOnlySpan<byte> source) => MemoryMarshal.Read<RecordHeader>(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Write(Span<byte> destination) => MemoryMarshal.Write(destination, in this);

    /// <summary>CRC of bytes 0..52 of this header as it would be written.</summary>
    public readonly uint ComputeHeaderCrc()
    {
        RecordHeader copy = this;
        return Crc32C.Compute(MemoryMarshal.AsBytes(MemoryMarshal.CreateReadOnlySpan(ref copy, 1))[..HeaderCrcOffset]);
    }

    /// <summary>Sets <see cref="HeaderCrc"/> from the other fields.</summary>
    public void Seal() => HeaderCrc = ComputeHeaderCrc();

    /// <summary>Magic, version and header CRC hold, and the payload length is within <paramref name="maxPayload"/>.</summary>
    public readonly bool IsValid(int maxPayload) =>
        Magic == MagicValue && Version == CurrentVersion && HeaderCrc == ComputeHeaderCrc()
        && (uint)PayloadLength <= (uint)maxPayload;

    /// <summary>Re-stamps the recno of an encoded header in place and reseals its CRC.</summary>
    public static void StampRecno(Span<byte> header, long recno)
    {
        BinaryPrimitives.WriteInt64BigEndian(header[RecnoOffset..], recno);
        BinaryPrimitives.WriteUInt32BigEndian(header[HeaderCrcOffset..], Crc32C.Compute(header[..HeaderCrcOffset]));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort Be(ushort v) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Be(uint v) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Be(ulong v) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v;
}
