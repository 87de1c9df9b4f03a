using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Hub;
using Mammoth.Nodes.Catalog;
using Mammoth.Nodes.Clusters;
using Mammoth.Testing;
using Npgsql;
using Xunit;

namespace Mammoth.Integration.Tests;

/// <summary>
/// A master and two slaves (throwaway clusters), an MCP, and three mammoth-node agents as real processes (so a
/// test can SIGKILL them). Each test creates its own tables on all three nodes (the schema is not replicated,
/// as in the guide) and enables them on the master.
/// </summary>
/// <remarks>
/// The MCP runs in-process (<see cref="Mcp"/>), or, in <see cref="McpProcessSetup"/>, as its own
/// <c>mcp_server</c> process on a fixed port, so that a test can SIGKILL it and start it again on the same
/// txlog (<see cref="KillMcp"/>, <see cref="StartMcpAsync"/>); the agents' configuration is the same either way.
/// </remarks>
public class ReplicationSetup : IAsyncLifetime
{
    public const string Database = "app";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mammoth-it-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly bool _mcpAsProcess;
    private MammothLog? _log;
    private McpServer? _mcp;
    private Process? _mcpProcess;
    private readonly Dictionary<string, Process> _agents = [];
    private LocalCluster[] _nodes = [];

    public ReplicationSetup()
        : this(mcpAsProcess: false)
    {
    }

    /// <param name="mcpAsProcess">Run the MCP as <c>dotnet mcp_server.dll</c> rather than in this process.</param>
    protected ReplicationSetup(bool mcpAsProcess) => _mcpAsProcess = mcpAsProcess;

    public LocalCluster Master => _nodes[0];
    public LocalCluster Slave(int n) => _nodes[1 + n];

    /// <summary>The in-process MCP (not in <see cref="McpProcessSetup"/>).</summary>
    public McpServer Mcp => _mcp ?? throw new InvalidOperationException("the MCP runs as its own process in this setup");

    /// <summary>The MCP's port (the agents' replication_mcp_port).</summary>
    public int McpPort { get; private set; }

    public string Conn(LocalCluster c) => c.ConnectionString(Database);

    /// <summary>The MCP's txlog folder (what mcp_stat reads).</summary>
    public string QueuePath => Path.Combine(_dir, "queue");

    private string McpLogPath => Path.Combine(_dir, "mcp.log");

    /// <summary>mcp_stat of the MCP's queue.</summary>
    public McpStatusReport Status() => McpStatusReport.Read(QueuePath);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        var nodes = new List<LocalCluster>();
        foreach (string name in new[] { "master", "slave0", "slave1" })
        {
            LocalCluster c = await LocalCluster.StartAsync(new LocalClusterOptions
            {
                BaseDirectory = _dir,
                Name = name,
                Settings = new Dictionary<string, string> { ["synchronous_commit"] = "on" },
            });
            nodes.Add(c);
            await c.CreateDatabaseAsync(Database);
            await using var conn = new NpgsqlConnection(c.ConnectionString(Database));
            await conn.OpenAsync();
            await CatalogInstaller.InstallAsync(conn);
        }
        _nodes = [.. nodes];

        if (_mcpAsProcess)
        {
            McpPort = FreePort();
            await File.WriteAllTextAsync(Path.Combine(_dir, "mcp.conf"), McpConf(McpPort));
            await StartMcpAsync();
        }
        else
        {
            _log = new MammothLog(McpLogPath, PgLogLevel.Log);
            _mcp = new McpServer(McpServerSettings.Parse(McpConf(0), "it-mcp.conf"), _log);
            await _mcp.StartAsync();
            McpPort = _mcp.LocalEndPoint.Port;
        }
        foreach (string name in new[] { "master", "slave0", "slave1" })
            StartAgent(name);
    }

    private string McpConf(int port) => $"""
        mcp_listen_address = 127.0.0.1
        mcp_listen_port = {port}
        mcp_authkey = 'it-key'
        mcp_max_slaves = 4
        mcp_txlog_path = '{QueuePath}'
        mcp_segment_size = 8MB
        mcp_echo_timeout = 15s
        mcp_log_level = LOG
        """;

    /// <summary>
    /// Recno and kind of every record of the MCP's txlog from <paramref name="fromRecno"/> on, as a reader of the
    /// files finds them now (read-only, like mcp_stat; also while the MCP writes).
    /// </summary>
    public List<(long Recno, RecordKind Kind)> TxLogRecords(long fromRecno)
    {
        var list = new List<(long, RecordKind)>();
        using TxLog log = TxLog.Open(new TxLogOptions { Path = QueuePath, ReadOnly = true, OpenExistingOnly = true, VerifyOnRead = false });
        using TxLogReader reader = log.OpenReader(Math.Max(fromRecno, log.FirstRecno));
        while (reader.TryRead(out LogRecord rec) == ReadStatus.Ok)
            list.Add((rec.Header.Recno, rec.Header.Kind));
        return list;
    }

    /// <summary>
    /// Starts <c>mcp_server</c> as a process on <see cref="McpPort"/> and the txlog of the setup (again, after
    /// <see cref="KillMcp"/>), and waits until it listens.
    /// </summary>
    public async Task StartMcpAsync()
    {
        if (!_mcpAsProcess)
            throw new InvalidOperationException("the MCP runs in-process in this setup");
        if (_mcpProcess is not null)
            throw new InvalidOperationException("the MCP process is running");
        int startsBefore = Count(McpLog(), "listening on");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "mcp_server.dll"), "-c", Path.Combine(_dir, "mcp.conf"), "-l", McpLogPath })
            psi.ArgumentList.Add(a);
        Process p = Process.Start(psi)!;
        _mcpProcess = p;
        DateTime until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            string log = McpLog();
            if (Count(log, "listening on") > startsBefore)
                return;
            if (DateTime.UtcNow > until || p.HasExited)
                throw new InvalidOperationException($"mcp_server did not start:\n{Tail(log, 30)}");
            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL of the MCP process: no flush, no state save, no goodbye to the agents — a crash.</summary>
    public void KillMcp()
    {
        Process p = _mcpProcess ?? throw new InvalidOperationException("no MCP process is running");
        p.Kill();
        p.WaitForExit(); // reaps it: the test host is its parent
        p.Dispose();
        _mcpProcess = null;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private LocalCluster NodeOf(string name) => name switch { "master" => Master, "slave0" => Slave(0), _ => Slave(1) };

    public void StartAgent(string name)
    {
        LocalCluster c = NodeOf(name);
        string conf = Path.Combine(_dir, name + ".conf");
        File.WriteAllText(conf, $"""
            replication_enable = on
            replication_mode = {(name == "master" ? "master" : "slave")}
            {(name == "master" ? "" : $"replication_slave_no = {name[^1]}")}
            replication_database = '{Database}'
            replication_mcp_address = '127.0.0.1'
            replication_mcp_port = {McpPort}
            replication_mcp_authkey = 'it-key'
            replication_data_path = '{Path.Combine(_dir, name + "-rlog")}'
            replication_conninfo = 'host={c.Host} port={c.Port} user=postgres dbname={Database}'
            replication_log_level = DEBUG1
            """);
        string dll = Path.Combine(AppContext.BaseDirectory, "mammoth-node.dll");
        Process p = Process.Start(new ProcessStartInfo("dotnet", [dll, "-c", conf, "-l", Path.Combine(_dir, name + ".log")]))!;
        _agents[name] = p;
    }

    /// <summary>SIGKILL: no goodbye, no flush — a crash.</summary>
    public void KillAgent(string name)
    {
        Process p = _agents[name];
        p.Kill();
        p.WaitForExit();
        p.Dispose();
        _agents.Remove(name);
    }

    public async Task ExecAsync(LocalCluster c, string sql)
    {
        await using var conn = new NpgsqlConnection(Conn(c));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 300 };
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(LocalCluster c, string sql)
    {
        await using var conn = new NpgsqlConnection(Conn(c));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>Runs DDL on the master and both slaves.</summary>
    public async Task ExecAllAsync(string sql)
    {
        foreach (LocalCluster c in _nodes)
            await ExecAsync(c, sql);
    }

    /// <summary>Enables replication of <paramref name="table"/> on the master (null: every slave).</summary>
    public Task EnableAsync(string table, params int[] slaves) =>
        ExecAsync(Master, $"SELECT mammoth.enable_replication('{table}', {(slaves.Length == 0 ? "NULL" : $"'{{{string.Join(",", slaves)}}}'")})");

    /// <summary>Waits until the slaves' copies equal the master's (or the slave has no rows when the table is not for it), then asserts.</summary>
    public async Task AssertReplicatedAsync(string table, string key, int[]? slaves = null, int timeoutSeconds = 120)
    {
        for (int s = 0; s < 2; s++)
        {
            bool expected = slaves is null || slaves.Contains(s);
            if (expected)
            {
                try
                {
                    await PgTables.WaitForTablesEqualAsync(Conn(Master), Conn(Slave(s)), table, key, TimeSpan.FromSeconds(timeoutSeconds));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    throw new Xunit.Sdk.XunitException($"slave {s}, table {table}: {ex.Message}\n{Diagnostics()}");
                }
            }
            else
            {
                Assert.Equal(0L, await PgTables.CountAsync(Conn(Slave(s)), table));
            }
        }
    }

    /// <summary>Random upserts, updates and deletes on a table with (id int8, v text) of the master until cancelled; returns how many ran.</summary>
    /// <remarks>The update appends to v: applied twice on a slave, it leaves a different value, which the comparison catches.</remarks>
    public async Task<long> WriteAsync(string table, int maxId, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(Conn(Master));
        await conn.OpenAsync(CancellationToken.None);
        var rnd = new Random(table.GetHashCode(StringComparison.Ordinal));
        long n = 0;
        while (!ct.IsCancellationRequested)
        {
            long id = rnd.Next(1, maxId + 1000);
            string sql = rnd.Next(3) switch
            {
                0 => $"INSERT INTO {table} (id, v) VALUES ({id}, 'w{n}') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v",
                1 => $"DELETE FROM {table} WHERE id = {id}",
                _ => $"UPDATE {table} SET v = v || '+' WHERE id BETWEEN {id} AND {id + 5}",
            };
            await using var cmd = new NpgsqlCommand(sql, conn);
            await cmd.ExecuteNonQueryAsync(CancellationToken.None);
            n++;
        }
        return n;
    }

    /// <summary>Waits until the master agent has no table dump left to do (mammoth.table_dumps is empty).</summary>
    public async Task WaitNoTableDumpsAsync(TimeSpan timeout)
    {
        DateTime until = DateTime.UtcNow + timeout;
        while (await ScalarAsync<long>(Master, "SELECT count(*) FROM mammoth.table_dumps") > 0)
        {
            Assert.True(DateTime.UtcNow < until, $"the master agent did not finish its table dumps in {timeout.TotalSeconds:0} s\n{Diagnostics()}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until agent <paramref name="agent"/> has logged <paramref name="text"/>.</summary>
    public async Task WaitForLogAsync(string agent, string text, TimeSpan timeout)
    {
        DateTime until = DateTime.UtcNow + timeout;
        while (!AgentLog(agent).Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < until, $"{agent} never logged \"{text}\"\n{Diagnostics()}");
            await Task.Delay(20);
        }
    }

    /// <summary>The log of agent <paramref name="name"/> so far ("" before it wrote one).</summary>
    public string AgentLog(string name) => ReadShared(Path.Combine(_dir, name + ".log"));

    /// <summary>The MCP's log so far (of every start).</summary>
    public string McpLog() => ReadShared(McpLogPath);

    private static string ReadShared(string path)
    {
        if (!File.Exists(path))
            return "";
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(f).ReadToEnd();
    }

    /// <summary>Logs of every component, tail first, for failure messages.</summary>
    public string Diagnostics()
    {
        var sb = new StringBuilder();
        sb.AppendLine("--- mcp_stat ---").AppendLine(Status().ToText());
        sb.AppendLine("--- mcp log (tail) ---").AppendLine(Tail(McpLog(), 30));
        foreach (string name in new[] { "master", "slave0", "slave1" })
        {
            string log = Path.Combine(_dir, name + ".log");
            if (File.Exists(log))
                sb.AppendLine($"--- {name} agent log (tail) ---").AppendLine(Tail(File.ReadAllText(log), 30));
        }
        return sb.ToString();
    }

    /// <summary>How many times <paramref name="text"/> occurs in <paramref name="log"/>.</summary>
    public static int Count(string log, string text)
    {
        int n = 0;
        for (int i = log.IndexOf(text, StringComparison.Ordinal); i >= 0; i = log.IndexOf(text, i + text.Length, StringComparison.Ordinal))
            n++;
        return n;
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    public async Task DisposeAsync()
    {
        foreach (Process p in _agents.Values)
        {
            ProcessInfo.Signal(p.Id, ProcessInfo.SIGTERM);
            if (!p.WaitForExit(10_000))
                p.Kill();
            p.Dispose();
        }
        _agents.Clear();
        if (_mcpProcess is { } mcp)
        {
            ProcessInfo.Signal(mcp.Id, ProcessInfo.SIGTERM);
            if (!mcp.WaitForExit(10_000))
                mcp.Kill();
            mcp.Dispose();
            _mcpProcess = null;
        }
        if (_mcp is not null)
            await _mcp.DisposeAsync();
        _log?.Dispose();
        foreach (LocalCluster c in _nodes)
            await c.DisposeAsync();
        if (Environment.GetEnvironmentVariable("MAMMOTH_TEST_KEEP_CLUSTERS") != "1")
        {
            try
            {
                Directory.Delete(_dir, true);
            }
            catch (IOException)
            {
            }
        }
    }
}

[CollectionDefinition("replication")]
public sealed class ReplicationCollection : ICollectionFixture<ReplicationSetup>;

/// <summary>The same setup with the MCP as its own process, which a test may SIGKILL and start again.</summary>
public sealed class McpProcessSetup() : ReplicationSetup(mcpAsProcess: true);

[CollectionDefinition("replication, MCP process")]
public sealed class McpProcessCollection : ICollectionFixture<McpProcessSetup>;
