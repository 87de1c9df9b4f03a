using Mammoth.Log.Records;
using Mammoth.Nodes.Slave;
using Mammoth.Slave.Tests.Support;
using Mammoth.Testing;
using Npgsql;

namespace Mammoth.Slave.Tests;

/// <summary>
/// Table dumps and full dumps (docs/dumps.md) applied to a real slave database: records built from the "master"
/// database's rows by COPY binary, exactly as the master agent ships a dump.
/// </summary>
public sealed class DumpTests(PgServerFixture fx) : IClassFixture<PgServerFixture>
{
    private const string Items = "CREATE TABLE items (id int PRIMARY KEY, name text, qty int NOT NULL, note text)";
    private const string MasterItems = "INSERT INTO items SELECT g, 'name ' || g, g * 10, CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('n', g % 50) END FROM generate_series(1, 300) g";

    /// <summary>The items table: 300 rows on the master, <paramref name="slaveSql"/> run on the slave first.</summary>
    private async Task<(Pair P, RelationInfo Items)> ItemsPairAsync(string name, string slaveSql)
    {
        Pair p = await Pair.CreateAsync(fx, name, Items);
        await p.MasterAsync(MasterItems);
        await p.SlaveExecAsync(slaveSql);
        return (p, await p.RelationAsync("items"));
    }

    private static async Task ApplyAsync(RecordApplier a, params byte[][] records) =>
        await a.ApplyAsync(RecordFactory.Concat(records), commitAtEnd: true, CancellationToken.None);

    private static Task<string> IdsAsync(string cs, string table) =>
        Pair.ScalarAsync<string>(cs, $"SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM {table}");

    [Fact]
    public async Task A_table_dump_replaces_stale_rows_with_exactly_the_dumped_ones()
    {
        Pair p = await Pair.CreateAsync(fx, "dstale", Items);
        await p.MasterAsync(MasterItems);
        // Stale: rows the master changed, one it no longer has, one only the slave got.
        await p.SlaveExecAsync("INSERT INTO items SELECT g, 'old', -g, 'stale' FROM generate_series(1, 20) g; INSERT INTO items VALUES (5000, 'gone', 1, NULL)");
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();

        await ApplyAsync(a, [f.Relation(items), .. f.TableDump(items,
            await p.RowsAsync("SELECT * FROM items WHERE id <= 100 ORDER BY id"),
            await p.RowsAsync("SELECT * FROM items WHERE id > 100 AND id <= 250 ORDER BY id"),
            await p.RowsAsync("SELECT * FROM items WHERE id > 250 ORDER BY id"))]);

        await p.AssertEqualAsync("items", "id");
        Assert.Equal(300L, await PgTables.CountAsync(p.Slave, "items"));
        Assert.Equal(6, await p.AppliedRecnoAsync());
        Assert.False(a.InTransaction);
        Assert.False(a.Dump.Running);
        Assert.StartsWith("table dump of public.items, 300 rows (", a.Dump.LastSummary);
        Assert.EndsWith("records 2..6", a.Dump.LastSummary);
        Assert.Equal(a.Dump.LastSummary, await Pair.ScalarAsync<string>(p.Slave, "SELECT last_dump FROM mammoth.slave_progress"));

        // Data after the dump applies as usual.
        await p.MasterAsync("UPDATE items SET qty = 0 WHERE id = 7");
        await ApplyAsync(a, f.Data(b => b.Add(items, ChangeOp.Update, p.RowsAsync("SELECT * FROM items WHERE id = 7").Result)));
        await p.AssertEqualAsync("items", "id");
    }

    [Fact]
    public async Task An_empty_table_dump_empties_the_table()
    {
        Pair p = await Pair.CreateAsync(fx, "dempty", Items);
        await p.SlaveExecAsync("INSERT INTO items VALUES (1, 'stale', 1, NULL)");
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        await ApplyAsync(a, f.Relation(items), f.DumpBegin(items), f.DumpEnd(items, 0));
        Assert.Equal(0L, await PgTables.CountAsync(p.Slave, "items"));
        Assert.Equal(3, await p.AppliedRecnoAsync());
    }

    [Fact]
    public async Task A_table_that_a_foreign_key_refers_to_is_emptied_with_delete()
    {
        const string schema = """
            CREATE TABLE parent (id int PRIMARY KEY, v text);
            CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent);
            """;
        Pair p = await Pair.CreateAsync(fx, "dfk", schema);
        await p.MasterAsync("INSERT INTO parent SELECT g, 'v' || g FROM generate_series(1, 50) g");
        await p.SlaveExecAsync("INSERT INTO parent SELECT g, 'stale' FROM generate_series(1, 60) g; INSERT INTO child VALUES (1, 1), (2, 55)");
        RelationInfo parent = await p.RelationAsync("parent");
        using var f = new RecordFactory();
        using var log = new TestLog();
        await using RecordApplier a = await p.ApplierAsync(log: log.Log);

        await ApplyAsync(a, [f.Relation(parent), .. f.TableDump(parent, await p.RowsAsync("SELECT * FROM parent"))]);

        await p.AssertEqualAsync("parent", "id");
        // The referring table is not touched (it gets its own dump): under session_replication_role = replica the
        // foreign key is not checked, as for every change the slave applies.
        Assert.Equal("1,2", await IdsAsync(p.Slave, "child"));
        Assert.Contains("dump of public.parent begins (DELETE: a foreign key refers to it)", log.Text);
    }

    [Fact]
    public async Task A_self_referencing_table_is_truncated()
    {
        Pair p = await Pair.CreateAsync(fx, "dself", "CREATE TABLE tree (id int PRIMARY KEY, up int REFERENCES tree)");
        await p.MasterAsync("INSERT INTO tree VALUES (1, NULL), (2, 1), (3, 2)");
        await p.SlaveExecAsync("INSERT INTO tree VALUES (10, NULL), (11, 10)");
        RelationInfo tree = await p.RelationAsync("tree");
        using var f = new RecordFactory();
        using var log = new TestLog();
        await using RecordApplier a = await p.ApplierAsync(log: log.Log);
        await ApplyAsync(a, [f.Relation(tree), .. f.TableDump(tree, await p.RowsAsync("SELECT * FROM tree"))]);
        await p.AssertEqualAsync("tree", "id");
        Assert.Contains("dump of public.tree begins (TRUNCATE)", log.Text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_dump_across_chunk_records_commits_only_at_its_end(bool killTheSession)
    {
        Pair p = await Pair.CreateAsync(fx, killTheSession ? "dkill" : "drestart", Items);
        await p.MasterAsync(MasterItems);
        await p.SlaveExecAsync("INSERT INTO items SELECT g, 'old', -g, 'stale' FROM generate_series(1, 20) g");
        string stale = await IdsAsync(p.Slave, "items");
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        byte[] relation = f.Relation(items);
        byte[][] dump = f.TableDump(items,
            await p.RowsAsync("SELECT * FROM items WHERE id <= 100"),
            await p.RowsAsync("SELECT * FROM items WHERE id > 100 AND id <= 200"),
            await p.RowsAsync("SELECT * FROM items WHERE id > 200"));

        RecordApplier first = await p.ApplierAsync();
        await ApplyAsync(first, relation);
        // BEGIN and two chunks, each in its own frame (as they arrive): loaded, not committed.
        await ApplyAsync(first, dump[0]);
        await ApplyAsync(first, dump[1]);
        await ApplyAsync(first, dump[2]);
        Assert.True(first.InTransaction);
        Assert.Equal(200L, first.Dump.Rows);
        Assert.Equal("public.items", first.Dump.CurrentTable);
        if (killTheSession)
        {
            await Pair.ExecAsync(p.Slave, $"SELECT pg_terminate_backend({first.Connection.ProcessID})");
            var ex = await Assert.ThrowsAsync<DatabaseUnavailableException>(() => ApplyAsync(first, dump[3]));
            Assert.Contains("lost the slave database", ex.Message);
        }
        await first.DisposeAsync();

        // Nothing of the partial dump is visible, and the applied record is the one before its BEGIN.
        Assert.Equal(stale, await IdsAsync(p.Slave, "items"));
        Assert.Equal(1, await p.AppliedRecnoAsync());

        // The next run starts the table again from its TABLE_DUMP_BEGIN.
        await using RecordApplier second = await p.ApplierAsync();
        Assert.False(second.Dump.Running);
        await ApplyAsync(second, [relation, .. dump]);
        await p.AssertEqualAsync("items", "id");
        Assert.Equal(6, await p.AppliedRecnoAsync());
    }

    [Fact]
    public async Task A_dump_start_after_a_gap_is_accepted_and_other_gaps_are_refused()
    {
        Pair p = await Pair.CreateAsync(fx, "dgap", Items);
        await p.MasterAsync(MasterItems);
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(slaveNo: 2);
        await ApplyAsync(a, f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, Sections.Rows(Sections.Tuple(1, "x", 1, null)))));
        Assert.Equal(2, await p.AppliedRecnoAsync());

        // Records 3..9 were recycled at the MCP.
        f.Recno = 9;
        var ex = await Assert.ThrowsAsync<RecordStreamException>(() => ApplyAsync(a, f.Data(b => b.Add(items, ChangeOp.Insert, Sections.Rows(Sections.Tuple(2, "y", 2, null))))));
        Assert.Contains("record 10 after record 2", ex.Message);
        f.Recno = 9;
        ex = await Assert.ThrowsAsync<RecordStreamException>(() => ApplyAsync(a, f.DumpStart(1, SlaveSet.Of(1, 3), 1)));
        Assert.Contains("record 10 after record 2", ex.Message);
        Assert.Equal(2, await p.AppliedRecnoAsync());

        f.Recno = 9;
        await ApplyAsync(a, [f.DumpStart(7, SlaveSet.Of(2, 3), 1), f.Relation(items),
            .. f.TableDump(items, await p.RowsAsync("SELECT * FROM items")), f.DumpEnd(7, SlaveSet.Of(2, 3), 1)]);
        await p.AssertEqualAsync("items", "id");
        Assert.Equal(15, await p.AppliedRecnoAsync());
        Assert.False(a.Dump.Running);
        Assert.StartsWith("full dump 7: 1 table, 300 rows (", a.Dump.LastSummary);
        Assert.EndsWith("records 10..15", a.Dump.LastSummary);
    }

    [Fact]
    public async Task Data_records_inside_a_full_dump_are_skipped_also_after_a_restart()
    {
        Pair p = await Pair.CreateAsync(fx, "dskip", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
        await p.MasterAsync("INSERT INTO a SELECT generate_series(1, 10); INSERT INTO b SELECT generate_series(1, 5)");
        RelationInfo ra = await p.RelationAsync("a"), rb = await p.RelationAsync("b");
        using var f = new RecordFactory();
        using var log = new TestLog();
        await using (RecordApplier first = await p.ApplierAsync(log: log.Log))
        {
            await ApplyAsync(first, f.Relation(ra, rb), f.DumpStart(1, SlaveSet.All, 2));
            Assert.True(first.Dump.IsFull);
            // Only a master that restarted mid-dump sends these: skipped.
            await ApplyAsync(first, f.Data(b => b.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(900)))));
            // A new DUMP_START (the master took the dump again) restarts the dump.
            await ApplyAsync(first, f.DumpStart(2, SlaveSet.All, 2));
            await ApplyAsync(first, [.. f.TableDump(ra, await p.RowsAsync("SELECT * FROM a"))]);
            Assert.Equal(1, first.Dump.TablesDone);
        }
        Assert.Equal("2,4,1,2,10", await Pair.ScalarAsync<string>(p.Slave,
            "SELECT concat_ws(',', dump_id, dump_start_recno, dump_tables_done, dump_tables, dump_rows) FROM mammoth.slave_progress"));

        // A restarted applier knows it is inside full dump 2 and goes on skipping data records.
        await using RecordApplier a = await p.ApplierAsync(log: log.Log);
        Assert.Equal(2u, a.Dump.FullDumpId);
        Assert.Equal(1, a.Dump.TablesDone);
        Assert.Equal(2, a.Dump.TablesTotal);
        Assert.Equal(10L, a.Dump.Rows);
        await ApplyAsync(a, f.Data(b => b.Add(rb, ChangeOp.Insert, Sections.Rows(Sections.Tuple(901)))));
        await ApplyAsync(a, [.. f.TableDump(rb, await p.RowsAsync("SELECT * FROM b")), f.Empty(), f.DumpEnd(2, SlaveSet.All, 2)]);
        await p.AssertEqualAsync("a", "id");
        await p.AssertEqualAsync("b", "id");
        Assert.False(a.Dump.Running);
        Assert.StartsWith("full dump 2: 2 tables, 15 rows (", a.Dump.LastSummary);
        Assert.Contains("(1 DATA record was skipped inside it)", log.Text);
        Assert.Equal(0L, await Pair.ScalarAsync<long>(p.Slave, "SELECT count(*) FROM mammoth.slave_progress WHERE dump_id IS NOT NULL OR last_dump IS NULL"));

        // After the DUMP_END data applies again.
        await ApplyAsync(a, f.Data(b => b.Add(rb, ChangeOp.Insert, Sections.Rows(Sections.Tuple(902)))));
        Assert.Equal("1,2,3,4,5,902", await IdsAsync(p.Slave, "b"));
        Assert.Equal(f.Recno, await p.AppliedRecnoAsync());
    }

    [Fact]
    public async Task A_dump_cut_short_is_taken_back_and_the_table_keeps_its_rows()
    {
        (Pair p, RelationInfo items) = await ItemsPairAsync("dcut", "INSERT INTO items SELECT g, 'old', -g, 'stale' FROM generate_series(1, 20) g");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        // BEGIN and a chunk, then the master restarted: a data record follows instead of the END.
        await ApplyAsync(a, f.Relation(items), f.DumpBegin(items), f.DumpChunk(items, await p.RowsAsync("SELECT * FROM items WHERE id <= 100")),
            f.Data(b => b.Add(items, ChangeOp.Insert, Sections.Rows(Sections.Tuple(777, "new", 7, null)))));
        Assert.Equal(21L, await PgTables.CountAsync(p.Slave, "items"));
        Assert.Equal(1L, await Pair.ScalarAsync<long>(p.Slave, "SELECT count(*) FROM items WHERE id = 777"));
        Assert.Equal(4, await p.AppliedRecnoAsync());
        Assert.False(a.Dump.Running);

        // The master dumps the table again.
        await ApplyAsync(a, [.. f.TableDump(items, await p.RowsAsync("SELECT * FROM items"))]);
        await p.AssertEqualAsync("items", "id");
    }

    /// <summary>
    /// A restarted master sends a RELATION before the DATA that cuts the dump short: the transaction must not
    /// commit at that RELATION (even with every bound reached), or the partial load and its dropped indexes would
    /// stay. Seen in the integration test that SIGKILLs the MCP mid-dump.
    /// </summary>
    [Fact]
    public async Task A_dump_cut_short_after_a_RELATION_is_taken_back_with_its_indexes()
    {
        (Pair p, RelationInfo items) = await ItemsPairAsync("dcutrel", "INSERT INTO items SELECT g, 'old', -g, 'stale' FROM generate_series(1, 20) g");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(new ApplyOptions { MaxTransactionRecords = 1, MaxTransactionBytes = 1, DumpIndexRebuildBytes = 0 });
        await ApplyAsync(a, f.Relation(items), f.DumpBegin(items), f.DumpChunk(items, await p.RowsAsync("SELECT * FROM items WHERE id <= 100")),
            f.DumpChunk(items, await p.RowsAsync("SELECT * FROM items WHERE id > 100 AND id <= 200")), f.Relation(items),
            f.Data(b => b.Add(items, ChangeOp.Insert, Sections.Rows(Sections.Tuple(777, "new", 7, null)))));
        Assert.Equal(21L, await PgTables.CountAsync(p.Slave, "items"));
        Assert.Equal(1L, await Pair.ScalarAsync<long>(p.Slave, "SELECT count(*) FROM pg_index WHERE indrelid = 'items'::regclass AND indisprimary"));
        Assert.Equal(6, await p.AppliedRecnoAsync());

        await ApplyAsync(a, [.. f.TableDump(items, await p.RowsAsync("SELECT * FROM items"))]);
        await p.AssertEqualAsync("items", "id");
        Assert.Equal(1L, await Pair.ScalarAsync<long>(p.Slave, "SELECT count(*) FROM pg_index WHERE indrelid = 'items'::regclass AND indisprimary"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Awkward_values_arrive_byte_for_byte_in_a_dump(int chunks)
    {
        Pair p = await Pair.CreateAsync(fx, "dtypes" + chunks, TypeTests.Schema, TypeTests.ShiftOids);
        await p.MasterAsync(TypeTests.Rows);
        await p.SlaveExecAsync("INSERT INTO odd (id, n) VALUES ('00000000-0000-0000-0000-000000000001', 1), ('00000000-0000-0000-0000-0000000000aa', 2)");
        RelationInfo odd = await p.RelationAsync("odd");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        Tuples[] parts = chunks == 1
            ? [await p.RowsAsync("SELECT * FROM odd")]
            : [await p.RowsAsync("SELECT * FROM odd ORDER BY id LIMIT 2"), await p.RowsAsync("SELECT * FROM odd ORDER BY id OFFSET 2")];
        await ApplyAsync(a, [f.Relation(odd), .. f.TableDump(odd, parts)]);
        await p.AssertEqualAsync("odd", "id");
    }

    [Fact]
    public async Task A_row_count_mismatch_at_the_end_halts_naming_the_table()
    {
        (Pair p, RelationInfo items) = await ItemsPairAsync("dcount", "INSERT INTO items VALUES (1, 'stale', 1, NULL)");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        await ApplyAsync(a, f.Relation(items));
        byte[][] records = [f.DumpBegin(items), f.DumpChunk(items, await p.RowsAsync("SELECT * FROM items WHERE id <= 250")), f.DumpEnd(items, 300)];

        var ex = await Assert.ThrowsAsync<ApplyException>(() => ApplyAsync(a, records));
        Assert.Equal(4, ex.Recno);
        Assert.Equal("record 4: the dump of public.items (records 2..4) loaded 250 rows, but its TABLE_DUMP_END says the master dumped 300; the dump is not applied (the records are damaged or incomplete)", ex.Message);
        Assert.Equal(1, await p.AppliedRecnoAsync());
        Assert.Equal("1", await IdsAsync(p.Slave, "items"));
        Assert.False(a.InTransaction);
    }

    [Fact]
    public async Task A_column_the_slave_lacks_halts_before_the_table_is_emptied()
    {
        (Pair p, RelationInfo items) = await ItemsPairAsync("dcol", "INSERT INTO items VALUES (1, 'stale', 1, NULL); ALTER TABLE items DROP COLUMN note");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        var ex = await Assert.ThrowsAsync<ApplyException>(() => ApplyAsync(a, [f.Relation(items), .. f.TableDump(items, p.RowsAsync("SELECT * FROM items").Result)]));
        Assert.Equal(2, ex.Recno);
        Assert.Contains("table public.items has no column note on this slave", ex.Message);
        Assert.Equal("1", await IdsAsync(p.Slave, "items"));
    }

    /// <summary>
    /// The COPY stays open across a table's chunk records: a row the slave refuses in the first chunk shows
    /// when the COPY ends, and halts naming the table; the whole dump is taken back and applies once fixed.
    /// </summary>
    [Fact]
    public async Task A_row_the_slave_refuses_halts_naming_the_table_and_the_dump_applies_once_fixed()
    {
        (Pair p, RelationInfo items) = await ItemsPairAsync("drefuse", "INSERT INTO items VALUES (1, 'stale', 1, NULL); ALTER TABLE items ADD CONSTRAINT small CHECK (qty <> 50)");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        await ApplyAsync(a, f.Relation(items));
        byte[][] dump = [.. f.TableDump(items,
            await p.RowsAsync("SELECT * FROM items WHERE id <= 100 ORDER BY id"),
            await p.RowsAsync("SELECT * FROM items WHERE id > 100 ORDER BY id"))];

        var ex = await Assert.ThrowsAsync<ApplyException>(() => ApplyAsync(a, dump));
        Assert.Contains("public.items", ex.Message);
        Assert.Contains("small", ex.Message);
        Assert.Equal(1, await p.AppliedRecnoAsync());
        Assert.Equal("1", await IdsAsync(p.Slave, "items"));
        Assert.False(a.InTransaction);

        await a.RollbackAsync();
        await p.SlaveExecAsync("ALTER TABLE items DROP CONSTRAINT small");
        await ApplyAsync(a, dump);
        await p.AssertEqualAsync("items", "id");
    }

    private const string IndexedTable = """
        CREATE TABLE big (id int8 CONSTRAINT big_key PRIMARY KEY, code text NOT NULL, qty int, note text,
                          CONSTRAINT big_code UNIQUE (code) DEFERRABLE INITIALLY DEFERRED);
        CREATE INDEX big_qty ON big (qty) WITH (fillfactor = 70) WHERE qty > 10;
        CREATE INDEX "big Lower" ON big (lower(note)) INCLUDE (qty);
        CREATE UNIQUE INDEX big_ident ON big (id, code);
        ALTER TABLE big REPLICA IDENTITY USING INDEX big_ident;
        ALTER TABLE big CLUSTER ON "big Lower";
        COMMENT ON INDEX big_qty IS 'rows with a real quantity';
        COMMENT ON CONSTRAINT big_code ON big IS 'codes are unique';
        """;

    /// <summary>Everything about the table's indexes that an administrator set, as text.</summary>
    private const string IndexFacts = """
        SELECT string_agg(format('%s|%s|%s|%s|%s|%s', ic.relname, pg_get_indexdef(i.indexrelid), coalesce(pg_get_constraintdef(con.oid), '-'),
                                 i.indisreplident, i.indisclustered, coalesce(obj_description(coalesce(con.oid, i.indexrelid)), '-')), E'\n' ORDER BY ic.relname)
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
          LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
         WHERE i.indrelid = 'big'::regclass
        """;

    /// <summary>
    /// A large load drops the table's indexes and builds them again after the COPY (docs/dumps.md, "Indexes"):
    /// afterwards every index, constraint, option, replica identity, clustering and comment is as before; a
    /// dump cut short, and a rebuild that fails (a duplicate only the slave's unique index sees), leave them
    /// as they were too.
    /// </summary>
    [Fact]
    public async Task A_large_load_rebuilds_the_indexes_exactly_as_they_were()
    {
        Pair p = await Pair.CreateAsync(fx, "dindex", IndexedTable);
        await p.MasterAsync("INSERT INTO big SELECT g, 'c' || g, g % 100, CASE WHEN g % 7 = 0 THEN NULL ELSE 'Note ' || (g % 1000) END FROM generate_series(1, 20000) g");
        await p.SlaveExecAsync("INSERT INTO big VALUES (1, 'stale', 1, NULL)");
        string before = await Pair.ScalarAsync<string>(p.Slave, IndexFacts);
        Assert.Equal(5, before.Split('\n').Length);
        RelationInfo big = await p.RelationAsync("big");
        using var f = new RecordFactory();
        using var log = new TestLog();
        await using RecordApplier a = await p.ApplierAsync(new ApplyOptions { DumpIndexRebuildBytes = 0 }, log: log.Log);
        await ApplyAsync(a, f.Relation(big));

        // Cut short after a chunk: the rollback to the savepoint gives the indexes back.
        await ApplyAsync(a, f.DumpBegin(big), f.DumpChunk(big, await p.RowsAsync("SELECT * FROM big WHERE id <= 5000")),
            f.Data(b => b.Add(big, ChangeOp.Insert, Sections.Rows(Sections.Tuple(900_000L, "late", 5, null)))));
        Assert.Equal(before, await Pair.ScalarAsync<string>(p.Slave, IndexFacts));
        Assert.Equal("1,900000", await IdsAsync(p.Slave, "big"));
        await p.SlaveExecAsync("DELETE FROM big WHERE id = 900000");

        // A slave-only unique index that the dumped rows break: the rebuild fails, naming the table; all is as before.
        await p.SlaveExecAsync("CREATE UNIQUE INDEX big_slave_only ON big (qty)");
        string withSlaveOnly = await Pair.ScalarAsync<string>(p.Slave, IndexFacts);
        byte[][] dump = [.. f.TableDump(big,
            await p.RowsAsync("SELECT * FROM big WHERE id <= 10000 ORDER BY id"),
            await p.RowsAsync("SELECT * FROM big WHERE id > 10000 ORDER BY id"))];
        var ex = await Assert.ThrowsAsync<ApplyException>(() => ApplyAsync(a, dump));
        Assert.Contains("public.big", ex.Message);
        Assert.Contains("index rebuild (table dump)", ex.Message);
        await a.RollbackAsync();
        Assert.Equal(withSlaveOnly, await Pair.ScalarAsync<string>(p.Slave, IndexFacts));
        Assert.Equal("1", await IdsAsync(p.Slave, "big"));

        // Without it the dump loads, and the indexes are the same as before in every respect.
        await p.SlaveExecAsync("DROP INDEX big_slave_only");
        await ApplyAsync(a, dump);
        await p.AssertEqualAsync("big", "id");
        Assert.Equal(before, await Pair.ScalarAsync<string>(p.Slave, IndexFacts));
        Assert.Contains("index(es) of public.big dropped for the load", log.Text);
        // The rebuilt constraints hold: a duplicate code is refused (at commit: it is still deferred).
        await Assert.ThrowsAsync<PostgresException>(() => p.SlaveExecAsync("INSERT INTO big VALUES (-1, 'c5', 1, NULL)"));
    }

    /// <summary>A table a foreign key refers to (itself, here) keeps its indexes through the load: the key depends on them.</summary>
    [Fact]
    public async Task A_table_a_foreign_key_refers_to_keeps_its_indexes_during_the_load()
    {
        Pair p = await Pair.CreateAsync(fx, "dindexfk", "CREATE TABLE tree (id int PRIMARY KEY, up int REFERENCES tree, v text); CREATE INDEX tree_v ON tree (v)");
        await p.MasterAsync("INSERT INTO tree SELECT g, NULLIF(g - 1, 0), md5(g::text) FROM generate_series(1, 5000) g");
        RelationInfo tree = await p.RelationAsync("tree");
        using var f = new RecordFactory();
        using var log = new TestLog();
        await using RecordApplier a = await p.ApplierAsync(new ApplyOptions { DumpIndexRebuildBytes = 0 }, log: log.Log);
        await ApplyAsync(a, [f.Relation(tree), .. f.TableDump(tree, await p.RowsAsync("SELECT * FROM tree"))]);
        await p.AssertEqualAsync("tree", "id");
        Assert.DoesNotContain("dropped for the load", log.Text);
    }
}
