using System.Runtime.InteropServices;

namespace Mammoth.Net.Diagnostics;

/// <summary>Process checks that do not trust kill -0: a zombie (state Z) is not alive.</summary>
public static partial class ProcessInfo
{
    public const int SIGTERM = 15;
    public const int SIGKILL = 9;
    public const int SIGHUP = 1;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when there is no such process.</summary>
    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>Waits until <paramref name="pid"/> is gone (or a zombie); false on timeout.</summary>
    public static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (IsAlive(pid))
        {
            if (DateTime.UtcNow > until)
                return false;
            await Task.Delay(50).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Is <paramref name="pid"/> a live process whose command line mentions <paramref name="nameHint"/>?</summary>
    public static bool IsAlive(int pid, string? nameHint = null)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            if (close < 0 || close + 2 >= stat.Length || stat[close + 2] is 'Z' or 'X')
                return false;
            return nameHint is null || File.ReadAllText($"/proc/{pid}/cmdline").Contains(nameHint, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
