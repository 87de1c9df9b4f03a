using System.Buffers;
using System.Buffers.Binary;

namespace Mammoth.Log.Types;

/// <summary>
/// Constants and writers of PostgreSQL's binary COPY format.
/// <code>
/// header  (19 bytes): "PGCOPY\n\377\r\n\0" | flags i32 (bit 16: OIDs) | extension length i32 (+ extension)
/// tuple:              field count i16 | per field: length i32 (-1 = NULL) | bytes
/// trailer (2 bytes):  i16 -1
/// </code>
/// All integers big-endian.
/// </summary>
public static class CopyBinaryFormat
{
    /// <summary>Size of the header without extension area.</summary>
    public const int HeaderLength = 19;

    /// <summary>Size of the signature that starts the header.</summary>
    public const int SignatureLength = 11;

    /// <summary>Size of the trailer.</summary>
    public const int TrailerLength = 2;

    /// <summary>"PGCOPY\n\377\r\n\0".</summary>
    public static ReadOnlySpan<byte> Signature => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0];

    /// <summary>A complete header: signature, no flags, empty extension.</summary>
    public static ReadOnlySpan<byte> Header => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>The trailer: field count -1.</summary>
    public static ReadOnlySpan<byte> Trailer => [0xFF, 0xFF];

    /// <summary>Flag bit: each tuple carries an OID (servers before 12); not supported here.</summary>
    public const int FlagHasOids = 1 << 16;

    /// <summary>Writes the header.</summary>
    public static void WriteHeader(IBufferWriter<byte> output) => output.Write(Header);

    /// <summary>Writes the trailer.</summary>
    public static void WriteTrailer(IBufferWriter<byte> output) => output.Write(Trailer);

    /// <summary>Writes a tuple's field count.</summary>
    public static void WriteFieldCount(IBufferWriter<byte> output, short count)
    {
        BinaryPrimitives.WriteInt16BigEndian(output.GetSpan(2), count);
        output.Advance(2);
    }

    /// <summary>Writes one field: its length and bytes.</summary>
    public static void WriteField(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), value.Length);
        output.Advance(4);
        output.Write(value);
    }

    /// <summary>Writes a NULL field (length -1).</summary>
    public static void WriteNull(IBufferWriter<byte> output)
    {
        BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), -1);
        output.Advance(4);
    }
}
