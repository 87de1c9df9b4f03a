using System.Net;
using System.Net.Sockets;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Master.Tests;

/// <summary>An in-process MCP on a fixed loopback port with its own txlog folder; can be stopped and started again.</summary>
public sealed class TestMcp : IAsyncDisposable
{
    public const string AuthKey = "master-test-key";
    private McpServer? _server;
    private MammothLog? _log;

    private TestMcp(string directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }
    public int Port { get; }
    public string TxlogPath => Path.Combine(Directory, "txlog");
    public string LogPath => Path.Combine(Directory, "mcp.log");
    public bool IsRunning => _server is not null || _process is not null;

    public static async Task<TestMcp> StartAsync(string directory)
    {
        var mcp = new TestMcp(directory, FreePort());
        await mcp.StartAgainAsync();
        return mcp;
    }

    /// <summary>
    /// An MCP as its own process (<c>dotnet mcp_server.dll</c>), as in production: for measurements that must
    /// not mix the MCP's work (CPU, allocations) with the agent's.
    /// </summary>
    public static async Task<TestMcp> StartProcessAsync(string directory)
    {
        var mcp = new TestMcp(directory, FreePort());
        string conf = Path.Combine(directory, "mcp_server.conf");
        await File.WriteAllTextAsync(conf, mcp.ConfText().Replace("mcp_log_level = debug1", "mcp_log_level = log", StringComparison.Ordinal));
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "mcp_server.dll"), "-c", conf, "-l", mcp.LogPath })
            psi.ArgumentList.Add(a);
        mcp._process = System.Diagnostics.Process.Start(psi);
        DateTime until = DateTime.UtcNow.AddSeconds(60);
        while (!mcp.ReadLog().Contains("listening on", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > until || mcp._process!.HasExited)
                throw new InvalidOperationException($"mcp_server did not start: {mcp.ReadLog()}");
            await Task.Delay(50);
        }
        return mcp;
    }

    private System.Diagnostics.Process? _process;

    private string ConfText() => $"""
        mcp_listen_address = 127.0.0.1
        mcp_listen_port = {Port}
        mcp_authkey = '{AuthKey}'
        mcp_max_slaves = 8
        mcp_txlog_path = '{TxlogPath}'
        mcp_segment_size = 16MB
        mcp_queue_min_size = 1GB
        mcp_queue_max_size = 4GB
        mcp_key_index = off
        mcp_log_level = debug1
        """;

    public async Task StartAgainAsync()
    {
        if (_server is not null)
            return;
        string conf = ConfText();
        _log = new MammothLog(LogPath, PgLogLevel.Debug1);
        var server = new McpServer(McpServerSettings.Parse(conf, "test-mcp.conf"), _log, new McpServerOptions
        {
            StateSaveInterval = TimeSpan.FromMilliseconds(100),
            Preallocation = Mammoth.Log.Storage.SegmentPreallocation.Sparse,
        });
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await server.StartAsync();
                break;
            }
            catch (SocketException) when (attempt < 50)
            {
                await Task.Delay(100); // the port of the previous run may linger a moment
            }
        }
        _server = server;
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
            _process = null;
        }
        if (_server is null)
            return;
        await _server.DisposeAsync();
        _server = null;
        _log?.Dispose();
        _log = null;
    }

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    public McpClientOptions Options(NodeRole role, short slave = -1) => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        AuthKey = AuthKey,
        Role = role,
        SlaveNo = slave,
        SystemId = 0,
        Name = $"test-slave-{slave}",
    };

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
