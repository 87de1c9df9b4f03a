using System.Text.Json;
using Mammoth.Nodes.Slave;
using Mammoth.Slave.Tests.Support;

namespace Mammoth.Slave.Tests;

/// <summary>slave_stat as a process, on status files written as the agent writes them.</summary>
public sealed class SlaveStatTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mammoth-slave-stat-" + Guid.NewGuid().ToString("N")[..8]);

    public SlaveStatTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SlaveAgentStatus Sample() => new()
    {
        SlaveNo = 3,
        State = "halted",
        AgentPid = 999_999_999, // no such process
        UpdatedAt = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc),
        Connected = false,
        RecordsReceived = 1234,
        RecordsRestored = 1200,
        ReceivedSinceStart = 34,
        RestoredSinceStart = 0,
        McpLastRecno = 1300,
        LagRecords = 100,
        LagSeconds = 12.5,
        Halted = true,
        HaltedRecno = 1201,
        HaltedError = "record 1201: table public.foo has no column bar on this slave",
        LastAppliedCommitTime = new DateTime(2026, 1, 2, 3, 3, 52, DateTimeKind.Utc),
    };

    [Fact]
    public async Task Prints_the_guides_two_lines_first_then_the_rest()
    {
        Sample().WriteTo(_dir);
        var (code, stdout, stderr) = await Tool.RunAsync("slave_stat", _dir);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal($"""
            records received: 1234
            records restored: 1200

            slave 3: halted (not connected to the MCP)
            last received record: 1234  (34 since the agent started)
            last applied record:  1200  (0 since the agent started, 0 rows), committed on the master 2026-01-02 03:03:52.000 UTC
            lag: 100 records, 12.5 s (the MCP's last known record is 1300)
            HALTED at record 1201: record 1201: table public.foo has no column bar on this slave
              (the agent retries by itself; fix the cause on the slave and it resumes)
            agent: not running; status as of 2026-01-02 03:04:05.000 UTC

            """.Replace("\r", ""), stdout);
    }

    [Fact]
    public async Task Json_and_node_conf_give_the_same_figures()
    {
        Sample().WriteTo(_dir);
        string conf = Path.Combine(_dir, "node.conf");
        await File.WriteAllTextAsync(conf, $"""
            replication_enable = on
            replication_mode = slave
            replication_slave_no = 3
            replication_database = 'app'
            replication_mcp_address = '127.0.0.1'
            replication_mcp_authkey = 'k'
            replication_data_path = '{_dir}'
            """);
        var (code, stdout, _) = await Tool.RunAsync("slave_stat", "-c", conf, "--json");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        Assert.Equal(1234, doc.RootElement.GetProperty("records_received").GetInt64());
        Assert.Equal(1200, doc.RootElement.GetProperty("records_restored").GetInt64());
        Assert.True(doc.RootElement.GetProperty("halted").GetBoolean());
        (code, stdout, _) = await Tool.RunAsync("slave_stat", Path.Combine(_dir, SlaveAgentStatus.FileName));
        Assert.Equal(0, code);
        Assert.StartsWith("records received: 1234\n", stdout);
    }

    [Fact]
    public async Task A_missing_or_empty_path_is_one_sentence_and_exit_code_2()
    {
        var (code, stdout, stderr) = await Tool.RunAsync("slave_stat");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("slave_stat: give the path of the slave replication log (replication_data_path) or -c node.conf; usage: slave_stat PATH\n", stderr);

        (code, _, stderr) = await Tool.RunAsync("slave_stat", "");
        Assert.Equal(2, code);
        Assert.StartsWith("slave_stat: give the path", stderr);

        (code, _, stderr) = await Tool.RunAsync("slave_stat", Path.Combine(_dir, "nope"));
        Assert.Equal(2, code);
        Assert.Equal($"slave_stat: {Path.Combine(_dir, "nope")} does not exist; give the slave's replication_data_path (or -c node.conf)\n", stderr);

        (code, _, stderr) = await Tool.RunAsync("slave_stat", _dir);
        Assert.Equal(2, code);
        Assert.Equal($"slave_stat: no slave status in {_dir}: the slave agent has not run with replication_data_path = '{_dir}'\n", stderr);

        await File.WriteAllTextAsync(Path.Combine(_dir, SlaveAgentStatus.FileName), "");
        (code, _, stderr) = await Tool.RunAsync("slave_stat", _dir);
        Assert.Equal(2, code);
        Assert.EndsWith("is empty; the slave agent writes it once it runs\n", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));

        (code, stdout, _) = await Tool.RunAsync("slave_stat", "--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage: slave_stat PATH [--json]", stdout);
    }
}
