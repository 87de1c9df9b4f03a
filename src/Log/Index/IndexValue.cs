using System.Runtime.InteropServices;

namespace Mammoth.Log.Index;

/// <summary>
/// The value FASTER stores for every key: a <see cref="KeyLocation"/> in a fixed layout, so the
/// hybrid log and its checkpoints do not depend on how the compiler lays out the public record struct.
/// Stored in the machine's byte order, like the rest of FASTER's pages.
/// <code>
///  0        8          12   13        16
///  | recno  | offset   | op | reserved |
///  | i64    | u32      | u8 | 3 bytes  |
/// </code>
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct IndexValue
{
    public const int Size = 16;

    [FieldOffset(0)] public long Recno;
    [FieldOffset(8)] public uint Offset;
    [FieldOffset(12)] public byte Op;

    public IndexValue(KeyLocation location)
    {
        Recno = location.Recno;
        Offset = location.Offset;
        Op = location.Op;
    }

    public readonly KeyLocation ToLocation() => new(Recno, Offset, Op);
}
