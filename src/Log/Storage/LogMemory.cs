using System.Runtime.InteropServices;

namespace Mammoth.Log.Storage;

/// <summary>Helpers for the memory of <see cref="LogRecord"/>s.</summary>
public static class LogMemory
{
    /// <summary>
    /// Joins two views of the same mapped segment when <paramref name="second"/> starts where
    /// <paramref name="first"/> ends: consecutive records go out in one piece.
    /// </summary>
    public static bool TryConcat(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second, out ReadOnlyMemory<byte> joined)
    {
        joined = default;
        if (MemoryMarshal.TryGetMemoryManager(first, out MappedMemory? a, out int aStart, out int aLength)
            && MemoryMarshal.TryGetMemoryManager(second, out MappedMemory? b, out int bStart, out int bLength)
            && ReferenceEquals(a, b) && aStart + aLength == bStart)
        {
            joined = a.Memory.Slice(aStart, aLength + bLength);
            return true;
        }
        return false;
    }
}
