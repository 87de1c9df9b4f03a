using Mammoth.Net.Diagnostics;

namespace Mammoth.Slave.Tests.Support;

/// <summary>A MammothLog into a temp file the test can read.</summary>
internal sealed class TestLog : IDisposable
{
    public TestLog(PgLogLevel level = PgLogLevel.Debug1)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mammoth-slave-test-{Guid.NewGuid():N}.log");
        Log = new MammothLog(Path, level);
    }

    public string Path { get; }
    public MammothLog Log { get; }

    public string Text
    {
        get
        {
            using var s = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var r = new StreamReader(s);
            return r.ReadToEnd();
        }
    }

    public void Dispose()
    {
        Log.Dispose();
        File.Delete(Path);
    }
}
