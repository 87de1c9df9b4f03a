using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Mammoth.Log;

/// <summary>The few system calls .NET does not expose: fdatasync, posix_fallocate, fsync of a directory.</summary>
internal static partial class Posix
{
    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000; // Linux x86_64 / arm64

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_fallocate(int fd, long offset, long len);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>fdatasync(2): the file's data (and the metadata needed to read it) reach stable storage.</summary>
    public static void DataSync(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (fdatasync((int)handle.DangerousGetHandle()) != 0)
                throw new IOException($"fdatasync failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>Gives the file real blocks for [0, length) without writing them (unwritten extents).</summary>
    public static void Allocate(SafeFileHandle handle, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.SetLength(handle, length);
            return;
        }
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int rc = posix_fallocate((int)handle.DangerousGetHandle(), 0, length);
            if (rc != 0)
                throw new IOException($"posix_fallocate failed: {new Win32Exception(rc).Message}");
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>fsync of a directory, so that a rename or create inside it survives a crash.</summary>
    public static void SyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
            return;
        int fd = open(path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            throw new IOException($"cannot open directory {path} to sync it: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        try
        {
            if (fsync(fd) != 0)
                throw new IOException($"fsync of directory {path} failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
        finally
        {
            close(fd);
        }
    }
}
