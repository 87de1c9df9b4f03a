using Mammoth.Log.Records;
using Mammoth.Nodes.Master;
using Mammoth.Testing;
using Npgsql;
using static Mammoth.Master.Tests.Records;

namespace Mammoth.Master.Tests;

/// <summary>What the master agent makes of each kind of change: sections, masks, layouts, record identity.</summary>
[Collection("master")]
public sealed class CaptureTests(PgServerFixture pg)
{
    [Fact]
    public async Task Every_kind_of_change_becomes_its_section_in_order()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE t (id int PRIMARY KEY, a text, big text); ALTER TABLE t ALTER big SET STORAGE EXTERNAL;",
            ["SELECT mammoth.enable_replication('t', NULL)"]);
        RawSlave slave = await bed.SlaveAsync(0);
        uint t = await bed.OidAsync("t");
        string big = string.Concat(Enumerable.Range(0, 100_000 / 32).Select(_ => Guid.NewGuid().ToString("N")));

        await bed.ExecAsync($"INSERT INTO t VALUES (1, 'a', '{big}'), (2, 'b', NULL)");                  // A
        await bed.ExecAsync("UPDATE t SET a = 'a2' WHERE id = 1");                                       // B: big unchanged, TOASTed
        await bed.ExecAsync("UPDATE t SET id = 10 WHERE id = 1");                                        // C: key change
        await bed.ExecAsync("UPDATE t SET big = 'x' WHERE id = 2");                                      // D
        await bed.ExecAsync("BEGIN; INSERT INTO t VALUES (3, 'c', NULL); UPDATE t SET a = 'c2' WHERE id = 3; INSERT INTO t VALUES (4, 'd', NULL); COMMIT"); // E
        await bed.ExecAsync("DELETE FROM t WHERE id = 2");                                               // F
        await bed.ExecAsync("TRUNCATE t RESTART IDENTITY CASCADE");                                      // G
        await bed.ExecAsync("INSERT INTO t VALUES (99, 'end', NULL)");                                   // H
        List<Rec> all = await bed.WaitForRowAsync(slave, t, 99);

        // The enable's own settings row came first (its transaction created the slot before writing, so it was decoded).
        all = all.Where(r => r.Relations.Any(x => x.TableId == t) || r.Sections.Any(s => s.TableId == t)).ToList();
        // One RELATION record, first, for table t: the later RELATION messages (around TRUNCATE) did not change it.
        List<Rec> relations = all.Where(r => r.Kind == RecordKind.Relation).ToList();
        Assert.Single(relations);
        Assert.Equal(RecordKind.Relation, all[0].Kind);
        RelationInfo rel = Assert.Single(relations[0].Relations);
        Assert.Equal((t, "public", "t"), (rel.TableId, rel.Schema, rel.Name));
        Assert.Equal(["id", "a", "big"], rel.Columns.Select(c => c.Name));
        Assert.Equal([true, false, false], rel.Columns.Select(c => c.IsKey));
        Assert.Equal(["integer", "text", "text"], rel.Columns.Select(c => c.TypeName));
        Assert.Equal([23u, 25u, 25u], rel.Columns.Select(c => c.TypeOid));

        List<Rec> data = all.Where(r => r.Kind == RecordKind.Data).ToList();
        Assert.Equal(8, data.Count);
        Assert.All(data, r => Assert.False(r.Continued));
        Assert.Equal(relations[0].CommitLsn, data[0].CommitLsn);
        Assert.Equal((0u, 1u), (relations[0].Seq, data[0].Seq));
        Assert.All(data, r => Assert.Equal(1u, r.Seq));
        for (int i = 1; i < data.Count; i++)
            Assert.True(data[i].CommitLsn > data[i - 1].CommitLsn, "commit LSNs must increase");
        Assert.All(data, r => Assert.NotEqual(0u, r.Xid));
        Assert.All(data, r => Assert.InRange(PgTime.ToDateTime(r.CommitTime), DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1)));

        // A: two inserts, all columns.
        Sec a = Assert.Single(data[0].Sections);
        Assert.Equal((t, ChangeOp.Insert, 3, 2), (a.TableId, a.Op, (int)a.FieldCount, a.Rows.Count));
        Assert.Empty(a.Mask);
        Assert.True(a.Slaves.IsAll);
        Assert.Equal(big, Text(a.Fields(0)[2]));
        Assert.Null(a.Fields(1)[2]);

        // B: the unchanged TOAST column is absent from the mask and the row.
        Sec b = Assert.Single(data[1].Sections);
        Assert.Equal((ChangeOp.Update, 2), (b.Op, (int)b.FieldCount));
        Assert.True(b.Has(0) && b.Has(1) && !b.Has(2));
        Assert.Equal([1, 0], [Int4(b.Fields(0)[0]), b.Fields(0).Count - 2]);
        Assert.Equal("a2", Text(b.Fields(0)[1]));

        // C: UPDATE_KEY: old key first, then the new row's present columns (big still absent).
        Sec c = Assert.Single(data[2].Sections);
        Assert.Equal((ChangeOp.UpdateKey, 3), (c.Op, (int)c.FieldCount));
        Assert.True(c.Has(0) && c.Has(1) && !c.Has(2));
        List<byte[]?> cf = c.Fields(0);
        Assert.Equal((1, 10, "a2"), (Int4(cf[0]), Int4(cf[1]), Text(cf[2])));

        // D: every column present: empty mask.
        Sec d = Assert.Single(data[3].Sections);
        Assert.Equal((ChangeOp.Update, 3), (d.Op, (int)d.FieldCount));
        Assert.Empty(d.Mask);
        Assert.Equal("x", Text(d.Fields(0)[2]));

        // E: a new section whenever the operation changes, in statement order.
        Assert.Equal([ChangeOp.Insert, ChangeOp.Update, ChangeOp.Insert], data[4].Sections.Select(s => s.Op));
        Assert.Equal([3, 3, 4], data[4].Sections.Select(s => Int4(s.Fields(0)[0])));

        // F: DELETE carries the key columns only.
        Sec f = Assert.Single(data[5].Sections);
        Assert.Equal((ChangeOp.Delete, 1), (f.Op, (int)f.FieldCount));
        Assert.Equal(2, Int4(f.Fields(0)[0]));

        // G: TRUNCATE: no rows; the field count carries CASCADE (1) | RESTART IDENTITY (2).
        Sec g = Assert.Single(data[6].Sections);
        Assert.Equal((t, ChangeOp.Truncate, 3, 0), (g.TableId, g.Op, (int)g.FieldCount, g.Rows.Count));
    }

    [Fact]
    public async Task A_transaction_over_several_tables_is_one_record_with_its_changes_in_order()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE t1 (id int PRIMARY KEY, v text); CREATE TABLE t2 (id int PRIMARY KEY, n numeric); CREATE TABLE t3 (id int PRIMARY KEY);",
            ["SELECT mammoth.enable_replication('t1', NULL)", "SELECT mammoth.enable_replication('t2', NULL)", "SELECT mammoth.enable_replication('t3', NULL)"]);
        RawSlave slave = await bed.SlaveAsync(0);
        (uint t1, uint t2, uint t3) = (await bed.OidAsync("t1"), await bed.OidAsync("t2"), await bed.OidAsync("t3"));

        await bed.ExecAsync("""
            BEGIN;
            INSERT INTO t1 VALUES (1, 'one');
            INSERT INTO t2 VALUES (1, 1.5);
            INSERT INTO t1 VALUES (2, 'two');
            UPDATE t2 SET n = 5 WHERE id = 1;
            INSERT INTO t3 VALUES (1);
            DELETE FROM t1 WHERE id = 1;
            COMMIT;
            """);
        await bed.ExecAsync("INSERT INTO t1 VALUES (3, 'three'), (4, 'four')");
        List<Rec> all = await bed.WaitForRowAsync(slave, t1, 4);

        // The settings rows of the 2nd and 3rd enable came first (the 1st was in the slot-creating transaction).
        List<Rec> mine = all.Where(r => r.Kind == RecordKind.Relation ? r.Relations.Any(x => x.TableId == t1)
            : r.Sections.Any(s => s.TableId == t1)).ToList();
        Assert.Equal(3, mine.Count);
        Assert.Equal(RecordKind.Relation, mine[0].Kind);
        Assert.Equal([t1, t2, t3], mine[0].Relations.Select(r => r.TableId));
        Assert.Equal((mine[0].CommitLsn, 0u, 1u), (mine[1].CommitLsn, mine[0].Seq, mine[1].Seq));
        Assert.False(mine[1].Continued);
        Assert.Equal(
            [(t1, ChangeOp.Insert), (t2, ChangeOp.Insert), (t1, ChangeOp.Insert), (t2, ChangeOp.Update), (t3, ChangeOp.Insert), (t1, ChangeOp.Delete)],
            mine[1].Sections.Select(s => (s.TableId, s.Op)));
        // Second transaction: relations known, one section of two rows.
        Assert.Equal(RecordKind.Data, mine[2].Kind);
        Sec two = Assert.Single(mine[2].Sections);
        Assert.Equal([3, 4], two.Rows.Select(r => Int4(Fields(r)[0])));
    }

    [Fact]
    public async Task A_100k_row_transaction_travels_in_bounded_parts()
    {
        var options = new MasterAgentOptions
        {
            MaxRecordPayload = 256 * 1024,
            MaxInFlightBytes = 1024 * 1024,
            FrameBytes = 64 * 1024,
            ConfirmInterval = TimeSpan.FromMilliseconds(20),
            ReconnectDelay = TimeSpan.FromMilliseconds(200),
        };
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE big (id int PRIMARY KEY, v text);", ["SELECT mammoth.enable_replication('big', NULL)"], options);
        RawSlave slave = await bed.SlaveAsync(0);
        uint big = await bed.OidAsync("big");

        await bed.ExecAsync("INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 100000) AS g");
        List<Rec> all = await bed.WaitForRowAsync(slave, big, 100000, TimeSpan.FromMinutes(3));

        List<Rec> tx = all.Where(r => r.Relations.Any(x => x.TableId == big) || r.Sections.Any(s => s.TableId == big)).ToList();
        Assert.All(tx, r => Assert.Equal(tx[0].CommitLsn, r.CommitLsn));
        Assert.Equal(RecordKind.Relation, tx[0].Kind);
        List<Rec> parts = tx.Skip(1).ToList();
        Assert.True(parts.Count >= 10, $"expected at least 10 parts, got {parts.Count}");
        Assert.Equal(Enumerable.Range(0, parts.Count).Select(k => (uint)(2 * k + 1)), parts.Select(p => p.Seq));
        Assert.All(parts.SkipLast(1), p => Assert.True(p.Continued));
        Assert.False(parts[^1].Continued);
        Assert.All(parts, p => Assert.True(p.Payload.Length <= options.MaxRecordPayload, $"part of {p.Payload.Length} bytes"));
        List<int> ids = parts.SelectMany(p => p.Sections).SelectMany(s => s.Rows).Select(r => Int4(Fields(r)[0])).ToList();
        Assert.Equal(Enumerable.Range(1, 100000), ids);
        long peak = bed.Agent!.Statistics.PeakInFlightBytes;
        Assert.True(peak <= options.MaxInFlightBytes + options.MaxRecordPayload + 1024, $"in flight peaked at {peak} bytes");
    }

    [Fact]
    public async Task Awkward_values_are_byte_for_byte_what_COPY_BINARY_gives()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg, """
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
            CREATE TYPE pair AS (x integer, y numeric, m mood);
            CREATE TABLE aw (id int PRIMARY KEY, n numeric, n2 numeric(40,20), f8 float8, f4 real, ts timestamptz, t timestamp,
                             ia int4[], ia2 int4[], ta text[], j jsonb, b bytea, u uuid, m mood, ma mood[], d posint, p pair,
                             iv interval, ip inet, pt point, vc varchar(10), ch char(5));
            """, ["SELECT mammoth.enable_replication('aw', NULL)"]);
        RawSlave slave = await bed.SlaveAsync(0);
        uint aw = await bed.OidAsync("aw");
        await bed.ExecAsync("""
            INSERT INTO aw VALUES
             (1, 'NaN', 1.5, 'NaN', 'Infinity', 'infinity', '-infinity', '{1,NULL,3}', '{{1,2},{3,4}}', '{"a",NULL,"b\"q","c\\d"}',
                 '{"k":[1,2,{"z":null}],"s":"\u00e9"}', '\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', '{sad,happy}', 7,
                 '(1,NaN,ok)', '1 year 2 mons 3 days 04:05:06.789', '192.168.1.0/24', '(1.5,-2)', 'vc', 'ab'),
             (2, 'Infinity', -0.00000000000000000001, '-Infinity', '-Infinity', '-infinity', 'infinity', '{}', NULL, '{}',
                 '[]', '\x', '00000000-0000-0000-0000-000000000000', 'sad', '{}', 1, '(,,)', '-1 days', '::1', '(0,0)', '', ''),
             (3, '-Infinity', NULL, '-0', '1e-45', '4713-01-01 00:00:00+00 BC', '294276-12-31 23:59:59', NULL, NULL, NULL,
                 'null', NULL, NULL, NULL, '{NULL,ok}', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
             (4, '123456789012345678901234567890.123456789012345678901234567890', 12345678901234567890.12345678901234567890,
                 5e-324, 3.4028235e38, '2000-01-01 00:00:00+00', '1999-12-31 23:59:59.999999', '{2147483647,-2147483648}', NULL,
                 '{"x"}', '{"deep":{"deeper":[true,false,null,1.5e300]}}', decode(repeat('ab', 3000), 'hex'), gen_random_uuid(),
                 'ok', '{happy,happy}', 2147483647, '(-1,-Infinity,sad)', '00:00:00.000001', '10.0.0.1', '(1e308,-1e-308)', 'ten chars!', 'x')
            """);
        await bed.ExecAsync("UPDATE aw SET id = id");
        await bed.ExecAsync("INSERT INTO aw (id) VALUES (100)");
        List<Rec> all = await bed.WaitForRowAsync(slave, aw, 100);

        byte[] copy = await bed.CopyTuplesAsync("SELECT * FROM aw WHERE id < 100 ORDER BY id");
        List<Sec> inserts = all.SelectMany(r => r.Sections).Where(s => s.TableId == aw && s.Op == ChangeOp.Insert).ToList();
        Assert.Equal(Convert.ToHexString(copy), Convert.ToHexString(inserts[0].RowBytes));
        // An UPDATE that touched every row (nothing TOASTed out of line here) sends the whole new rows.
        Sec update = Assert.Single(all.SelectMany(r => r.Sections), s => s.TableId == aw && s.Op == ChangeOp.Update);
        Assert.Empty(update.Mask);
        byte[] updated = update.Rows.OrderBy(r => Int4(Fields(r)[0])).SelectMany(r => r).ToArray();
        Assert.Equal(Convert.ToHexString(copy), Convert.ToHexString(updated));
    }

    [Fact]
    public async Task Transactions_arrive_in_commit_order_whole_even_when_interleaved()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE x (id int PRIMARY KEY, who text);", ["SELECT mammoth.enable_replication('x', NULL)"]);
        RawSlave slave = await bed.SlaveAsync(0);
        uint x = await bed.OidAsync("x");

        // T1 starts first and commits last.
        await using (NpgsqlConnection c1 = await bed.OpenAsync())
        await using (NpgsqlConnection c2 = await bed.OpenAsync())
        {
            await Exec(c1, "BEGIN; INSERT INTO x VALUES (1, 'T1')");
            await Exec(c2, "BEGIN; INSERT INTO x VALUES (2, 'T2'); COMMIT");
            await Exec(c1, "INSERT INTO x VALUES (3, 'T1'); COMMIT");
        }

        // Four writers interleaving three-statement transactions.
        const int Writers = 4, Transactions = 40;
        await Task.WhenAll(Enumerable.Range(1, Writers).Select(w => Task.Run(async () =>
        {
            await using NpgsqlConnection c = await bed.OpenAsync();
            for (int tx = 0; tx < Transactions; tx++)
            {
                await Exec(c, "BEGIN");
                for (int stmt = 0; stmt < 3; stmt++)
                {
                    await Exec(c, $"INSERT INTO x VALUES ({w * 100000 + tx * 10 + stmt}, 'w{w}')");
                    await Task.Yield();
                }
                await Exec(c, "COMMIT");
            }
        })));
        await bed.ExecAsync("INSERT INTO x VALUES (999999, 'end')");
        List<Rec> data = (await bed.WaitForRowAsync(slave, x, 999999)).Where(r => r.Kind == RecordKind.Data).ToList();

        List<List<int>> txs = data.Select(r => r.Sections.Where(s => s.TableId == x).SelectMany(s => s.Rows).Select(row => Int4(Fields(row)[0])).ToList())
            .Where(ids => ids.Count > 0).ToList();
        Assert.Equal([2], txs[0]);
        Assert.Equal([1, 3], txs[1]);
        for (int i = 1; i < data.Count; i++)
            Assert.True(data[i].CommitLsn > data[i - 1].CommitLsn, "records must be in commit LSN order");
        List<List<int>> writerTxs = txs.Skip(2).SkipLast(1).ToList();
        Assert.Equal(Writers * Transactions, writerTxs.Count);
        foreach (List<int> ids in writerTxs)
        {
            Assert.Equal(3, ids.Count);
            Assert.Equal([ids[0], ids[0] + 1, ids[0] + 2], ids);
        }
        Assert.Equal(Writers * Transactions, writerTxs.Select(t => t[0]).Distinct().Count());
        // Each writer's own transactions keep their order.
        foreach (IGrouping<int, int> w in writerTxs.Select(t => t[0]).GroupBy(id => id / 100000))
            Assert.Equal(w.OrderBy(i => i), w);
    }

    private static async Task Exec(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }
}
