namespace Mammoth.Log.Tests.Index;

/// <summary>A fresh directory per test, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mammoth-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>
    /// Files under this directory that this process holds open (Linux only; empty elsewhere). Other
    /// tests run in parallel, so only descriptors pointing here are counted.
    /// </summary>
    public List<string> OpenFiles()
    {
        var open = new List<string>();
        if (!OperatingSystem.IsLinux())
            return open;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith(Path, StringComparison.Ordinal))
                    open.Add(target);
            }
            catch (IOException)
            {
                // closed while we looked
            }
        }
        return open;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean; a failed cleanup must not fail the test.
        }
    }
}
