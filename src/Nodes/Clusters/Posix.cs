using System.Runtime.InteropServices;

namespace Mammoth.Nodes.Clusters;

/// <summary>
/// The few libc calls the cluster manager needs, and process state read from /proc.
/// </summary>
internal static partial class Posix
{
    public const int SigKill = 9;
    public const int SigStop = 19;
    private const int IpcRmid = 0;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "shmctl", SetLastError = true)]
    private static partial int ShmCtl(int shmid, int command, IntPtr buffer);

    public static bool IsRoot => OperatingSystem.IsLinux() && GetEffectiveUserId() == 0;

    /// <summary>Sends <paramref name="signal"/>; a negative pid signals the whole process group.</summary>
    public static bool SendSignal(int pid, int signal) => Kill(pid, signal) == 0;

    public static void ChangeOwner(string path, uint uid, uint gid)
    {
        if (Chown(path, uid, gid) != 0)
            throw new IOException($"chown {path} to {uid}:{gid} failed (errno {Marshal.GetLastPInvokeError()}).");
    }

    /// <summary>Removes a System V shared memory segment; false if it is gone or still attached elsewhere.</summary>
    public static bool RemoveSharedMemory(int shmid) => ShmCtl(shmid, IpcRmid, IntPtr.Zero) == 0;

    /// <summary>
    /// True while <paramref name="pid"/> is a running process. A zombie counts as gone: nobody reaps
    /// orphans on some machines (PID 1 may not), and <c>kill(pid, 0)</c> still succeeds for them.
    /// </summary>
    public static bool IsAlive(int pid) => TryReadStat(pid, out var state, out _, out _) && state != 'Z' && state != 'X';

    /// <summary>Reads state, parent and start time (clock ticks since boot) from /proc/PID/stat.</summary>
    public static bool TryReadStat(int pid, out char state, out int parent, out ulong startTime)
    {
        state = '\0';
        parent = 0;
        startTime = 0;
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        // "pid (comm) S ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
        //  cutime cstime priority nice threads itrealvalue starttime ..." — comm may hold spaces and
        // parentheses, so fields are counted from the last ')'.
        int close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length)
            return false;
        var fields = stat.AsSpan(close + 2);
        state = fields[0];
        int index = 0;
        foreach (var range in fields.Split(' '))
        {
            var field = fields[range];
            if (index == 1)
                _ = int.TryParse(field, out parent);
            else if (index == 19)
            {
                _ = ulong.TryParse(field, out startTime);
                break;
            }
            index++;
        }
        return true;
    }

    /// <summary>Live (non-zombie) children of <paramref name="parent"/>.</summary>
    public static List<int> LiveChildren(int parent)
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            if (TryReadStat(pid, out char state, out int ppid, out _) && ppid == parent && state != 'Z' && state != 'X')
                result.Add(pid);
        }
        return result;
    }
}
