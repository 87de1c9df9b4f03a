using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Mammoth.Bench.Log;

/// <summary>msync(2) and madvise(2) for the mapped-write alternative (Linux x86_64 constants).</summary>
internal static unsafe partial class Mman
{
    public const int MS_SYNC = 4;
    public const int MADV_POPULATE_READ = 22;
    public const int MADV_POPULATE_WRITE = 23;
    public const int PageSize = 4096;

    [LibraryImport("libc", EntryPoint = "msync", SetLastError = true)]
    private static partial int msync(void* addr, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int madvise(void* addr, nuint length, int advice);

    /// <summary>msync(MS_SYNC) of [offset, offset + length) of a mapping starting at the page-aligned <paramref name="map"/>.</summary>
    public static void Sync(byte* map, long offset, long length)
    {
        long start = offset & ~(long)(PageSize - 1);
        if (msync(map + start, (nuint)(offset + length - start), MS_SYNC) != 0)
            throw new IOException($"msync failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
    }

    public static void Advise(byte* map, long length, int advice)
    {
        if (madvise(map, (nuint)length, advice) != 0)
            throw new IOException($"madvise({advice}) failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
    }
}
