using Mammoth.Log.Records;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Nodes.Catalog;
using Mammoth.Nodes.Master;
using Mammoth.Testing;
using Npgsql;
using NpgsqlTypes;

namespace Mammoth.Master.Tests;

/// <summary>The master PostgreSQL server, shared by the tests of the collection (they run one at a time: slot mammoth is cluster-wide).</summary>
[CollectionDefinition("master")]
public sealed class MasterCollection : ICollectionFixture<PgServerFixture>;

/// <summary>
/// One test's world: a fresh database with the catalog on the shared server (slot mammoth dropped first), an
/// in-process MCP, the master agent running in-process, and raw slaves.
/// </summary>
public sealed class MasterTestBed : IAsyncDisposable
{
    private readonly List<RawSlave> _slaves = [];
    private CancellationTokenSource? _agentStop;
    private Task? _agentRun;
    private MammothLog? _agentLog;

    private MasterTestBed(PgServer server, string database, string directory, TestMcp mcp, MasterAgentOptions options)
    {
        Server = server;
        Database = database;
        Directory = directory;
        Mcp = mcp;
        Options = options;
    }

    public PgServer Server { get; }
    public string Database { get; }
    public string Directory { get; }
    public TestMcp Mcp { get; }
    public MasterAgentOptions Options { get; }
    public MasterAgent? Agent { get; private set; }
    public string ConnectionString => new NpgsqlConnectionStringBuilder(Server.ConnectionString(Database)) { Pooling = false }.ConnectionString;
    public string AgentLogPath => Path.Combine(Directory, "agent.log");

    /// <summary>Where the agent finds the MCP (a proxy's port instead of the MCP's own, when set before StartAgent).</summary>
    public int? AgentMcpPort { get; set; }

    /// <summary>
    /// Creates the world: <paramref name="ddl"/> runs first (one batch), then each of <paramref name="enables"/> on
    /// its own (the first enable creates the slot, which PostgreSQL refuses in a transaction that has written).
    /// </summary>
    /// <summary>The agent options of these tests: short heartbeats and reconnect delays.</summary>
    public static MasterAgentOptions TestOptions(int dumpWorkers = 2, long dumpSplitBytes = 32L << 20) => new()
    {
        HeartbeatInterval = TimeSpan.FromSeconds(2),
        ConfirmInterval = TimeSpan.FromMilliseconds(20),
        StatusInterval = TimeSpan.FromSeconds(2),
        ReconnectDelay = TimeSpan.FromMilliseconds(200),
        MaxReconnectDelay = TimeSpan.FromSeconds(1),
        DumpWorkers = dumpWorkers,
        DumpSplitBytes = dumpSplitBytes,
    };

    public static async Task<MasterTestBed> StartAsync(PgServerFixture fixture, string ddl, string[] enables, MasterAgentOptions? options = null,
        bool startAgent = true, bool mcpProcess = false)
    {
        PgServer server = fixture.Server;
        await DropSlotAsync(server.ConnectionString());
        string name = "m" + Guid.NewGuid().ToString("N")[..10];
        await server.CreateDatabaseAsync(name);
        string dir = System.IO.Directory.CreateTempSubdirectory("mammoth-master-tests-").FullName;
        var bed = new MasterTestBed(server, name, dir, mcpProcess ? await TestMcp.StartProcessAsync(dir) : await TestMcp.StartAsync(dir), options ?? TestOptions());
        await using (var c = await bed.OpenAsync())
            await CatalogInstaller.InstallAsync(c);
        if (ddl.Length > 0)
            await bed.ExecAsync(ddl);
        foreach (string e in enables)
            await bed.ExecAsync(e);
        if (startAgent)
            bed.StartAgent();
        return bed;
    }

    /// <summary>Drops slot mammoth of a previous test (retrying while its walsender goes away).</summary>
    public static async Task DropSlotAsync(string adminConnectionString)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(adminConnectionString) { Pooling = false }.ConnectionString);
                await c.OpenAsync();
                await using var cmd = new NpgsqlCommand("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'mammoth'", c);
                await cmd.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == "55006" && attempt < 100)
            {
                await Task.Delay(100); // still active
            }
        }
    }

    public string NodeConf() => $"""
        replication_enable = on
        replication_mode = master
        replication_mcp_address = '127.0.0.1'
        replication_mcp_port = {AgentMcpPort ?? Mcp.Port}
        replication_mcp_authkey = '{TestMcp.AuthKey}'
        replication_data_path = '{Directory}'
        replication_conninfo = '{Server.ConnInfo(Database)}'
        replication_log_level = debug1
        """;

    public void StartAgent(MasterAgentOptions? options = null)
    {
        if (Agent is not null)
            return;
        NodeSettings settings = NodeSettings.Parse(NodeConf(), "node.conf");
        _agentLog = new MammothLog(AgentLogPath, PgLogLevel.Debug1);
        Agent = new MasterAgent(settings, _agentLog, options ?? Options);
        _agentStop = new CancellationTokenSource();
        _agentRun = Agent.RunAsync(_agentStop.Token);
    }

    public async Task StopAgentAsync()
    {
        if (Agent is null)
            return;
        await _agentStop!.CancelAsync();
        await _agentRun!;
        await Agent.DisposeAsync();
        _agentLog!.Dispose();
        _agentStop.Dispose();
        Agent = null;
        _agentRun = null;
    }

    public string AgentLog() => File.Exists(AgentLogPath) ? File.ReadAllText(AgentLogPath) : "";

    public string Context() => $"--- agent log ---\n{Tail(AgentLog())}\n--- mcp log ---\n{Tail(Mcp.ReadLog())}";

    private static string Tail(string s) => s.Length > 6000 ? s[^6000..] : s;

    public async Task<RawSlave> SlaveAsync(short no)
    {
        RawSlave s = await RawSlave.StartAsync(Mcp, no);
        _slaves.Add(s);
        return s;
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var c = new NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        return c;
    }

    public async Task ExecAsync(string sql)
    {
        await using NpgsqlConnection c = await OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using NpgsqlConnection c = await OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public async Task<uint> OidAsync(string table) => await ScalarAsync<uint>($"SELECT '{table}'::regclass::oid");

    public async Task<ulong> ConfirmedFlushAsync() =>
        (ulong)await ScalarAsync<NpgsqlLogSequenceNumber>("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'mammoth'");

    public async Task<ulong> CurrentLsnAsync() => (ulong)await ScalarAsync<NpgsqlLogSequenceNumber>("SELECT pg_current_wal_lsn()");

    /// <summary>Waits until the slave holds a DATA row of <paramref name="table"/> whose first field is the int4 <paramref name="id"/>.</summary>
    public async Task<List<Rec>> WaitForRowAsync(RawSlave slave, uint table, int id, TimeSpan? timeout = null) =>
        await slave.WaitAsync(rs => rs.Any(r => r.Sections.Any(s => s.TableId == table && s.Op == ChangeOp.Insert
            && s.Rows.Any(row => Records.Fields(row)[0] is { Length: 4 } f && Records.Int4(f) == id))),
            $"row {id} of table {table}", timeout, Context);

    /// <summary>COPY (query) TO STDOUT (FORMAT binary) without its 19-byte header and 2-byte trailer: the tuples.</summary>
    public async Task<byte[]> CopyTuplesAsync(string query)
    {
        await using NpgsqlConnection c = await OpenAsync();
        using var ms = new MemoryStream();
        await using (var raw = await c.BeginRawBinaryCopyAsync($"COPY ({query}) TO STDOUT (FORMAT binary)"))
            await raw.CopyToAsync(ms);
        byte[] all = ms.ToArray();
        return all[19..^2];
    }

    public async ValueTask DisposeAsync()
    {
        await StopAgentAsync();
        foreach (RawSlave s in _slaves)
            await s.DisposeAsync();
        await Mcp.DisposeAsync();
        try
        {
            await DropSlotAsync(Server.ConnectionString());
        }
        catch (NpgsqlException)
        {
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
