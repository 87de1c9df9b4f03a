using System.Globalization;

namespace Mammoth.Nodes.Connections;

/// <summary>
/// A running server's DATADIR/postmaster.pid: line 1 the postmaster's PID, 2 the data directory, 3 the start time,
/// 4 the port, 5 the first Unix socket directory (empty when there is none), 6 the first listen address,
/// 7 the shared memory key, 8 the status (starting, ready, stopping, standby).
/// </summary>
public sealed record PostmasterPidFile(int Pid, string DataDirectory, int Port, string? SocketDirectory, string? ListenAddress, string? Status)
{
    /// <summary>Reads DATADIR/postmaster.pid and checks that its server runs.</summary>
    /// <exception cref="PostmasterPidException">One sentence saying what is wrong and what to do.</exception>
    public static PostmasterPidFile Read(string dataDirectory)
    {
        string path = Path.Combine(dataDirectory, "postmaster.pid");
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new PostmasterPidException(Directory.Exists(dataDirectory)
                ? $"no server is running on data directory {dataDirectory} ({path} does not exist); start it with pg_ctl -D {dataDirectory} start"
                : $"data directory {dataDirectory} does not exist; give the directory the server was started with (its -D or PGDATA)");
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new PostmasterPidException($"cannot read {path}: {ex.Message.TrimEnd('.')}; run as the user that owns the data directory, or connect with --dsn instead");
        }
        if (lines.Length < 4
            || !int.TryParse(lines[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !int.TryParse(lines[3].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int port))
        {
            throw new PostmasterPidException($"{path} is not a postmaster.pid file this tool can read (it needs the PID on line 1 and the port on line 4); connect with --dsn instead");
        }
        string? Line(int n) => lines.Length >= n && lines[n - 1].Trim().Length > 0 ? lines[n - 1].Trim() : null;
        var file = new PostmasterPidFile(pid, Line(2) ?? dataDirectory, port, Line(5), Line(6), Line(8));
        if (!IsRunning(pid))
            throw new PostmasterPidException($"{path} names process {pid}, which is not running: the server stopped without cleaning up; start it with pg_ctl -D {dataDirectory} start");
        if (file.Status is "starting" or "stopping")
            throw new PostmasterPidException($"the server on {dataDirectory} is {file.Status}; try again once it is ready");
        return file;
    }

    /// <summary>Whether a process runs (Linux /proc; a zombie does not count). Elsewhere, assumed running.</summary>
    private static bool IsRunning(int pid)
    {
        if (!Directory.Exists("/proc/self"))
            return true;
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] != 'Z';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
