using Mammoth.Log.Records;
using Mammoth.Net.Hub;
using Mammoth.Nodes.Catalog;
using Mammoth.Nodes.Clusters;
using Npgsql;
using NpgsqlTypes;
using Xunit.Abstractions;
using static Mammoth.Master.Tests.Records;

namespace Mammoth.Master.Tests;

/// <summary>The agent process SIGKILLed mid-workload and restarted, again and again.</summary>
[Collection("master")]
public sealed class CrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_killed_and_restarted_agent_ships_every_transaction_exactly_once_in_commit_order()
    {
        string dir = Directory.CreateTempSubdirectory("mammoth-master-crash-").FullName;
        await using LocalCluster cluster = await LocalCluster.StartAsync(new LocalClusterOptions
        {
            Name = "mastercrash",
            Settings = new Dictionary<string, string> { ["synchronous_commit"] = "on" },
        });
        await cluster.CreateDatabaseAsync("app");
        string cs = new NpgsqlConnectionStringBuilder(cluster.ConnectionString("app")) { Pooling = false }.ConnectionString;
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            await CatalogInstaller.InstallAsync(c);
            await Exec(c, "CREATE TABLE w (id bigint PRIMARY KEY, tx int NOT NULL, v text)");
            await Exec(c, "SELECT mammoth.enable_replication('w', NULL)");
        }
        uint w;
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT 'w'::regclass::oid", c);
            w = (uint)(await cmd.ExecuteScalarAsync())!;
        }
        await using TestMcp mcp = await TestMcp.StartAsync(dir);
        await using RawSlave slave = await RawSlave.StartAsync(mcp, 0);
        string conf = Path.Combine(dir, "node.conf");
        await File.WriteAllTextAsync(conf, $"""
            replication_enable = on
            replication_mode = master
            replication_mcp_address = '127.0.0.1'
            replication_mcp_port = {mcp.Port}
            replication_mcp_authkey = '{TestMcp.AuthKey}'
            replication_data_path = '{dir}'
            replication_conninfo = '{cluster.ConnInfo("app")}'
            replication_log_level = debug1
            """);
        using var agent = new AgentProcess(conf, Path.Combine(dir, "agent.log"));
        agent.Start();

        using var stop = new CancellationTokenSource();
        int lastTx = 0;
        Task writer = Task.Run(async () =>
        {
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            for (int tx = 1; !stop.IsCancellationRequested; tx++)
            {
                int rows = tx % 25 == 0 ? 300 : 1;
                await Exec(c, $"INSERT INTO w SELECT {tx}::bigint * 1000 + g, {tx}, md5(g::text) FROM generate_series(0, {rows - 1}) AS g");
                Volatile.Write(ref lastTx, tx);
            }
        });
        // Samples of (slot confirmed_flush_lsn, then the last record the MCP's txlog holds).
        var samples = new List<(ulong Confirmed, long LastRecno)>();
        Task sampler = Task.Run(async () =>
        {
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                await using var cmd = new NpgsqlCommand("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'mammoth'", c);
                ulong confirmed = (ulong)(NpgsqlLogSequenceNumber)(await cmd.ExecuteScalarAsync())!;
                try
                {
                    long last = McpStatusReport.Read(mcp.TxlogPath).LastRecno;
                    lock (samples)
                        samples.Add((confirmed, last));
                }
                catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
                {
                    // the txlog was between states; skip this sample
                }
                await Task.Delay(100);
            }
        });

        var random = new Random(12345);
        for (int kill = 0; kill < 4; kill++)
        {
            // Kill while it streams: after this start's "connected" line, at a random moment.
            DateTime until = DateTime.UtcNow.AddSeconds(60);
            while (Connected(agent.ReadLog()) < agent.Starts && DateTime.UtcNow < until)
                await Task.Delay(50);
            await Task.Delay(random.Next(300, 2500));
            agent.Kill();
            output.WriteLine($"killed the agent after transaction {Volatile.Read(ref lastTx)}");
            await Task.Delay(random.Next(200, 900));
            agent.Start();
        }
        await Task.Delay(2000);
        await stop.CancelAsync();
        await writer;
        await sampler;
        int n = Volatile.Read(ref lastTx);
        output.WriteLine($"{n} transactions written; {samples.Count} samples");

        List<Rec> all = await slave.WaitAsync(rs => rs.Any(r => r.Sections.Any(s => s.TableId == w && s.Rows.Any(row => Int8(Fields(row)[0]) == (long)n * 1000))),
            $"transaction {n}", TimeSpan.FromMinutes(3), () => agent.ReadLog()[^Math.Min(6000, agent.ReadLog().Length)..]);
        agent.Kill();

        // Stored exactly once: no (commit LSN, seq) twice, and commit LSNs never go back.
        List<Rec> mine = all.Where(r => r.CommitLsn != 0).ToList();
        Assert.Equal(mine.Count, mine.Select(r => (r.CommitLsn, r.Seq)).Distinct().Count());
        for (int i = 1; i < mine.Count; i++)
        {
            Assert.True(mine[i].CommitLsn > mine[i - 1].CommitLsn || (mine[i].CommitLsn == mine[i - 1].CommitLsn && mine[i].Seq > mine[i - 1].Seq),
                $"record {mine[i]} after {mine[i - 1]}");
        }
        // Every transaction, whole, in commit order.
        var txs = new List<(int Tx, int Rows)>();
        foreach (IGrouping<ulong, Rec> group in mine.Where(r => r.Kind == RecordKind.Data).GroupBy(r => r.CommitLsn))
        {
            List<long> ids = group.SelectMany(r => r.Sections).Where(s => s.TableId == w).SelectMany(s => s.Rows).Select(row => Int8(Fields(row)[0])).ToList();
            if (ids.Count == 0)
                continue;
            int tx = (int)(ids[0] / 1000);
            Assert.Equal(Enumerable.Range(0, ids.Count).Select(k => (long)tx * 1000 + k), ids);
            txs.Add((tx, ids.Count));
        }
        Assert.Equal(Enumerable.Range(1, n), txs.Select(t => t.Tx));
        Assert.All(txs, t => Assert.Equal(t.Tx % 25 == 0 ? 300 : 1, t.Rows));

        // The slot never passed what the MCP had stored: every record of a commit before the confirmed
        // position was already in the txlog when the position was read.
        Assert.True(samples.Count > 20);
        foreach ((ulong confirmed, long last) in samples)
        {
            Rec? missing = mine.FirstOrDefault(r => r.CommitLsn < confirmed && r.Recno > last);
            Assert.True(missing is null, $"slot confirmed at {PgTime.FormatLsn(confirmed)} while {missing} was not stored (txlog ended at {last})");
        }
        Assert.True(agent.Starts == 5);
        // The kills left records stored but not confirmed: re-streamed, and not sent twice.
        string log = agent.ReadLog();
        int resends = log.Split('\n').Count(l => l.Contains("re-streamed records the MCP already stored", StringComparison.Ordinal));
        output.WriteLine($"sessions that skipped re-streamed records: {resends}");
        foreach (string line in log.Split('\n').Where(l => !l.Contains("DEBUG", StringComparison.Ordinal)))
            output.WriteLine(line);
        Assert.True(resends >= 1, "no restart re-streamed anything the MCP had; the test did not exercise dedup");
        try
        {
            if (Environment.GetEnvironmentVariable("MAMMOTH_TEST_KEEP_DIRS") != "1")
                Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int Connected(string log) =>
        log.Split('\n').Count(l => l.Contains("connected to the MCP at", StringComparison.Ordinal));

    private static async Task Exec(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }
}
