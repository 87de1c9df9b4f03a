using System.Net;
using Mammoth.Log.Inspection;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Bench.Net;

/// <summary>What the network benchmarks share: scratch folders, the MCP's settings, client options, records.</summary>
internal static class NetBench
{
    public const string AuthKey = "bench-auth-key";
    public const int RecordSize = 1024;
    /// <summary>Bytes of records per RECORDS frame: what the master sends and the slave sender's batch (McpServerOptions.SlaveBatchBytes).</summary>
    public const int FrameBytes = 256 * 1024;
    public const int RecordsPerFrame = FrameBytes / RecordSize;
    /// <summary>FrameConnection's receive buffer: the size of every socket read on both sides of the MCP.</summary>
    public const int ReadBufferSize = 64 * 1024;
    public const uint Epoch = 1;

    /// <summary>An MCP on a free loopback port; no recycling, no echo timeout within a run, key index as asked.</summary>
    public static McpServerSettings Settings(string txlogPath, string segmentSize, bool keyIndex = false, int maxSlaves = 16) =>
        McpServerSettings.Parse($"""
            mcp_listen_address = 127.0.0.1
            mcp_listen_port = 0
            mcp_authkey = '{AuthKey}'
            mcp_max_slaves = {maxSlaves}
            mcp_txlog_path = '{txlogPath}'
            mcp_segment_size = {segmentSize}
            mcp_queue_min_size = 4GB
            mcp_queue_max_size = 8GB
            mcp_echo_timeout = 1h
            mcp_key_index = {(keyIndex ? "on" : "off")}
            mcp_log_level = warning
            """, "bench-mcp.conf");

    /// <summary>Warnings and errors of the MCP go to stderr (BenchmarkDotNet shows them in its log).</summary>
    public static MammothLog Log() => new(Console.Error, PgLogLevel.Warning);

    public static McpClientOptions Client(IPEndPoint mcp, NodeRole role, short slaveNo = -1) => new()
    {
        Host = mcp.Address.ToString(),
        Port = mcp.Port,
        AuthKey = AuthKey,
        Role = role,
        SlaveNo = slaveNo,
        SystemId = 42,
        Name = role == NodeRole.Master ? "bench-master" : $"bench-slave-{slaveNo}",
    };

    /// <summary>
    /// <paramref name="count"/> DATA records of exactly <see cref="RecordSize"/> bytes, back to back; record i
    /// (from 0) is row i + 1 with commit LSN i + 1, so the MCP's dedup rule keeps every one of them.
    /// </summary>
    public static byte[] Records(int count)
    {
        var all = new byte[(long)count * RecordSize];
        using var w = new SyntheticWorkload(RecordSize, tables: 1);
        for (int i = 0; i < count; i++)
            w.DataRecord(i + 1, (ulong)(i + 1)).CopyTo(all.AsSpan(i * RecordSize, RecordSize));
        return all;
    }
}
