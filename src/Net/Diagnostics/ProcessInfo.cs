namespace Mammoth.Net.Diagnostics;

/// <summary>Process checks that do not trust kill -0: a zombie (state Z) is not alive.</summary>
public static class ProcessInfo
{
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
