using System.Diagnostics;
using System.Text;
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
/// A master and two slaves (throwaway clusters), an in-process MCP, and three mammoth-node agents as real
/// processes (so a test can SIGKILL them). Each test creates its own tables on all three nodes (the schema
/// is not replicated, as in the guide) and enables them on the master.
/// </summary>
public sealed class ReplicationSetup : IAsyncLifetime
{
    public const string Database = "app";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mammoth-it-" + Guid.NewGuid().ToString("N")[..8]);
    private MammothLog? _log;
    private readonly Dictionary<string, Process> _agents = [];
    private LocalCluster[] _nodes = [];

    public LocalCluster Master => _nodes[0];
    public LocalCluster Slave(int n) => _nodes[1 + n];
    public McpServer Mcp { get; private set; } = null!;

    public string Conn(LocalCluster c) => c.ConnectionString(Database);

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

        McpServerSettings settings = McpServerSettings.Parse($"""
            mcp_listen_address = 127.0.0.1
            mcp_listen_port = 0
            mcp_authkey = 'it-key'
            mcp_max_slaves = 4
            mcp_txlog_path = '{Path.Combine(_dir, "queue")}'
            mcp_segment_size = 8MB
            mcp_echo_timeout = 15s
            mcp_log_level = LOG
            """, "it-mcp.conf");
        _log = new MammothLog(Path.Combine(_dir, "mcp.log"), PgLogLevel.Log);
        Mcp = new McpServer(settings, _log);
        await Mcp.StartAsync();
        foreach (string name in new[] { "master", "slave0", "slave1" })
            StartAgent(name);
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
            replication_mcp_port = {Mcp.LocalEndPoint.Port}
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

    /// <summary>Logs of every component, tail first, for failure messages.</summary>
    public string Diagnostics()
    {
        var sb = new StringBuilder();
        sb.AppendLine("--- mcp_stat ---").AppendLine(McpStatusReport.Read(Path.Combine(_dir, "queue")).ToText());
        sb.AppendLine("--- mcp log (tail) ---").AppendLine(Tail(File.ReadAllText(Path.Combine(_dir, "mcp.log")), 30));
        foreach (string name in new[] { "master", "slave0", "slave1" })
        {
            string log = Path.Combine(_dir, name + ".log");
            if (File.Exists(log))
                sb.AppendLine($"--- {name} agent log (tail) ---").AppendLine(Tail(File.ReadAllText(log), 30));
        }
        return sb.ToString();
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
        await Mcp.DisposeAsync();
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
