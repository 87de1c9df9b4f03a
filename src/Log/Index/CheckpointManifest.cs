using System.Buffers.Binary;

namespace Mammoth.Log.Index;

/// <summary>
/// The commit record of one completed checkpoint. A FASTER checkpoint counts only once its manifest
/// exists: the manifest is written (temp file, fsync, rename, fsync of the directory) after FASTER
/// reports the checkpoint durable, so a crash at any earlier moment leaves no manifest and recovery
/// ignores the half-written checkpoint. Stored as <c>checkpoint-&lt;sequence:D20&gt;.manifest</c>.
/// All integers big-endian.
/// <code>
///  0       4         6       8          16       24            40     41      42      43        48          56       60        64
///  | magic | version | flags | sequence | recno  | token (Guid) | page | seg   | index | reserved | created   | crc32c | reserved |
///  | "MKIX"| u16 = 1 | u16   | u64      | u64    | 16 bytes BE  | bits | bits  | bits  | 5 bytes  | unix ms   | u32    | u32      |
/// </code>
/// recno is <see cref="KeyIndex.IndexedThroughRecno"/> as of the checkpoint; the page, segment and
/// index bits are the geometry the FASTER store had, which recovery must reuse; crc32c covers bytes 0–55.
/// </summary>
internal readonly struct CheckpointManifest
{
    public const int Size = 64;
    public const uint Magic = 0x4D4B4958; // "MKIX"
    public const ushort CurrentVersion = 1;
    public const string FilePrefix = "checkpoint-";
    public const string FileSuffix = ".manifest";

    public long Sequence { get; init; }
    public long Recno { get; init; }
    public Guid Token { get; init; }
    public StoreGeometry Geometry { get; init; }
    public long CreatedUnixMs { get; init; }

    public static string FileName(long sequence) => $"{FilePrefix}{sequence:D20}{FileSuffix}";

    /// <summary>Parses the sequence number out of a manifest file name; false for any other file.</summary>
    public static bool TryParseFileName(string fileName, out long sequence)
    {
        sequence = 0;
        if (!fileName.StartsWith(FilePrefix, StringComparison.Ordinal) || !fileName.EndsWith(FileSuffix, StringComparison.Ordinal))
            return false;
        var digits = fileName.AsSpan(FilePrefix.Length, fileName.Length - FilePrefix.Length - FileSuffix.Length);
        return digits.Length == 20 && long.TryParse(digits, System.Globalization.NumberStyles.None, null, out sequence);
    }

    public void Write(Span<byte> destination)
    {
        destination = destination[..Size];
        destination.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(destination, Magic);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], CurrentVersion);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], Sequence);
        BinaryPrimitives.WriteInt64BigEndian(destination[16..], Recno);
        Token.TryWriteBytes(destination[24..40], bigEndian: true, out _);
        destination[40] = (byte)Geometry.PageSizeBits;
        destination[41] = (byte)Geometry.SegmentSizeBits;
        destination[42] = (byte)Geometry.IndexBucketBits;
        BinaryPrimitives.WriteInt64BigEndian(destination[48..], CreatedUnixMs);
        BinaryPrimitives.WriteUInt32BigEndian(destination[56..], Crc32C.Compute(destination[..56]));
    }

    /// <summary>Reads a manifest; on failure <paramref name="problem"/> says what is wrong with it.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out CheckpointManifest manifest, out string? problem)
    {
        manifest = default;
        if (source.Length != Size)
        {
            problem = $"it is {source.Length} bytes long instead of {Size}";
            return false;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(source) != Magic)
        {
            problem = "it does not start with the manifest magic number";
            return false;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(source[56..]) != Crc32C.Compute(source[..56]))
        {
            problem = "its checksum does not match";
            return false;
        }
        var version = BinaryPrimitives.ReadUInt16BigEndian(source[4..]);
        if (version != CurrentVersion)
        {
            problem = $"it has format version {version}, which this build does not read";
            return false;
        }
        var geometry = new StoreGeometry(source[40], source[41], source[42]);
        if (!geometry.IsValid(out problem))
            return false;
        manifest = new CheckpointManifest
        {
            Sequence = BinaryPrimitives.ReadInt64BigEndian(source[8..]),
            Recno = BinaryPrimitives.ReadInt64BigEndian(source[16..]),
            Token = new Guid(source[24..40], bigEndian: true),
            Geometry = geometry,
            CreatedUnixMs = BinaryPrimitives.ReadInt64BigEndian(source[48..]),
        };
        return true;
    }
}
