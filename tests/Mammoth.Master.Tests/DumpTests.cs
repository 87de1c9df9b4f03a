using System.Buffers.Binary;
using Mammoth.Log.Records;
using Mammoth.Testing;
using Xunit.Abstractions;
using static Mammoth.Master.Tests.Records;

namespace Mammoth.Master.Tests;

/// <summary>
/// Table dumps on enable (docs/dumps.md): the records a slave receives, replayed in order — a dump truncates
/// and loads, data changes apply by key — must give exactly the master's table, while writes go on.
/// </summary>
[Collection("master")]
public sealed class DumpTests(PgServerFixture pg, ITestOutputHelper output)
{
    /// <summary>One reader COPYing the whole table; three readers COPYing block ranges of it side by side.</summary>
    [Theory]
    [InlineData(1, 32L << 20)]
    [InlineData(3, 64L << 10)]
    public async Task Enabling_a_table_with_rows_under_writes_dumps_it_at_its_exact_place_in_the_stream(int workers, long splitBytes)
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            """
            CREATE TABLE t (id int8 PRIMARY KEY, v text, n numeric);
            INSERT INTO t SELECT g, md5(g::text), g / 3.0 FROM generate_series(1, 30000) g;
            CREATE TABLE marker (id int PRIMARY KEY);
            """,
            ["SELECT mammoth.enable_replication('marker', NULL)"], MasterTestBed.TestOptions(workers, splitBytes));
        RawSlave slave = await bed.SlaveAsync(0);
        uint t = await bed.OidAsync("t");
        uint marker = await bed.OidAsync("marker");

        // Writers on t before, during and after the enable (and the dump).
        using var stop = new CancellationTokenSource();
        long written = 0;
        async Task WriterAsync(int seed)
        {
            var rnd = new Random(seed);
            await using var c = await bed.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                long id = rnd.Next(1, 40000);
                string sql = rnd.Next(4) switch
                {
                    0 => $"INSERT INTO t VALUES ({id}, 'w{seed}', {rnd.Next()}) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, n = EXCLUDED.n",
                    1 => $"DELETE FROM t WHERE id = {id}",
                    2 => $"UPDATE t SET id = {40000 + seed * 100000 + Interlocked.Increment(ref written)} WHERE id = {id}",
                    _ => $"UPDATE t SET n = n + 1 WHERE id BETWEEN {id} AND {id + 20}",
                };
                await using var cmd = new Npgsql.NpgsqlCommand(sql, c);
                await cmd.ExecuteNonQueryAsync();
                Interlocked.Increment(ref written);
            }
        }
        Task[] writers = [WriterAsync(1), WriterAsync(2)];
        await Task.Delay(300);
        await bed.ExecAsync("SELECT mammoth.enable_replication('t', NULL)");
        List<Rec> seen = await slave.WaitAsync(rs => rs.Any(r => r.Kind == RecordKind.TableDumpEnd), "the dump of t", TimeSpan.FromSeconds(90), bed.Context);
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        await bed.ExecAsync("INSERT INTO marker VALUES (1)");
        List<Rec> all = await slave.WaitAsync(rs => rs.Any(r => r.Sections.Any(s => s.TableId == marker && s.Op == ChangeOp.Insert)),
            "the marker row", TimeSpan.FromSeconds(60), bed.Context);

        // Replay t's records in recno order.
        var rows = new Dictionary<long, byte[]>();
        int dumps = 0, dumpRows = 0, changesAfterDump = 0;
        bool inDump = false;
        foreach (Rec r in all)
        {
            foreach (Sec s in r.Sections.Where(s => s.TableId == t))
            {
                switch (r.Kind, s.Op)
                {
                    case (RecordKind.TableDumpBegin, ChangeOp.Truncate):
                        rows.Clear();
                        inDump = true;
                        dumps++;
                        Assert.True(r.Continued, "TABLE_DUMP_BEGIN is Continued");
                        break;
                    case (RecordKind.TableDumpChunk, ChangeOp.Insert):
                        Assert.True(inDump && r.Continued);
                        foreach (byte[] row in s.Rows)
                            rows.Add(Key(row), row);
                        dumpRows += s.Rows.Count;
                        break;
                    case (RecordKind.TableDumpEnd, _):
                        Assert.True(inDump && !r.Continued);
                        Assert.Equal(rows.Count, s.TotalRows);
                        inDump = false;
                        break;
                    case (RecordKind.Data, ChangeOp.Insert) or (RecordKind.Data, ChangeOp.Update):
                        Assert.False(inDump, "a data record inside a dump");
                        foreach (byte[] row in s.Rows)
                            rows[Key(row)] = row;
                        changesAfterDump += dumps;
                        break;
                    case (RecordKind.Data, ChangeOp.UpdateKey):
                        foreach (byte[] row in s.Rows)
                        {
                            List<byte[]?> f = Fields(row);
                            rows.Remove(BinaryPrimitives.ReadInt64BigEndian(f[0]));
                            rows[BinaryPrimitives.ReadInt64BigEndian(f[1])] = Tuple(f.Skip(1).ToList());
                        }
                        break;
                    case (RecordKind.Data, ChangeOp.Delete):
                        foreach (byte[] row in s.Rows)
                            rows.Remove(Key(row));
                        break;
                    default:
                        Assert.Fail($"unexpected {r.Kind} {s.Op} for t in {r}");
                        break;
                }
            }
        }
        Assert.Equal(1, dumps);
        Assert.False(inDump);

        byte[] master = await bed.CopyTuplesAsync("SELECT id, v, n FROM t ORDER BY id");
        var want = new Dictionary<long, byte[]>();
        foreach (byte[] row in SplitTuples(master))
            want.Add(Key(row), row);
        output.WriteLine($"{Interlocked.Read(ref written)} statements by the writers; dump of {dumpRows} rows; {changesAfterDump} changes after it; master has {want.Count} rows");
        Assert.True(changesAfterDump > 0, "the writers changed nothing after the dump: the test proves nothing");
        Assert.Equal(want.Count, rows.Count);
        foreach ((long id, byte[] row) in want)
        {
            Assert.True(rows.TryGetValue(id, out byte[]? got), $"row {id} missing from the replay");
            Assert.Equal(row, got);
        }
        Assert.Contains(workers == 1 ? "dumped public.t" : $"dumped public.t: {dumpRows} rows", bed.AgentLog());
        if (workers > 1)
            Assert.Contains($"in {workers} block ranges", bed.AgentLog());
        Assert.Equal(0L, await bed.ScalarAsync<long>("SELECT count(*) FROM mammoth.table_dumps"));
    }

    [Fact]
    public async Task Enabling_an_empty_table_dumps_nothing()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg, "CREATE TABLE e (id int PRIMARY KEY)", []);
        RawSlave slave = await bed.SlaveAsync(0);
        uint e = await bed.OidAsync("e");
        await bed.ExecAsync("SELECT mammoth.enable_replication('e', NULL)");
        Assert.Equal(0L, await bed.ScalarAsync<long>("SELECT count(*) FROM mammoth.table_dumps"));
        await bed.ExecAsync("INSERT INTO e VALUES (7)");
        List<Rec> all = await bed.WaitForRowAsync(slave, e, 7);
        Assert.DoesNotContain(all, r => r.Kind is RecordKind.TableDumpBegin or RecordKind.TableDumpChunk or RecordKind.TableDumpEnd);
    }

    [Fact]
    public async Task A_dump_of_a_table_disabled_before_it_was_taken_ships_nothing_and_later_dumps_go_on()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE gone (id int PRIMARY KEY); INSERT INTO gone VALUES (1), (2); CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (5);",
            ["SELECT mammoth.enable_replication('gone', NULL)", "SELECT mammoth.disable_replication('gone')"], startAgent: false);
        Assert.Equal(1L, await bed.ScalarAsync<long>("SELECT count(*) FROM mammoth.table_dumps"));
        bed.StartAgent();
        RawSlave slave = await bed.SlaveAsync(0);
        await SettingsTests.WaitUntilAsync(async () => await bed.ScalarAsync<long>("SELECT count(*) FROM mammoth.table_dumps") == 0,
            "the request for the disabled table to be dropped", bed);

        // The coordinator is not stuck waiting for a record it never shipped: the next dump happens.
        uint kept = await bed.OidAsync("kept");
        await bed.ExecAsync("SELECT mammoth.enable_replication('kept', NULL)");
        List<Rec> all = await slave.WaitAsync(rs => rs.Any(r => r.Kind == RecordKind.TableDumpEnd && r.Sections.Any(s => s.TableId == kept)),
            "the dump of kept", TimeSpan.FromSeconds(60), bed.Context);
        uint gone = await bed.OidAsync("gone");
        Assert.DoesNotContain(all, r => r.Kind is RecordKind.TableDumpBegin or RecordKind.TableDumpChunk && r.Sections.Any(s => s.TableId == gone));
        await SettingsTests.WaitUntilAsync(async () => await bed.ScalarAsync<long>("SELECT count(*) FROM mammoth.table_dumps") == 0,
            "the request for kept to be done", bed);
    }

    /// <summary>
    /// The MCP link lost while a dump is being shipped (an MCP crash, a network failure) ends the session like any
    /// other failure: the agent reconnects and takes the dump again (its request is still in mammoth.table_dumps).
    /// The dump's snapshot connection is closed only once the capture loop has stopped copying from it: closing
    /// it under the COPY hung the session for good (no reconnect, no dump; seen when the integration test
    /// SIGKILLed the MCP mid-dump). The agent is a process, so that a hung one is killed at the end.
    /// </summary>
    [Fact]
    public async Task Losing_the_MCP_link_while_a_dump_is_shipped_ends_the_session_and_the_dump_is_taken_again()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE big (id int8 PRIMARY KEY, v text NOT NULL); INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 200000) g;",
            [], startAgent: false);
        RawSlave slave = await bed.SlaveAsync(0);
        var proxy = new HoldingProxy(bed.Mcp.Port);
        int port = proxy.Port;
        bed.AgentMcpPort = port;
        string conf = Path.Combine(bed.Directory, "node.conf");
        await File.WriteAllTextAsync(conf, bed.NodeConf());
        using var agent = new AgentProcess(conf, bed.AgentLogPath);
        agent.Start();
        await SettingsTests.WaitUntilAsync(() => Task.FromResult(bed.AgentLog().Contains("connected to the MCP", StringComparison.Ordinal)),
            "the agent to connect", bed, TimeSpan.FromSeconds(60));

        // Nothing more reaches the MCP: the agent ships until the socket buffers are full and waits there, mid-dump.
        proxy.Hold();
        await bed.ExecAsync("SELECT mammoth.enable_replication('big', NULL)");
        await SettingsTests.WaitUntilAsync(() => Task.FromResult(bed.AgentLog().Contains("dumping public.big", StringComparison.Ordinal)),
            "the dump to start", bed, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        Assert.DoesNotContain("dumped public.big", bed.AgentLog(), StringComparison.Ordinal);

        await proxy.DisposeAsync(); // the link breaks under the dump
        await SettingsTests.WaitUntilAsync(() => Task.FromResult(bed.AgentLog().Contains("master capture stopped", StringComparison.Ordinal)),
            "the session to end after the MCP link broke mid-dump", bed, TimeSpan.FromSeconds(30));

        // The MCP is reachable again on the port the agent knows: the dump is taken again, all of it.
        await using var again = new HoldingProxy(bed.Mcp.Port, port);
        uint big = await bed.OidAsync("big");
        List<Rec> all = await slave.WaitAsync(rs => rs.Any(r => r.Kind == RecordKind.TableDumpEnd && r.Sections.Any(s => s.TableId == big)),
            "the dump of big taken again", TimeSpan.FromSeconds(90), bed.Context);
        Assert.Equal(200000, all.Last(r => r.Kind == RecordKind.TableDumpEnd).Sections.Single(s => s.TableId == big).TotalRows);
        await SettingsTests.WaitUntilAsync(async () => await bed.ScalarAsync<long>("SELECT count(*) FROM mammoth.table_dumps") == 0,
            "the dump request to be done", bed, TimeSpan.FromSeconds(30));
    }

    private static long Key(byte[] tuple) => BinaryPrimitives.ReadInt64BigEndian(Fields(tuple)[0]);

    private static byte[] Tuple(List<byte[]?> fields)
    {
        using var ms = new MemoryStream();
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(b, (short)fields.Count);
        ms.Write(b[..2]);
        foreach (byte[]? f in fields)
        {
            BinaryPrimitives.WriteInt32BigEndian(b, f?.Length ?? -1);
            ms.Write(b);
            if (f is not null)
                ms.Write(f);
        }
        return ms.ToArray();
    }

    private static IEnumerable<byte[]> SplitTuples(byte[] tuples)
    {
        int o = 0;
        while (o < tuples.Length)
        {
            int start = o;
            short n = BinaryPrimitives.ReadInt16BigEndian(tuples.AsSpan(o));
            o += 2;
            for (int i = 0; i < n; i++)
            {
                int len = BinaryPrimitives.ReadInt32BigEndian(tuples.AsSpan(o));
                o += 4 + Math.Max(0, len);
            }
            yield return tuples[start..o];
        }
    }
}
