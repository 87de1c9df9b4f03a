namespace Mammoth.Log;

/// <summary>
/// Crash-safe file replacement: a new or renamed file survives a power cut only once its data and the
/// directory holding its name are flushed.
/// </summary>
internal static class DurableFiles
{
    /// <summary>Writes <paramref name="contents"/> to <paramref name="path"/> atomically: temp file, fsync, rename, fsync of the directory.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> contents)
    {
        string temp = path + ".tmp";
        using (var h = File.OpenHandle(temp, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(h, contents, 0);
            Posix.DataSync(h);
        }
        File.Move(temp, path, overwrite: true);
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static void FlushDirectory(string directory) => Posix.SyncDirectory(directory);

    /// <summary>Flushes every directory under <paramref name="root"/> and the root itself, deepest first.</summary>
    public static void FlushDirectoryTree(string root)
    {
        if (!Directory.Exists(root))
            return;
        foreach (string sub in Directory.GetDirectories(root))
            FlushDirectoryTree(sub);
        FlushDirectory(root);
    }
}
