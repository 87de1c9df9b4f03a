using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Mammoth.Slave.Tests.Support;

internal static partial class Posix
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    /// <summary>SIGTERM, then waits for a clean exit (SIGKILL after 30 s).</summary>
    public static async Task TerminateAsync(Process p)
    {
        _ = kill(p.Id, 15);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill();
            await p.WaitForExitAsync();
            throw new TimeoutException("the agent did not stop within 30 s of SIGTERM");
        }
    }
}
