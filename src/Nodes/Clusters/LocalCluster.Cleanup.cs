using System.Collections.Concurrent;
using System.Globalization;

namespace Mammoth.Nodes.Clusters;

// Making sure no throwaway cluster outlives the process that started it.
public sealed partial class LocalCluster
{
    private static readonly ConcurrentDictionary<LocalCluster, byte> s_running = new();
    private static int s_exitHandlerInstalled;

    private static void Register(LocalCluster cluster)
    {
        s_running.TryAdd(cluster, 0);
        if (Interlocked.Exchange(ref s_exitHandlerInstalled, 1) == 0)
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAllOnExit();
    }

    private static void Unregister(LocalCluster cluster) => s_running.TryRemove(cluster, out _);

    /// <summary>
    /// Lets the cluster outlive this process (<c>mammoth demo --keep</c>): it is no longer stopped at
    /// process exit nor swept later as abandoned; stopping it is up to the user.
    /// </summary>
    public void Detach()
    {
        Unregister(this);
        try
        {
            File.Delete(Path.Combine(Directory, OwnerFileName));
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// ProcessExit: immediate-stop every cluster still registered (in parallel, synchronously —
    /// nothing async runs reliably this late) and delete its directory unless it is kept.
    /// </summary>
    private static void StopAllOnExit()
    {
        var clusters = s_running.Keys.ToArray();
        Parallel.ForEach(clusters, cluster =>
        {
            try
            {
                if (cluster.IsRunning)
                {
                    ToolRunner.Run(Path.Combine(cluster.BinDirectory, "pg_ctl"),
                        ["-D", cluster.DataDirectory, "-s", "-w", "-t", "20", "stop", "-m", "immediate"],
                        cluster.Directory, TimeSpan.FromSeconds(30));
                }
                cluster.RemoveStaleLockFiles();
                if (!cluster._options.KeepOnDispose)
                    TryDeleteDirectory(cluster.Directory);
            }
            catch (Exception)
            {
                // Best effort: the process is exiting and has nobody to tell.
            }
        });
        s_running.Clear();
    }

    /// <summary>"pid starttime" of this process; start time tells a live owner from a reused PID.</summary>
    private static string OwnerStamp()
    {
        int pid = Environment.ProcessId;
        Posix.TryReadStat(pid, out _, out _, out ulong startTime);
        return pid.ToString(CultureInfo.InvariantCulture) + " " + startTime.ToString(CultureInfo.InvariantCulture);
    }

    private static bool OwnerIsAlive(string ownerFile)
    {
        string[] parts;
        try
        {
            parts = File.ReadAllText(ownerFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        catch (IOException)
        {
            return true; // unreadable: not ours to judge
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
        if (parts.Length != 2 || !int.TryParse(parts[0], out int pid) || !ulong.TryParse(parts[1], out ulong startTime))
            return true;
        return Posix.TryReadStat(pid, out char state, out _, out ulong actualStart)
            && state != 'Z' && state != 'X' && actualStart == startTime;
    }

    /// <summary>
    /// Stops and deletes clusters in <paramref name="baseDirectory"/> whose owning process is gone
    /// (killed before its ProcessExit handler could run). Kept clusters are stopped but not deleted.
    /// </summary>
    private static void SweepAbandoned(string baseDirectory, string binDirectory, Action<string>? progress)
    {
        IEnumerable<string> candidates;
        try
        {
            candidates = System.IO.Directory.EnumerateDirectories(baseDirectory, DirectoryPrefix + "*").ToArray();
        }
        catch (IOException)
        {
            return;
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }

        foreach (var directory in candidates)
        {
            string ownerFile = Path.Combine(directory, OwnerFileName);
            if (!File.Exists(ownerFile) || OwnerIsAlive(ownerFile))
                continue;
            try
            {
                string data = Path.Combine(directory, "data");
                if (File.Exists(Path.Combine(data, "postmaster.pid")))
                {
                    ToolRunner.Run(Path.Combine(binDirectory, "pg_ctl"), ["-D", data, "-s", "-w", "-t", "20", "stop", "-m", "immediate"],
                        directory, TimeSpan.FromSeconds(30));
                }
                if (File.Exists(Path.Combine(directory, KeepFileName)))
                    continue;
                progress?.Invoke($"removing abandoned cluster {directory}");
                TryDeleteDirectory(directory);
            }
            catch (Exception)
            {
                // Another process may be sweeping the same directory.
            }
        }
    }
}
