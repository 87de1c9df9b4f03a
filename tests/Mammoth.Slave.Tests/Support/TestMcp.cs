using System.Diagnostics;
using Mammoth.Log.State;
using Mammoth.Log.Storage;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Npgsql;

namespace Mammoth.Slave.Tests.Support;

/// <summary>An in-process MCP on a free loopback port, a master link into it, and node.conf files for slaves.</summary>
internal sealed class TestMcp : IAsyncDisposable
{
    public const string AuthKey = "slave-test-key";

    private TestMcp(string dir, McpServer server, MasterLink master)
    {
        Directory = dir;
        Server = server;
        Master = master;
    }

    public string Directory { get; }
    public string TxlogPath => Path.Combine(Directory, "queue");
    public McpServer Server { get; }
    public MasterLink Master { get; }
    public int Port => Server.LocalEndPoint.Port;

    public static async Task<TestMcp> StartAsync()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mammoth-slave-mcp-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(dir);
        McpServerSettings settings = McpServerSettings.Parse($"""
            mcp_listen_address = 127.0.0.1
            mcp_listen_port = 0
            mcp_authkey = '{AuthKey}'
            mcp_max_slaves = 4
            mcp_txlog_path = '{Path.Combine(dir, "queue")}'
            mcp_segment_size = 4MB
            mcp_queue_min_size = 64MB
            mcp_queue_max_size = 1GB
            mcp_log_level = log
            """, "test-mcp.conf");
        var server = new McpServer(settings, new MammothLog(Path.Combine(dir, "mcp.log"), PgLogLevel.Log), new McpServerOptions
        {
            StateSaveInterval = TimeSpan.FromMilliseconds(50),
            Preallocation = SegmentPreallocation.Sparse,
        });
        await server.StartAsync();
        MasterLink master = await MasterLink.ConnectAsync(new McpClientOptions
        {
            Host = "127.0.0.1",
            Port = server.LocalEndPoint.Port,
            AuthKey = AuthKey,
            Role = NodeRole.Master,
            SystemId = 42,
            Name = "test-master",
        });
        return new TestMcp(dir, server, master);
    }

    /// <summary>Sends records and waits until the MCP has stored them; returns the last recno.</summary>
    public async Task<long> SendAsync(params byte[][] records)
    {
        byte[] all = RecordFactory.Concat(records);
        await Master.SendRecordsAsync(all);
        Mammoth.Log.Records.RecordHeader last = Mammoth.Log.Records.RecordHeader.Read(records[^1]);
        await Master.WaitDurableAsync(last.Epoch, last.CommitLsn, last.Seq).WaitAsync(TimeSpan.FromSeconds(30));
        return Master.LastDurable.Recno;
    }

    /// <summary>The MCP's saved view of one slave.</summary>
    public SlaveRecord SlaveState(int no)
    {
        McpState s = McpStateStore.Load(TxlogPath);
        return s.Slaves.FirstOrDefault(x => x.SlaveNo == no) ?? new SlaveRecord { SlaveNo = no };
    }

    public string Log => File.Exists(Path.Combine(Directory, "mcp.log")) ? ReadShared(Path.Combine(Directory, "mcp.log")) : "";

    /// <summary>A node.conf for slave <paramref name="no"/> applying into <paramref name="slaveConnectionString"/>.</summary>
    public string NodeConf(string slaveConnectionString, int no = 0, string extra = "")
    {
        var b = new NpgsqlConnectionStringBuilder(slaveConnectionString);
        string data = Path.Combine(Directory, $"slave{no}");
        return $"""
            replication_enable = on
            replication_mode = slave
            replication_slave_no = {no}
            replication_mcp_address = '127.0.0.1'
            replication_mcp_port = {Port}
            replication_mcp_authkey = '{AuthKey}'
            replication_data_path = '{data}'
            replication_conninfo = 'host={b.Host} port={b.Port} user={b.Username} dbname={b.Database}'
            replication_log_level = debug1
            {extra}
            """;
    }

    public string DataPath(int no = 0) => Path.Combine(Directory, $"slave{no}");

    public static string ReadShared(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        await Master.DisposeAsync();
        await Server.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Polling with a deadline.</summary>
internal static class Wait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<string>? diagnostics = null)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(60);
        while (!await Try(condition))
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"waited {limit.TotalSeconds:0} s for {what}{(diagnostics is null ? "" : "\n" + diagnostics())}");
            await Task.Delay(50);
        }
    }

    private static async Task<bool> Try(Func<Task<bool>> condition)
    {
        try
        {
            return await condition();
        }
        catch (IOException)
        {
            return false; // a status file not written yet
        }
    }

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<string>? diagnostics = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout, diagnostics);
}
