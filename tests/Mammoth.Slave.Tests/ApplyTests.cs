using Mammoth.Log.Records;
using Mammoth.Nodes.Slave;
using Mammoth.Slave.Tests.Support;
using Mammoth.Testing;

namespace Mammoth.Slave.Tests;

/// <summary>
/// The apply engine on a real slave database, fed records built from a "master" database's rows (COPY binary,
/// byte-identical to what the master agent ships). Row-path and COPY-path variants run the same checks:
/// <c>rowPathMax</c> 0 sends every section through COPY and a set statement, 1000 through prepared row statements.
/// </summary>
public sealed class ApplyTests(PgServerFixture fx) : IClassFixture<PgServerFixture>
{
    private const string Items = "CREATE TABLE items (id int PRIMARY KEY, name text, qty int NOT NULL, note text)";

    private static ApplyOptions Path(int rowPathMax) => new() { RowPathMaxRows = rowPathMax };

    private static async Task ApplyAsync(RecordApplier a, params byte[][] records) =>
        await a.ApplyAsync(RecordFactory.Concat(records), commitAtEnd: true, CancellationToken.None);

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public async Task Insert_update_delete_match_the_master(int rowPathMax)
    {
        Pair p = await Pair.CreateAsync(fx, "iud", Items);
        await p.MasterAsync("INSERT INTO items SELECT g, 'name ' || g, g * 10, CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' END FROM generate_series(1, 10) g");
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(Path(rowPathMax));

        await ApplyAsync(a, f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));
        await p.AssertEqualAsync("items", "id");

        await p.MasterAsync("UPDATE items SET qty = qty + 1, note = 'changed' WHERE id <= 5");
        await ApplyAsync(a, f.Data(b => b.Add(items, ChangeOp.Update, p.RowsAsync("SELECT * FROM items WHERE id <= 5 ORDER BY id").Result)));
        await p.AssertEqualAsync("items", "id");

        Tuples deleted = await p.RowsAsync("SELECT id FROM items WHERE id IN (2, 3, 7)");
        await p.MasterAsync("DELETE FROM items WHERE id IN (2, 3, 7)");
        await ApplyAsync(a, f.Data(b => b.Add(items, ChangeOp.Delete, deleted)));
        await p.AssertEqualAsync("items", "id");
        Assert.Equal(7L, await PgTables.CountAsync(p.Slave, "items"));
        Assert.Equal(4, await p.AppliedRecnoAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public async Task An_update_without_a_column_leaves_it_alone(int rowPathMax)
    {
        Pair p = await Pair.CreateAsync(fx, "toast", Items);
        // A value big enough to be stored out of line: pgoutput sends an UPDATE that does not touch it without it.
        await p.MasterAsync("INSERT INTO items SELECT g, repeat(md5(g::text), 3000), g, 'keep' FROM generate_series(1, 4) g");
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(Path(rowPathMax));
        await ApplyAsync(a, f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));

        await p.MasterAsync("UPDATE items SET qty = qty * 100 WHERE id IN (1, 2, 3)");
        // Columns 0 (id) and 2 (qty) only: name (1) and note (3) are absent and must not be overwritten.
        Tuples rows = await p.RowsAsync("SELECT id, qty FROM items WHERE id IN (1, 2, 3)");
        await ApplyAsync(a, f.Data(b => b.Add(items, ChangeOp.Update, rows, Sections.Mask(0, 2))));

        await p.AssertEqualAsync("items", "id");
        Assert.Equal(3L * 32 * 3000, await Pair.ScalarAsync<long>(p.Slave, "SELECT sum(length(name)) FROM items WHERE id <= 3"));
        Assert.Equal(4L, await Pair.ScalarAsync<long>(p.Slave, "SELECT count(*) FROM items WHERE note = 'keep'"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public async Task The_same_row_updated_twice_in_one_section_ends_with_the_last_values(int rowPathMax)
    {
        Pair p = await Pair.CreateAsync(fx, "twice", Items);
        await p.MasterAsync("INSERT INTO items SELECT g, 'n', g, NULL FROM generate_series(1, 5) g");
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(Path(rowPathMax));
        await ApplyAsync(a, f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));

        // One master transaction: qty of 1 becomes 10, then 3 becomes 30, then 1 becomes 20, then 1 becomes 15.
        await p.MasterAsync("UPDATE items SET qty = 15, note = 'third' WHERE id = 1; UPDATE items SET qty = 30 WHERE id = 3");
        Tuples rows = await p.RowsAsync(
            "SELECT * FROM (VALUES (1, 'n', 10, 'first'), (3, 'n', 30, NULL), (1, 'n', 20, 'second'), (1, 'n', 15, 'third')) AS v(id, name, qty, note)");
        await ApplyAsync(a, f.Data(b => b.Add(items, ChangeOp.Update, rows)));

        await p.AssertEqualAsync("items", "id");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public async Task Key_changes_apply_in_order_chains_swaps_and_moves_twice(int rowPathMax)
    {
        Pair p = await Pair.CreateAsync(fx, "keys", Items);
        await p.MasterAsync("INSERT INTO items SELECT g, 'row ' || g, g, repeat('t', 5000) FROM generate_series(1, 8) g");
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(Path(rowPathMax));
        await ApplyAsync(a, f.Relation(items), f.Data(b => b.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));

        // A chain that only works in order (2→9 first frees 2 for 1→2), a row moved twice (5→50→51), and a swap
        // of 3 and 4 through 100. UPDATE_KEY rows: old key, then the new columns (note absent: unchanged TOAST).
        await p.MasterAsync("""
            UPDATE items SET id = 9 WHERE id = 2; UPDATE items SET id = 2, qty = 102 WHERE id = 1;
            UPDATE items SET id = 50 WHERE id = 5; UPDATE items SET id = 51 WHERE id = 50;
            UPDATE items SET id = 100 WHERE id = 3; UPDATE items SET id = 3 WHERE id = 4; UPDATE items SET id = 4 WHERE id = 100;
            """);
        Tuples rows = await p.RowsAsync("""
            SELECT * FROM (VALUES (2, 9, 'row 2', 2), (1, 2, 'row 1', 102), (5, 50, 'row 5', 5), (50, 51, 'row 5', 5),
                                  (3, 100, 'row 3', 3), (4, 3, 'row 4', 4), (100, 4, 'row 3', 3)) AS v(old, id, name, qty)
            """);
        await ApplyAsync(a, f.Data(b => b.Add(items, ChangeOp.UpdateKey, rows, Sections.Mask(0, 1, 2))));

        await p.AssertEqualAsync("items", "id");
        Assert.Equal(8L, await Pair.ScalarAsync<long>(p.Slave, "SELECT count(*) FROM items WHERE length(note) = 5000"));
    }

    [Fact]
    public async Task Truncate_of_tables_that_reference_each_other_goes_through_as_one_statement()
    {
        Pair p = await Pair.CreateAsync(fx, "trunc", """
            CREATE TABLE parent (id int PRIMARY KEY);
            CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent);
            CREATE TABLE other (id int PRIMARY KEY);
            """);
        await p.MasterAsync("INSERT INTO parent SELECT generate_series(1, 3); INSERT INTO child SELECT g, g FROM generate_series(1, 3) g; INSERT INTO other VALUES (1)");
        RelationInfo parent = await p.RelationAsync("parent"), child = await p.RelationAsync("child"), other = await p.RelationAsync("other");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        await ApplyAsync(a, f.Relation(parent, child, other), f.Data(b =>
        {
            b.Add(parent, ChangeOp.Insert, p.RowsAsync("SELECT * FROM parent").Result);
            b.Add(child, ChangeOp.Insert, p.RowsAsync("SELECT * FROM child").Result);
            b.Add(other, ChangeOp.Insert, p.RowsAsync("SELECT * FROM other").Result);
        }));
        await p.AssertEqualAsync("child", "id");

        await p.MasterAsync("TRUNCATE parent, child");
        await ApplyAsync(a, f.Data(b =>
        {
            b.Truncate(parent);
            b.Truncate(child);
        }));
        await p.AssertEqualAsync("parent", "id");
        await p.AssertEqualAsync("child", "id");
        Assert.Equal(1L, await PgTables.CountAsync(p.Slave, "other"));
    }

    [Fact]
    public async Task A_record_with_several_tables_applies_all_or_nothing()
    {
        Pair p = await Pair.CreateAsync(fx, "atomic", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, v text)");
        await p.SlaveExecAsync("ALTER TABLE b DROP COLUMN v");
        await p.MasterAsync("INSERT INTO a SELECT generate_series(1, 5); INSERT INTO b SELECT g, 'x' FROM generate_series(1, 5) g");
        RelationInfo ra = await p.RelationAsync("a"), rb = await p.RelationAsync("b");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        byte[] rel = f.Relation(ra, rb);
        byte[] data = f.Data(b =>
        {
            b.Add(ra, ChangeOp.Insert, p.RowsAsync("SELECT * FROM a").Result);
            b.Add(rb, ChangeOp.Insert, p.RowsAsync("SELECT * FROM b").Result);
        });

        var ex = await Assert.ThrowsAsync<ApplyException>(() => ApplyAsync(a, rel, data));
        Assert.Equal(2, ex.Recno);
        Assert.Contains("table public.b has no column v on this slave", ex.Message);
        Assert.Contains("ALTER TABLE public.b ADD COLUMN v text", ex.Message);
        Assert.Equal(0L, await PgTables.CountAsync(p.Slave, "a"));
        Assert.Equal(0, await p.AppliedRecnoAsync());
        Assert.False(a.InTransaction);

        await p.SlaveExecAsync("ALTER TABLE b ADD COLUMN v text");
        await ApplyAsync(a, rel, data);
        await p.AssertEqualAsync("a", "id");
        await p.AssertEqualAsync("b", "id");
        Assert.Equal(2, await p.AppliedRecnoAsync());
    }

    [Fact]
    public async Task Continued_parts_of_a_master_transaction_commit_together()
    {
        Pair p = await Pair.CreateAsync(fx, "cont", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
        await p.MasterAsync("INSERT INTO a SELECT generate_series(1, 5); INSERT INTO b SELECT generate_series(1, 5)");
        RelationInfo ra = await p.RelationAsync("a"), rb = await p.RelationAsync("b");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        await ApplyAsync(a, f.Relation(ra, rb));

        byte[] part1 = f.Data(b => b.Add(ra, ChangeOp.Insert, p.RowsAsync("SELECT * FROM a").Result), continued: true);
        byte[] part2 = f.Data(b => b.Add(rb, ChangeOp.Insert, p.RowsAsync("SELECT * FROM b").Result));

        // The first part alone (it arrived in its own frame): applied, not committed, invisible to others.
        await a.ApplyAsync(part1, commitAtEnd: true, CancellationToken.None);
        Assert.True(a.InTransaction);
        Assert.Equal(0L, await PgTables.CountAsync(p.Slave, "a"));
        Assert.Equal(1, await p.AppliedRecnoAsync());

        await a.ApplyAsync(part2, commitAtEnd: true, CancellationToken.None);
        Assert.False(a.InTransaction);
        await p.AssertEqualAsync("a", "id");
        await p.AssertEqualAsync("b", "id");
        Assert.Equal(3, await p.AppliedRecnoAsync());
    }

    [Fact]
    public async Task A_failing_second_part_takes_the_first_part_back()
    {
        Pair p = await Pair.CreateAsync(fx, "contfail", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
        await p.SlaveExecAsync("INSERT INTO b VALUES (3)"); // the slave diverged: b's INSERT of 3 would be an upsert, so make b reject it
        await p.SlaveExecAsync("ALTER TABLE b ADD CONSTRAINT small CHECK (id < 3) NOT VALID");
        await p.MasterAsync("INSERT INTO a SELECT generate_series(1, 5); INSERT INTO b SELECT generate_series(1, 5)");
        RelationInfo ra = await p.RelationAsync("a"), rb = await p.RelationAsync("b");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        await ApplyAsync(a, f.Relation(ra, rb));
        byte[] part1 = f.Data(b => b.Add(ra, ChangeOp.Insert, p.RowsAsync("SELECT * FROM a").Result), continued: true);
        byte[] part2 = f.Data(b => b.Add(rb, ChangeOp.Insert, p.RowsAsync("SELECT * FROM b").Result));

        await a.ApplyAsync(part1, commitAtEnd: true, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<ApplyException>(() => a.ApplyAsync(part2, commitAtEnd: true, CancellationToken.None).AsTask());
        Assert.Equal(3, ex.Recno);
        Assert.Contains("INSERT of 5 rows of public.b failed", ex.Message);
        Assert.Contains("23514", ex.Message);
        Assert.Equal(0L, await PgTables.CountAsync(p.Slave, "a"));
        Assert.Equal(1, await p.AppliedRecnoAsync());
        Assert.Equal(1, a.LastApplied);
    }

    [Fact]
    public async Task Empty_and_not_yet_handled_records_only_move_the_recno()
    {
        Pair p = await Pair.CreateAsync(fx, "empty", "CREATE TABLE a (id int PRIMARY KEY)");
        using var f = new RecordFactory();
        using var log = new TestLog();
        await using RecordApplier a = await p.ApplierAsync(log: log.Log);
        await ApplyAsync(a, f.Empty(), f.Other(RecordKind.Roles), f.Empty(), f.Other(RecordKind.Sequences), f.Empty());
        Assert.Equal(5, await p.AppliedRecnoAsync());
        Assert.Equal(5, a.Committed.AppliedRecno);
        Assert.Contains("Roles records are not applied by this version", log.Text);
    }

    [Fact]
    public async Task Records_already_applied_are_skipped_and_a_gap_is_refused()
    {
        Pair p = await Pair.CreateAsync(fx, "dups", "CREATE TABLE a (id int PRIMARY KEY, n int)");
        await p.SlaveExecAsync("CREATE FUNCTION count_applies() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := coalesce(OLD.n, 0) + 1; RETURN NEW; END $$;" +
                               "CREATE TRIGGER count_applies BEFORE INSERT OR UPDATE ON a FOR EACH ROW EXECUTE FUNCTION count_applies();" +
                               "ALTER TABLE a ENABLE ALWAYS TRIGGER count_applies");
        RelationInfo ra = await p.RelationAsync("a");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        byte[][] first = [f.Relation(ra), f.Data(b => b.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(1, 0)))),
                          f.Data(b => b.Add(ra, ChangeOp.Update, Sections.Rows(Sections.Tuple(1, 0))))];
        await ApplyAsync(a, first);
        await ApplyAsync(a, first); // re-sent after a reconnect: nothing may apply twice
        Assert.Equal(2, await Pair.ScalarAsync<int>(p.Slave, "SELECT n FROM a WHERE id = 1"));

        f.Data(b => b.Add(ra, ChangeOp.Update, Sections.Rows(Sections.Tuple(1, 0)))); // record 4, never delivered
        byte[] fifth = f.Data(b => b.Add(ra, ChangeOp.Update, Sections.Rows(Sections.Tuple(1, 0))));
        var ex = await Assert.ThrowsAsync<RecordStreamException>(() => ApplyAsync(a, fifth));
        Assert.Contains("record 5 after record 3", ex.Message);
        Assert.Equal(3, await p.AppliedRecnoAsync());
    }

    [Fact]
    public async Task Relations_survive_a_restart_of_the_applier()
    {
        Pair p = await Pair.CreateAsync(fx, "rels", Items);
        await p.MasterAsync("INSERT INTO items VALUES (1, 'a', 1, NULL)");
        RelationInfo items = await p.RelationAsync("items");
        using var f = new RecordFactory();
        await using (RecordApplier a = await p.ApplierAsync())
            await ApplyAsync(a, f.Relation(items));
        Assert.Equal("{id,name,qty,note}", await Pair.ScalarAsync<string>(p.Slave, "SELECT columns::text FROM mammoth.slave_relations"));

        await using (RecordApplier b = await p.ApplierAsync())
        {
            Assert.Equal(1, b.Committed.AppliedRecno);
            await ApplyAsync(b, f.Data(x => x.Add(items, ChangeOp.Insert, p.RowsAsync("SELECT * FROM items").Result)));
        }
        await p.AssertEqualAsync("items", "id");
    }

    [Fact]
    public async Task Sections_of_mammoth_requests_and_of_other_slaves_are_not_applied()
    {
        Pair p = await Pair.CreateAsync(fx, "skip", "CREATE TABLE a (id int PRIMARY KEY)");
        var requests = new RelationInfo(99_999, "mammoth", "requests", [new ColumnInfo("id", 20, -1, "bigint", true), new ColumnInfo("kind", 25, -1, "text", false)]);
        RelationInfo ra = await p.RelationAsync("a");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(slaveNo: 1);
        await ApplyAsync(a, f.Relation(requests, ra), f.Data(b =>
        {
            b.Add(requests, ChangeOp.Insert, Sections.Rows(Sections.Tuple(1L, "refresh")));
            b.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(1)), slaves: SlaveSet.Of(0));
            b.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(2)), slaves: SlaveSet.Of(1, 2));
        }));
        Assert.Equal(0L, await PgTables.CountAsync(p.Slave, "mammoth.requests"));
        Assert.Equal(2, await Pair.ScalarAsync<int>(p.Slave, "SELECT string_agg(id::text, ',')::int FROM a"));
    }

    [Fact]
    public async Task A_table_missing_on_the_slave_halts_with_its_name()
    {
        Pair p = await Pair.CreateAsync(fx, "notable", "CREATE TABLE a (id int PRIMARY KEY)");
        await p.SlaveExecAsync("DROP TABLE a");
        RelationInfo ra = await p.RelationAsync("a");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        var ex = await Assert.ThrowsAsync<ApplyException>(() => ApplyAsync(a, f.Relation(ra), f.Data(b => b.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(1))))));
        Assert.Equal("record 2: table public.a does not exist on this slave; create it like the master's (pg_dump --schema-only -t public.a on the master) and replication resumes by itself", ex.Message);
    }

    [Fact]
    public async Task Many_small_records_share_transactions_within_the_bounds()
    {
        Pair p = await Pair.CreateAsync(fx, "bounds", "CREATE TABLE a (id int PRIMARY KEY)");
        RelationInfo ra = await p.RelationAsync("a");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(new ApplyOptions { MaxTransactionRecords = 10, MaxTransactionDuration = TimeSpan.FromHours(1) });
        var records = new List<byte[]> { f.Relation(ra) };
        for (int i = 1; i <= 45; i++)
            records.Add(f.Data(b => b.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(i)))));
        await a.ApplyAsync(RecordFactory.Concat([.. records]), commitAtEnd: false, CancellationToken.None);
        // 46 records: committed at 10, 20, 30, 40; 41..46 wait in the open transaction.
        Assert.Equal(40, await p.AppliedRecnoAsync());
        Assert.True(a.InTransaction);
        await a.CommitIfPossibleAsync(CancellationToken.None);
        Assert.Equal(46, await p.AppliedRecnoAsync());
        Assert.Equal(45L, await PgTables.CountAsync(p.Slave, "a"));
    }
    [Fact]
    public async Task A_failure_in_a_shared_batch_is_pinned_to_its_record_and_section()
    {
        Pair p = await Pair.CreateAsync(fx, "blame", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
        await p.SlaveExecAsync("ALTER TABLE b ADD CONSTRAINT small CHECK (id < 3)");
        RelationInfo ra = await p.RelationAsync("a"), rb = await p.RelationAsync("b");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        // Six small records in one frame, so one batch: the fourth carries the row b refuses.
        await ApplyAsync(a,
            f.Relation(ra, rb),
            f.Data(x => x.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(1)))),
            f.Data(x => x.Add(rb, ChangeOp.Insert, Sections.Rows(Sections.Tuple(1)))),
            f.Data(x => x.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(2)))));
        byte[] frame = RecordFactory.Concat(
            f.Data(x => x.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(3)))),
            f.Data(x => x.Add(rb, ChangeOp.Insert, Sections.Rows(Sections.Tuple(2)))),
            f.Data(x =>
            {
                x.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(4)));
                x.Add(rb, ChangeOp.Insert, Sections.Rows(Sections.Tuple(7)));
            }),
            f.Data(x => x.Add(ra, ChangeOp.Insert, Sections.Rows(Sections.Tuple(5)))));
        var ex = await Assert.ThrowsAsync<ApplyException>(() => a.ApplyAsync(frame, true, default).AsTask());
        Assert.Equal(7, ex.Recno);
        Assert.False(ex.Ambiguous);
        Assert.StartsWith("record 7: INSERT of 1 row of public.b failed: new row for relation \"b\" violates check constraint \"small\" (SQLSTATE 23514)", ex.Message);
        // The records before it went through, each in its own transaction.
        Assert.Equal(6, await p.AppliedRecnoAsync());
        Assert.Equal("1,2,3", await Pair.ScalarAsync<string>(p.Slave, "SELECT string_agg(id::text, ',' ORDER BY id) FROM a"));
    }
    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public async Task A_column_of_another_type_on_the_slave_halts_and_keeps_the_connection(int rowPathMax)
    {
        Pair p = await Pair.CreateAsync(fx, "types2", "CREATE TABLE a (id int PRIMARY KEY, v bigint)");
        await p.SlaveExecAsync("ALTER TABLE a ALTER COLUMN v TYPE int");
        await p.MasterAsync("INSERT INTO a VALUES (1, 10), (2, 20)");
        RelationInfo ra = await p.RelationAsync("a");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(Path(rowPathMax));
        byte[][] records = [f.Relation(ra), f.Data(b => b.Add(ra, ChangeOp.Insert, p.RowsAsync("SELECT * FROM a").Result))];
        var ex = await Assert.ThrowsAsync<ApplyException>(() => ApplyAsync(a, records));
        Assert.StartsWith("record 2: INSERT of 2 rows of public.a failed: ", ex.Message);
        Assert.Matches("SQLSTATE (08P01|22P03)", ex.Message);
        // A data problem, not a broken connection: the applier goes on with the same session.
        await p.SlaveExecAsync("ALTER TABLE a ALTER COLUMN v TYPE bigint");
        await ApplyAsync(a, records);
        await p.AssertEqualAsync("a", "id");
    }
}
