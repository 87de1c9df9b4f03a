using Mammoth.Nodes.Clusters;
using Npgsql;
using Xunit;
using static Mammoth.Nodes.Tests.Clusters.PgServerFixtureTests;

namespace Mammoth.Nodes.Tests.Clusters;

public sealed class LocalClusterTests : IDisposable
{
    private readonly string _base = CreateBase();
    private readonly List<string> _progress = [];

    public void Dispose() => Directory.Delete(_base, recursive: true);

    // CreateTempSubdirectory makes a 0700 directory; as root, the server's user must get through it.
    private static string CreateBase()
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("LocalCluster runs on Linux only.");
        var dir = Directory.CreateTempSubdirectory("mammoth-lc-test-");
        File.SetUnixFileMode(dir.FullName, File.GetUnixFileMode(dir.FullName) | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        return dir.FullName;
    }

    private LocalClusterOptions Options(string name, IReadOnlyDictionary<string, string>? settings = null, bool keep = false) => new()
    {
        BaseDirectory = _base,
        Name = name,
        Settings = settings,
        KeepOnDispose = keep,
        Progress = line => { lock (_progress) _progress.Add(line); },
    };

    [Fact]
    public async Task Starts_on_loopback_with_socket_in_its_own_directory_and_disposes_it()
    {
        string directory;
        await using (var cluster = await LocalCluster.StartAsync(Options("basic")))
        {
            directory = cluster.Directory;
            Assert.StartsWith(_base, directory, StringComparison.Ordinal);
            Assert.Equal("127.0.0.1", cluster.Host);
            Assert.InRange(cluster.Port, 1, 65535);
            Assert.True(cluster.IsRunning);
            Assert.True(File.Exists(Path.Combine(cluster.SocketDirectory, $".s.PGSQL.{cluster.Port}")));
            Assert.True(cluster.MajorVersion >= 15);
            Assert.Equal($"host=127.0.0.1 port={cluster.Port} user=postgres dbname=postgres", cluster.ConnInfo("postgres"));
            Assert.Equal($"host=127.0.0.1 port={cluster.Port} user=postgres dbname='it\\'s a db'", cluster.ConnInfo("it's a db"));

            await cluster.CreateDatabaseAsync("Mixed Case");
            await using var connection = new NpgsqlConnection(cluster.ConnectionString("Mixed Case"));
            await connection.OpenAsync();
            Assert.Equal("Mixed Case", await ScalarAsync<string>(connection, "SELECT current_database()"));
            Assert.Equal("UTF8", await ScalarAsync<string>(connection, "SHOW server_encoding"));
            Assert.Equal("64MB", await ScalarAsync<string>(connection, "SHOW shared_buffers"));
            Assert.Equal("off", await ScalarAsync<string>(connection, "SHOW full_page_writes"));
            Assert.Equal("127.0.0.1", await ScalarAsync<string>(connection, "SHOW listen_addresses"));
        }
        Assert.False(Directory.Exists(directory));
        Assert.Contains(_progress, line => line.Contains("listening on 127.0.0.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Extra_settings_override_and_stop_start_restart_keep_the_port()
    {
        var settings = new Dictionary<string, string> { ["max_connections"] = "30", ["application_name"] = "it's mine" };
        await using var cluster = await LocalCluster.StartAsync(Options("settings", settings));
        int port = cluster.Port;
        await CheckAsync();

        await cluster.StopAsync(fast: true);
        Assert.False(cluster.IsRunning);
        await cluster.StopAsync(); // stopping a stopped cluster is a no-op
        await cluster.StartAgainAsync();
        Assert.Equal(port, cluster.Port);
        await CheckAsync();

        await cluster.RestartAsync();
        await CheckAsync();
        await Assert.ThrowsAsync<LocalClusterException>(() => cluster.StartAgainAsync());

        async Task CheckAsync()
        {
            await using var connection = new NpgsqlConnection(cluster.ConnectionString());
            await connection.OpenAsync();
            Assert.Equal("30", await ScalarAsync<string>(connection, "SHOW max_connections"));
        }
    }

    [Fact]
    public async Task Kill_leaves_no_process_and_start_again_recovers()
    {
        await using var cluster = await LocalCluster.StartAsync(Options("kill"));
        string connectionString = cluster.ConnectionString();
        await ExecuteAsync(connectionString, "CREATE TABLE t (id int); SET synchronous_commit = on; INSERT INTO t VALUES (1)");
        await using var idle = new NpgsqlConnection(connectionString); // a backend that would linger
        await idle.OpenAsync();
        int postmaster = int.Parse(File.ReadLines(Path.Combine(cluster.DataDirectory, "postmaster.pid")).First());
        var children = ChildrenOf(postmaster);
        Assert.True(children.Count >= 4, $"expected server children, found {children.Count}");

        await cluster.KillAsync();

        Assert.False(cluster.IsRunning);
        Assert.False(IsLive(postmaster));
        Assert.DoesNotContain(children, IsLive);
        await Assert.ThrowsAsync<LocalClusterException>(() => cluster.KillAsync());

        await cluster.StartAgainAsync();
        Assert.Equal(1, await Mammoth.Testing.PgTables.CountAsync(connectionString, "t"));
        Assert.Contains("database system was interrupted", cluster.ReadLogTail(200), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_start_reports_the_server_log_and_removes_the_directory()
    {
        var bad = new Dictionary<string, string> { ["shared_buffers"] = "banana" };
        var failure = await Assert.ThrowsAsync<LocalClusterException>(() => LocalCluster.StartAsync(Options("bad", bad)));
        Assert.Contains("did not start", failure.Message, StringComparison.Ordinal);
        Assert.Contains("banana", failure.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetDirectories(_base));
    }

    [Fact]
    public async Task KeepOnDispose_leaves_the_stopped_cluster_on_disk()
    {
        var cluster = await LocalCluster.StartAsync(Options("keep", keep: true));
        await cluster.DisposeAsync();
        Assert.True(File.Exists(Path.Combine(cluster.DataDirectory, "PG_VERSION")));
        Assert.False(cluster.IsRunning);
    }

    [Fact]
    public async Task Start_sweeps_clusters_whose_owner_process_died()
    {
        // A directory as an owner killed by SIGKILL would leave it: no process 2^22-1 exists
        // (pid_max is at most 2^22).
        string abandoned = Path.Combine(_base, "mammoth-pg-dead-12345678");
        Directory.CreateDirectory(Path.Combine(abandoned, "data"));
        File.WriteAllText(Path.Combine(abandoned, "owner"), "4194303 1\n");
        string foreign = Path.Combine(_base, "mammoth-pg-foreign-12345678"); // no owner file: not ours to judge
        Directory.CreateDirectory(foreign);

        await using var cluster = await LocalCluster.StartAsync(Options("sweeper"));
        Assert.False(Directory.Exists(abandoned));
        Assert.True(Directory.Exists(foreign));
    }

    [Fact]
    public async Task Unreachable_base_directory_is_one_clear_sentence_when_root()
    {
        var locked = Directory.CreateTempSubdirectory("mammoth-locked-"); // 0700
        try
        {
            var options = new LocalClusterOptions { BaseDirectory = Path.Combine(locked.FullName, "inner"), Name = "locked" };
            if (Environment.UserName != "root")
                return; // the server runs as ourselves: nothing to check
            var failure = await Assert.ThrowsAsync<LocalClusterException>(() => LocalCluster.StartAsync(options));
            Assert.Contains("postgres cannot enter " + locked.FullName, failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            locked.Delete(recursive: true);
        }
    }

    [Fact]
    public void Missing_binaries_give_one_clear_sentence()
    {
        string empty = Directory.CreateTempSubdirectory("mammoth-nobin-").FullName;
        try
        {
            var noEnv = Assert.Throws<LocalClusterException>(() => PgBinaries.Locate(null, Path.Combine(empty, "none"), () => null));
            Assert.Equal(PgBinaries.NotFoundMessage, noEnv.Message);

            var badEnv = Assert.Throws<LocalClusterException>(() => PgBinaries.Locate(empty, empty, () => null));
            Assert.Contains("MAMMOTH_PG_BIN", badEnv.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public void Highest_installed_version_wins()
    {
        string root = Directory.CreateTempSubdirectory("mammoth-pgroot-").FullName;
        try
        {
            foreach (var version in new[] { "9.6", "15", "16", "notaversion" })
            {
                string bin = Directory.CreateDirectory(Path.Combine(root, version, "bin")).FullName;
                foreach (var tool in new[] { "initdb", "pg_ctl", "postgres" })
                    File.WriteAllText(Path.Combine(bin, tool), "");
            }
            Directory.CreateDirectory(Path.Combine(root, "17", "bin")); // no binaries: skipped
            Assert.Equal(Path.Combine(root, "16", "bin"), PgBinaries.Locate(null, root, () => null));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static List<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (int.Parse(stat[(stat.LastIndexOf(')') + 4)..].Split(' ')[0]) == parent)
                    children.Add(pid);
            }
            catch (IOException)
            {
            }
        }
        return children;
    }

    private static bool IsLive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[stat.LastIndexOf(')') + 2];
            return state is not 'Z' and not 'X';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
