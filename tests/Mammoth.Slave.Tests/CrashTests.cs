using System.Diagnostics;
using Mammoth.Log.Records;
using Mammoth.Slave.Tests.Support;
using Mammoth.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Mammoth.Slave.Tests;

/// <summary>
/// The real agent (mammoth-node with a node.conf, as a child process) is killed with SIGKILL again and again
/// while it applies; after every kill the slave must be exactly the state after its applied record, and at the
/// end equal to the master — a record applied twice or lost would show.
/// </summary>
public sealed class CrashTests(PgServerFixture fx, ITestOutputHelper output) : IClassFixture<PgServerFixture>
{
    private const int Accounts = 200;

    [Fact]
    public async Task Sigkill_of_the_agent_mid_stream_applies_every_record_exactly_once()
    {
        Pair p = await Pair.CreateAsync(fx, "crash", "CREATE TABLE acct (id int PRIMARY KEY, balance bigint NOT NULL)");
        // Slave only: a column counting how often each row was written by the agent. An ALWAYS trigger fires
        // under session_replication_role = replica, so every applied INSERT or UPDATE of a row counts.
        await p.SlaveExecAsync("""
            ALTER TABLE acct ADD COLUMN applied int NOT NULL DEFAULT 0;
            CREATE FUNCTION count_applied() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.applied := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE OLD.applied + 1 END; RETURN NEW; END $$;
            CREATE TRIGGER count_applied BEFORE INSERT OR UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION count_applied();
            ALTER TABLE acct ENABLE ALWAYS TRIGGER count_applied;
            """);
        await p.MasterAsync($"INSERT INTO acct SELECT g, 0 FROM generate_series(1, {Accounts}) g");
        RelationInfo acct = await p.RelationAsync("acct");

        await using TestMcp mcp = await TestMcp.StartAsync();
        using var f = new RecordFactory();
        var model = new Model();
        await mcp.SendAsync(f.Relation(acct), f.Data(b => b.Add(acct, ChangeOp.Insert, p.RowsAsync("SELECT * FROM acct").Result)));
        model.Record(2, [], continued: false);

        string dir = mcp.DataPath();
        Directory.CreateDirectory(dir);
        string conf = Path.Combine(dir, "node.conf");
        await File.WriteAllTextAsync(conf, mcp.NodeConf(p.Slave));
        string log = Path.Combine(dir, "node.log");

        var rnd = new Random(20260101);
        long applied = 0;
        int kills = 0, midStream = 0;
        for (int wave = 0; wave < 6; wave++)
        {
            await SendWaveAsync(mcp, f, acct, model, rnd, 4000);
            using Process agent = StartAgent(conf, log);
            try
            {
                // Let it get into the wave, then kill it at a random moment.
                long before = applied;
                await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() > before, $"progress in wave {wave}", TimeSpan.FromSeconds(60), () => TestMcp.ReadShared(log));
                await Task.Delay(rnd.Next(0, 200));
            }
            finally
            {
                agent.Kill(); // SIGKILL
                await agent.WaitForExitAsync();
            }
            kills++;
            // A COMMIT the agent sent just before it died may still land: read the progress and the rows in
            // one snapshot, and check that they agree.
            applied = await model.AssertSlaveConsistentAsync(p.Slave);
            Assert.False(model.IsContinued(applied), $"record {applied} continues in the next record, but was committed on its own");
            Assert.True(mcp.SlaveState(0).AckRecno <= applied, $"the MCP has an ack {mcp.SlaveState(0).AckRecno} beyond the applied record {applied}");
            output.WriteLine($"wave {wave}: killed at applied record {applied} of {model.Last}");
            if (applied < model.Last)
                midStream++;
        }

        using (Process agent = StartAgent(conf, log))
        {
            await Wait.UntilAsync(async () => await p.AppliedRecnoAsync() == model.Last, "the last record", TimeSpan.FromSeconds(120), () => TestMcp.ReadShared(log));
            await Posix.TerminateAsync(agent);
        }
        Assert.Equal(model.Last, await model.AssertSlaveConsistentAsync(p.Slave));
        await model.WriteMasterAsync(p.Master);
        await PgTables.AssertTablesEqualAsync(p.Master, p.Slave, "(SELECT id, balance FROM acct)", "id");
        Assert.Equal(6, kills);
        Assert.True(midStream >= 3, $"only {midStream} of the kills hit the agent while it had records to apply");
        Assert.Contains("mammoth-node stopped", TestMcp.ReadShared(log));
    }

    private static async Task SendWaveAsync(TestMcp mcp, RecordFactory f, RelationInfo acct, Model model, Random rnd, int transactions)
    {
        var batch = new List<byte[]>();
        for (int t = 0; t < transactions; t++)
        {
            // A master transaction adds 1 to the balance of a few accounts; one in ten is split into two records.
            int[] ids = [.. Enumerable.Range(0, rnd.Next(1, 12)).Select(_ => rnd.Next(1, Accounts + 1)).Distinct()];
            int split = rnd.Next(10) == 0 && ids.Length > 1 ? ids.Length / 2 : ids.Length;
            int[][] parts = split == ids.Length ? [ids] : [ids[..split], ids[split..]];
            for (int i = 0; i < parts.Length; i++)
            {
                bool continued = i < parts.Length - 1;
                byte[][] rows = [.. parts[i].Select(id => Sections.Tuple(id, model.Balance(id) + 1))];
                batch.Add(f.Data(b => b.Add(acct, ChangeOp.Update, Sections.Rows(rows)), continued));
                model.Record(f.Recno, parts[i], continued);
            }
            if (batch.Count >= 300)
            {
                await mcp.SendAsync([.. batch]);
                batch.Clear();
            }
        }
        if (batch.Count > 0)
            await mcp.SendAsync([.. batch]);
    }

    private static Process StartAgent(string conf, string log)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mammoth-node.dll"));
        foreach (string a in new[] { "-c", conf, "-l", log })
            psi.ArgumentList.Add(a);
        Process p = Process.Start(psi)!;
        p.StandardOutput.ReadToEndAsync();
        p.StandardError.ReadToEndAsync();
        return p;
    }

    /// <summary>What the master did, record by record: the slave after record R must be exactly this after R.</summary>
    private sealed class Model
    {
        private readonly List<(long Recno, int[] Ids, bool Continued)> _records = [];
        private readonly long[] _balance = new long[Accounts + 1];

        public long Last => _records.Count == 0 ? 0 : _records[^1].Recno;

        public long Balance(int id) => _balance[id];

        public void Record(long recno, int[] ids, bool continued)
        {
            _records.Add((recno, ids, continued));
            foreach (int id in ids)
                _balance[id]++;
        }

        public bool IsContinued(long recno) => _records.Any(r => r.Recno == recno && r.Continued);

        /// <summary>Reads mammoth.slave_progress and the rows in one snapshot; asserts the rows are the state after that record; returns it.</summary>
        public async Task<long> AssertSlaveConsistentAsync(string slave)
        {
            long recno;
            await using var c = new NpgsqlConnection(slave);
            await c.OpenAsync();
            // One snapshot for the progress and the rows (a COMMIT sent just before the kill may still land).
            await using var tx = await c.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
            await using (var progress = new NpgsqlCommand("SELECT applied_recno FROM mammoth.slave_progress", c, tx))
                recno = (long)(await progress.ExecuteScalarAsync())!;
            var expected = new long[Accounts + 1];
            foreach (var r in _records.Where(r => r.Recno <= recno))
            {
                foreach (int id in r.Ids)
                    expected[id]++;
            }
            await using var cmd = new NpgsqlCommand("SELECT id, balance, applied FROM acct ORDER BY id", c, tx);
            await using var rd = await cmd.ExecuteReaderAsync();
            int n = 0;
            while (await rd.ReadAsync())
            {
                int rowId = rd.GetInt32(0);
                n++;
                Assert.True(expected[rowId] == rd.GetInt64(1), $"after record {recno}: account {rowId} has balance {rd.GetInt64(1)}, expected {expected[rowId]}");
                // 1 for the INSERT, 1 per UPDATE: more would mean a record applied twice.
                Assert.True(expected[rowId] + 1 == rd.GetInt32(2), $"after record {recno}: account {rowId} was written {rd.GetInt32(2)} times, expected {expected[rowId] + 1}");
            }
            // Record 1 is the RELATION, record 2 inserts every account: a kill between them leaves no rows.
            Assert.Equal(recno >= 2 ? Accounts : 0, n);
            return recno;
        }

        public async Task WriteMasterAsync(string master)
        {
            string values = string.Join(", ", Enumerable.Range(1, Accounts).Select(id => $"({id}, {_balance[id]})"));
            await Pair.ExecAsync(master, $"UPDATE acct SET balance = v.b FROM (VALUES {values}) AS v(id, b) WHERE acct.id = v.id");
        }
    }
}
