using Mammoth.Log;
using Mammoth.Log.Inspection;
using Mammoth.Log.Storage;
using Microsoft.Win32.SafeHandles;

namespace Mammoth.Bench.Log;

/// <summary>Scratch folders and files for the storage benchmarks, and the records they append.</summary>
internal static class BenchFiles
{
    /// <summary>Root of every scratch folder: on the same ext4 volume as the work tree on the development machine.</summary>
    public static string Root { get; } = Path.Combine(Path.GetTempPath(), "mammoth-bench");

    /// <summary>A new empty folder, unique to this process and call.</summary>
    public static string NewDirectory(string name)
    {
        string dir = Path.Combine(Root, $"{name}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void Delete(string? dir)
    {
        if (dir is not null && Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Creates a file of <paramref name="size"/> bytes given its space the way TxLog prepares a segment
    /// (TxLog.CreateSpareFile: zeros written in 1 MiB writes, posix_fallocate, or ftruncate), then fsynced.
    /// </summary>
    public static SafeFileHandle CreatePreallocated(string path, long size, SegmentPreallocation mode) =>
        TxLog.CreatePreallocated(path, size, mode, FileMode.CreateNew);

    /// <summary>
    /// <paramref name="count"/> distinct DATA records of exactly <paramref name="recordSize"/> bytes, back to
    /// back. Built once: generating a record byte by byte would cost more than appending it.
    /// </summary>
    public static byte[] Records(int recordSize, int count)
    {
        var all = new byte[recordSize * count];
        using var w = new SyntheticWorkload(recordSize, tables: 4);
        for (int i = 0; i < count; i++)
            w.DataRecord(i + 1).CopyTo(all.AsSpan(i * recordSize, recordSize));
        return all;
    }
}
