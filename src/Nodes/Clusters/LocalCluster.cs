using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Mammoth.Nodes.Clusters;

/// <summary>
/// A throwaway PostgreSQL cluster started from the local server binaries: its own temp directory
/// (data, unix socket, server log), a loopback TCP port, trust authentication for user
/// <c>postgres</c>, and settings for logical replication and speed over durability
/// (fsync, synchronous_commit and full_page_writes off).
/// </summary>
/// <remarks>
/// When the process runs as root, initdb and the server run as the <c>postgres</c> user through
/// runuser (PostgreSQL refuses root); the cluster directory is then owned by postgres.
/// Clusters still running when the process exits are stopped by a ProcessExit handler, and a
/// later <see cref="StartAsync"/> in the same base directory removes clusters whose owning
/// process died without running it (SIGKILL).
/// </remarks>
public sealed partial class LocalCluster : IAsyncDisposable
{
    private const string DirectoryPrefix = "mammoth-pg-";
    private const string OwnerFileName = "owner";
    private const string KeepFileName = "keep";
    private static readonly TimeSpan s_toolTimeout = TimeSpan.FromSeconds(90);
    private const int StartWaitSeconds = 60;

    private readonly LocalClusterOptions _options;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly ConcurrentDictionary<string, byte> _connectionStrings = new();
    private bool _disposed;

    private LocalCluster(LocalClusterOptions options, string binDirectory, string directory, int port)
    {
        _options = options;
        BinDirectory = binDirectory;
        Directory = directory;
        DataDirectory = Path.Combine(directory, "data");
        SocketDirectory = directory;
        LogFile = Path.Combine(directory, "server.log");
        Port = port;
    }

    /// <summary>The cluster's own directory, holding <c>data/</c>, the unix socket and <c>server.log</c>.</summary>
    public string Directory { get; }

    /// <summary>The PostgreSQL data directory (PGDATA).</summary>
    public string DataDirectory { get; }

    /// <summary>Directory of the server's unix socket.</summary>
    public string SocketDirectory { get; }

    /// <summary>The server log (stderr of the postmaster).</summary>
    public string LogFile { get; }

    /// <summary>Where initdb, pg_ctl and postgres were found.</summary>
    public string BinDirectory { get; }

    /// <summary>The cluster's name from the options (used in messages).</summary>
    public string Name => _options.Name;

    /// <summary>Always 127.0.0.1: the server listens on loopback only.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The TCP port on <see cref="Host"/>.</summary>
    public int Port { get; private set; }

    /// <summary>PostgreSQL major version of the data directory (from PG_VERSION).</summary>
    public int MajorVersion { get; private set; }

    /// <summary>True while the postmaster process is alive.</summary>
    public bool IsRunning => TryReadPostmasterPid(out int pid, out _) && Posix.IsAlive(pid);

    /// <summary>Creates, configures and starts a new cluster.</summary>
    /// <exception cref="LocalClusterException">Binaries missing, initdb failed, or the server did not start (the message holds the log tail).</exception>
    public static async Task<LocalCluster> StartAsync(LocalClusterOptions? options = null, CancellationToken ct = default)
    {
        options ??= new LocalClusterOptions();
        ValidateName(options.Name);
        if (!OperatingSystem.IsLinux())
            throw new LocalClusterException("Throwaway PostgreSQL clusters are supported on Linux only.");
        string bin = PgBinaries.Locate();
        string baseDirectory = Path.GetFullPath(options.BaseDirectory ?? Path.GetTempPath());
        System.IO.Directory.CreateDirectory(baseDirectory);
        SweepAbandoned(baseDirectory, bin, options.Progress);

        string directory = CreateClusterDirectory(baseDirectory, options.Name, options.KeepOnDispose);
        var cluster = new LocalCluster(options, bin, directory, options.Port == 0 ? PickFreePort() : options.Port);
        try
        {
            await cluster.InitDbAsync(ct).ConfigureAwait(false);
            await cluster.StartFirstTimeAsync(ct).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Npgsql connection string for <paramref name="database"/> as user postgres over TCP.</summary>
    public string ConnectionString(string database = "postgres")
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Username = "postgres",
            Database = database,
        };
        string result = builder.ConnectionString;
        _connectionStrings.TryAdd(result, 0);
        return result;
    }

    /// <summary>libpq keyword=value connection string for <paramref name="database"/> as user postgres.</summary>
    public string ConnInfo(string database = "postgres") =>
        $"host={Host} port={Port.ToString(CultureInfo.InvariantCulture)} user=postgres dbname={QuoteConnInfo(database)}";

    /// <summary>CREATE DATABASE <paramref name="name"/> (quoted as an identifier).</summary>
    public async Task CreateDatabaseAsync(string name, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        await using var connection = new NpgsqlConnection(AdminConnectionString());
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE DATABASE {QuoteIdentifier(name)}", connection);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the server and waits for it: <paramref name="fast"/> ends sessions (pg_ctl -m fast);
    /// otherwise waits for clients to disconnect (-m smart). Idle pooled Npgsql connections handed
    /// out by <see cref="ConnectionString"/> are closed first. No-op when not running.
    /// </summary>
    public async Task StopAsync(bool fast = true, CancellationToken ct = default)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            await StopCoreAsync(fast ? "fast" : "smart", ct).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// SIGKILLs the postmaster and all its children (backends, walsenders, checkpointer),
    /// as a machine crash or the OOM killer would, and returns once all of them are gone — judged by
    /// /proc state, since an unreaped zombie still answers <c>kill -0</c>. The next start runs crash
    /// recovery.
    /// </summary>
    public async Task KillAsync(CancellationToken ct = default)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            if (!TryReadPostmasterPid(out int pid, out _) || !Posix.IsAlive(pid))
                throw new LocalClusterException($"Cluster '{Name}' is not running, so it cannot be killed.");
            Report($"killing PostgreSQL '{Name}' (postmaster {pid}) with SIGKILL");
            // Every server child calls setsid(), so there is no process group to kill. Freeze the
            // postmaster so it forks no more, take its children, then kill them all.
            Posix.SendSignal(pid, Posix.SigStop);
            var victims = Posix.LiveChildren(pid);
            Posix.SendSignal(pid, Posix.SigKill);
            foreach (int child in victims)
                Posix.SendSignal(child, Posix.SigKill);
            victims.Add(pid);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (victims.Exists(Posix.IsAlive))
            {
                if (DateTime.UtcNow > deadline)
                    throw new LocalClusterException($"Cluster '{Name}': processes {string.Join(", ", victims.Where(Posix.IsAlive))} survived SIGKILL for 30 s.");
                await Task.Delay(10, ct).ConfigureAwait(false);
            }
            ClearPools();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Starts a stopped or killed cluster again on the same port and data directory (after a kill,
    /// PostgreSQL runs crash recovery first).
    /// </summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            if (IsRunning)
                throw new LocalClusterException($"Cluster '{Name}' is already running on port {Port}.");
            await StartCoreAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Fast stop, then start again.</summary>
    public async Task RestartAsync(CancellationToken ct = default)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            await StopCoreAsync("fast", ct).ConfigureAwait(false);
            await StartCoreAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of the server log.</summary>
    public string ReadLogTail(int lines = 40) => ReadTail(LogFile, lines);

    /// <summary>Immediate stop, then deletes the cluster directory unless KeepOnDispose.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
                return;
            _disposed = true;
            try
            {
                if (IsRunning)
                    await StopCoreAsync("immediate", CancellationToken.None).ConfigureAwait(false);
            }
            catch (LocalClusterException ex)
            {
                Report($"warning: {ex.Message}");
            }
            Unregister(this);
            ClearPools();
            RemoveStaleLockFiles();
            if (_options.KeepOnDispose)
            {
                Report($"kept PostgreSQL '{Name}' in {Directory}");
            }
            else
            {
                TryDeleteDirectory(Directory);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task InitDbAsync(CancellationToken ct)
    {
        Report($"initdb '{Name}' in {DataDirectory}");
        string initdb = Path.Combine(BinDirectory, "initdb");
        var result = await RunInitDbAsync(initdb, "C.UTF-8", ct).ConfigureAwait(false);
        if (result.ExitCode != 0 && result.Output.Contains("invalid locale", StringComparison.OrdinalIgnoreCase))
        {
            Report("initdb: locale C.UTF-8 unavailable, using C");
            TryDeleteDirectory(DataDirectory);
            result = await RunInitDbAsync(initdb, "C", ct).ConfigureAwait(false);
        }
        if (result.ExitCode != 0)
            throw new LocalClusterException($"initdb failed for cluster '{Name}' (exit code {result.ExitCode}):\n{Tail(result.Output, 30)}");

        MajorVersion = int.Parse(File.ReadAllText(Path.Combine(DataDirectory, "PG_VERSION")).Trim().Split('.')[0], CultureInfo.InvariantCulture);
        File.AppendAllText(Path.Combine(DataDirectory, "postgresql.conf"),
            "\n# Settings of the MammothFast throwaway cluster (port, sockets, replication, speed).\ninclude 'mammoth.conf'\n");
        WriteSettings();
    }

    private Task<ToolRunner.Result> RunInitDbAsync(string initdb, string locale, CancellationToken ct) =>
        ToolRunner.RunAsync(initdb,
            ["-D", DataDirectory, "--username=postgres", "--auth=trust", "--encoding=UTF8", $"--locale={locale}", "--no-sync"],
            Directory, s_toolTimeout, ct);

    /// <summary>(Re)writes data/mammoth.conf, included from postgresql.conf.</summary>
    private void WriteSettings()
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["port"] = Port.ToString(CultureInfo.InvariantCulture),
            ["listen_addresses"] = Host,
            ["unix_socket_directories"] = SocketDirectory,
            ["fsync"] = "off",
            ["synchronous_commit"] = "off",
            ["full_page_writes"] = "off",
            ["wal_level"] = "logical",
            ["max_replication_slots"] = "20",
            ["max_wal_senders"] = "20",
            ["max_connections"] = "100",
            ["shared_buffers"] = "64MB",
            ["logging_collector"] = "off",
        };
        if (_options.Settings is not null)
        {
            foreach (var (name, value) in _options.Settings)
                settings[name] = value;
        }
        var text = new StringBuilder("# Written by MammothFast LocalCluster; rewritten when the port changes.\n");
        foreach (var (name, value) in settings)
            text.Append(name).Append(" = '").Append(value.Replace("'", "''", StringComparison.Ordinal)).Append("'\n");
        File.WriteAllText(Path.Combine(DataDirectory, "mammoth.conf"), text.ToString());
    }

    private async Task StartFirstTimeAsync(CancellationToken ct)
    {
        const int attempts = 5;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await StartCoreAsync(ct).ConfigureAwait(false);
                Register(this);
                return;
            }
            catch (LocalClusterException ex) when (_options.Port == 0 && attempt < attempts && IsPortClash(ex.Message))
            {
                // Another process took the port between our probe and the postmaster's bind.
                Port = PickFreePort();
                Report($"port taken, retrying '{Name}' on port {Port}");
                WriteSettings();
            }
        }
    }

    private static bool IsPortClash(string message) =>
        message.Contains("could not bind", StringComparison.Ordinal) || message.Contains("Address already in use", StringComparison.Ordinal)
        || message.Contains(".s.PGSQL.", StringComparison.Ordinal) && message.Contains("lock file", StringComparison.Ordinal);

    private async Task StartCoreAsync(CancellationToken ct)
    {
        RemoveStaleLockFiles();
        long logStart = File.Exists(LogFile) ? new FileInfo(LogFile).Length : 0;
        var result = await ToolRunner.RunAsync(Path.Combine(BinDirectory, "pg_ctl"),
            ["-D", DataDirectory, "-l", LogFile, "-w", "-t", StartWaitSeconds.ToString(CultureInfo.InvariantCulture), "start"],
            Directory, s_toolTimeout, ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            string log = ReadFrom(LogFile, logStart);
            throw new LocalClusterException(
                $"PostgreSQL '{Name}' did not start on port {Port} (pg_ctl exit code {result.ExitCode}). pg_ctl said:\n{Tail(result.Output, 10)}\n"
                + $"Server log {LogFile} ends with:\n{Tail(log, 30)}");
        }
        Report($"PostgreSQL {MajorVersion} '{Name}' listening on {Host}:{Port}, data {DataDirectory}");
    }

    private async Task StopCoreAsync(string mode, CancellationToken ct)
    {
        ClearPools();
        if (!IsRunning)
            return;
        var result = await ToolRunner.RunAsync(Path.Combine(BinDirectory, "pg_ctl"),
            ["-D", DataDirectory, "-w", "-t", StartWaitSeconds.ToString(CultureInfo.InvariantCulture), "stop", "-m", mode],
            Directory, s_toolTimeout, ct).ConfigureAwait(false);
        if (result.ExitCode != 0 && IsRunning)
        {
            throw new LocalClusterException(
                $"PostgreSQL '{Name}' did not stop ({mode}): {Tail(result.Output, 10)}\nServer log ends with:\n{ReadLogTail(20)}");
        }
        Report($"stopped PostgreSQL '{Name}' ({mode})");
    }

    /// <summary>
    /// After a SIGKILL the postmaster leaves postmaster.pid and the socket lock file behind. The
    /// postmaster itself would remove them if their PID were dead, but a zombie (unreaped when PID 1
    /// does not reap) passes its kill(pid, 0) check, so we remove them when /proc says the PID is
    /// gone, together with the orphaned System V shared memory segment named in postmaster.pid.
    /// </summary>
    private void RemoveStaleLockFiles()
    {
        if (!TryReadPostmasterPid(out int pid, out var lines) || Posix.IsAlive(pid))
            return;
        // Line 7 holds "shmem_key shmem_id".
        if (lines.Length >= 7)
        {
            var parts = lines[6].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && int.TryParse(parts[1], out int shmid))
                Posix.RemoveSharedMemory(shmid);
        }
        TryDeleteFile(Path.Combine(DataDirectory, "postmaster.pid"));
        string socket = Path.Combine(SocketDirectory, ".s.PGSQL." + Port.ToString(CultureInfo.InvariantCulture));
        TryDeleteFile(socket + ".lock");
        TryDeleteFile(socket);
    }

    private bool TryReadPostmasterPid(out int pid, out string[] lines)
    {
        pid = 0;
        lines = [];
        try
        {
            lines = File.ReadAllLines(Path.Combine(DataDirectory, "postmaster.pid"));
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        return lines.Length > 0 && int.TryParse(lines[0].Trim(), out pid) && pid > 0;
    }

    private string AdminConnectionString() =>
        new NpgsqlConnectionStringBuilder { Host = Host, Port = Port, Username = "postgres", Database = "postgres", Pooling = false }.ConnectionString;

    private void ClearPools()
    {
        foreach (var connectionString in _connectionStrings.Keys)
        {
            using var connection = new NpgsqlConnection(connectionString);
            NpgsqlConnection.ClearPool(connection);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void Report(string message) => _options.Progress?.Invoke(message);

    private static string CreateClusterDirectory(string baseDirectory, string name, bool keep)
    {
        string directory = Path.Combine(baseDirectory, $"{DirectoryPrefix}{name}-{Guid.NewGuid().ToString("N")[..8]}");
        // The unix socket path must fit sockaddr_un.sun_path (108 bytes with its terminator).
        if (Encoding.UTF8.GetByteCount(directory) + "/.s.PGSQL.65535".Length > 107)
            throw new LocalClusterException($"Cluster directory {directory} is too long for a unix socket path; use a shorter BaseDirectory.");
        System.IO.Directory.CreateDirectory(directory);
        TryWriteFile(Path.Combine(directory, OwnerFileName), OwnerStamp() + "\n");
        if (keep)
            TryWriteFile(Path.Combine(directory, KeepFileName), "keep on dispose\n");
        if (Posix.IsRoot)
        {
            CheckReachableByOthers(baseDirectory);
            var (uid, gid) = PostgresUser();
            Posix.ChangeOwner(directory, uid, gid);
        }
        return directory;
    }

    /// <summary>
    /// As root the server runs as postgres, which must be able to walk down to its directory:
    /// fail with a clear sentence rather than initdb's "Permission denied" on some ancestor.
    /// </summary>
    private static void CheckReachableByOthers(string baseDirectory)
    {
        if (OperatingSystem.IsWindows())
            return;
        for (var dir = new DirectoryInfo(baseDirectory); dir is not null; dir = dir.Parent)
        {
            if ((File.GetUnixFileMode(dir.FullName) & UnixFileMode.OtherExecute) == 0)
            {
                throw new LocalClusterException(
                    $"PostgreSQL runs as user postgres here (we are root), and postgres cannot enter {dir.FullName}; "
                    + $"choose a BaseDirectory it can reach (such as /tmp) or chmod o+x {dir.FullName}.");
            }
        }
    }

    private static int PickFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static (uint Uid, uint Gid) PostgresUser()
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length >= 4 && fields[0] == "postgres"
                && uint.TryParse(fields[2], out uint uid) && uint.TryParse(fields[3], out uint gid))
                return (uid, gid);
        }
        throw new LocalClusterException(
            "Running as root, but there is no 'postgres' user to run PostgreSQL as; create one (apt-get install postgresql does) or run as a normal user.");
    }

    private static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 32 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new ArgumentException($"Cluster name '{name}' must be 1-32 letters, digits, '-' or '_'.", nameof(name));
    }

    internal static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    internal static string QuoteConnInfo(string value)
    {
        if (value.Length > 0 && !value.Any(c => char.IsWhiteSpace(c) || c is '\'' or '\\'))
            return value;
        return "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
    }

    private static string ReadTail(string path, int lines)
    {
        try
        {
            return Tail(File.ReadAllText(path), lines);
        }
        catch (IOException)
        {
            return "(no server log)";
        }
        catch (UnauthorizedAccessException)
        {
            return "(server log unreadable)";
        }
    }

    private static string ReadFrom(string path, long offset)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return "(no server log)";
        }
    }

    private static string Tail(string text, int lines)
    {
        var all = text.TrimEnd().Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    private static void TryWriteFile(string path, string text)
    {
        try { File.WriteAllText(path, text); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void TryDeleteFile(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void TryDeleteDirectory(string path)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (System.IO.Directory.Exists(path))
                    System.IO.Directory.Delete(path, recursive: true);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(50); // a dying backend may still be removing its temp files
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }
}
