using System.Diagnostics;
using Mammoth.Log.Records;
using Mammoth.Nodes.Slave;
using Mammoth.Slave.Tests.Support;
using Mammoth.Testing;
using Xunit.Abstractions;

namespace Mammoth.Slave.Tests;

/// <summary>Values that a decode-and-re-encode path would damage, and a big record, compared row by row with the master.</summary>
public sealed class TypeTests(PgServerFixture fx, ITestOutputHelper output) : IClassFixture<PgServerFixture>
{
    private const string Schema = """
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE DOMAIN posint AS int CHECK (VALUE > 0);
        CREATE TYPE pair AS (a numeric, b text, m mood);
        CREATE TABLE odd (
            id uuid PRIMARY KEY,
            n numeric, n2 numeric(40, 20), f float8, f4 real,
            ts timestamptz, t timestamp, d date, tm time, iv interval,
            ia int[], ta text[], j jsonb, js json, b bytea,
            m mood, ma mood[], p posint, c pair, ca pair[],
            ip inet, pt point, ch char(5), vc varchar(10), o oid, bo boolean, bi bit(4), r int4range
        );
        """;

    // Types created first on the slave only, so that mood, pair and their arrays have other OIDs there than on
    // the master (the arrays and composites embed the master's OIDs).
    private const string ShiftOids = "CREATE TYPE decoy AS ENUM ('x'); CREATE TYPE decoy2 AS (z int); CREATE DOMAIN decoy3 AS text";

    private const string Rows = """
        INSERT INTO odd VALUES
        ('00000000-0000-0000-0000-000000000001', 'NaN', 1e-20, 'NaN', 'Infinity', 'infinity', '-infinity', 'infinity', '24:00', '-178000000 years',
         '{1,NULL,3}', '{{"a","b"},{NULL,"q\"uote\\\\"}}', '{"k": [1, null, {"x": "é"}]}', '{"dup": 1, "dup": 2}', '', 'happy', '{sad,NULL,happy}', 7,
         ROW('NaN', NULL, 'ok'), ARRAY[ROW(1, 'x', 'sad')::pair, NULL], '10.0.0.1/8', '(1.5,-2)', 'ab', 'vc', 4294967295, true, B'1010', '[1,5)'),
        ('00000000-0000-0000-0000-000000000002', 'Infinity', -99999999999999999999.99999999999999999999, '-Infinity', '-0', '-infinity', 'infinity', '-infinity', '00:00', '1 day 2 hours',
         '{}', '{}', 'null', '[]', '\x00ff10', 'sad', '{}', 1,
         ROW(1e-100, 'text with, comma', NULL), '{}', '::1', '(0,0)', 'abcde', '', 0, false, B'0000', 'empty'),
        ('00000000-0000-0000-0000-000000000003', '-Infinity', NULL, 5e-324, 3.4e38, '4713-01-01 BC', '294276-12-31 23:59:59', '5874897-12-31', '23:59:59.999999', '0',
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        ('00000000-0000-0000-0000-000000000004', 123456789012345678901234567890.123456789, 0, 1.7976931348623157e308, 1, now(), now(), now(), now(), '1 mon',
         ARRAY[ARRAY[1,2],ARRAY[3,NULL]], '{"x"}', '{"a": 1}', '{}', decode(repeat('ab', 100000), 'hex'), 'ok', '{ok}', 2147483647,
         ROW(-0.5, repeat('z', 3000), 'happy'), ARRAY[NULL, ROW(NULL, NULL, NULL)::pair], '2001:db8::/32', '(1e300,-1e-300)', NULL, 'x', 1, NULL, B'1111', '(,)');
        """;

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public async Task Awkward_values_arrive_byte_for_byte(int rowPathMax)
    {
        Pair p = await Pair.CreateAsync(fx, "types", Schema, ShiftOids);
        await p.MasterAsync(Rows);
        RelationInfo odd = await p.RelationAsync("odd");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync(new ApplyOptions { RowPathMaxRows = rowPathMax });
        await a.ApplyAsync(RecordFactory.Concat(f.Relation(odd), f.Data(b => b.Add(odd, ChangeOp.Insert, p.RowsAsync("SELECT * FROM odd").Result))), true, default);
        await p.AssertEqualAsync("odd", "id");

        // Update a few columns (the rest absent), change a key, delete a row.
        await p.MasterAsync("""
            UPDATE odd SET n = 'NaN', ma = '{NULL}', c = ROW('-Infinity', 'é', NULL) WHERE id IN ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000004');
            UPDATE odd SET id = '00000000-0000-0000-0000-0000000000ff', ts = '-infinity' WHERE id = '00000000-0000-0000-0000-000000000001';
            DELETE FROM odd WHERE id = '00000000-0000-0000-0000-000000000003';
            """);
        int[] updated = [0, 1, 16, 18];
        Tuples upd = await p.RowsAsync("SELECT id, n, ma, c FROM odd WHERE id IN ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000004')");
        Tuples key = await p.RowsAsync("SELECT '00000000-0000-0000-0000-000000000001'::uuid, id, ts FROM odd WHERE id = '00000000-0000-0000-0000-0000000000ff'");
        Tuples del = await p.RowsAsync("SELECT '00000000-0000-0000-0000-000000000003'::uuid");
        await a.ApplyAsync(f.Data(b =>
        {
            b.Add(odd, ChangeOp.Update, upd, Sections.Mask(updated));
            b.Add(odd, ChangeOp.UpdateKey, key, Sections.Mask(0, 5));
            b.Add(odd, ChangeOp.Delete, del);
        }), true, default);
        await p.AssertEqualAsync("odd", "id");
    }

    [Fact]
    public async Task A_record_of_100k_rows_inserts_updates_and_deletes()
    {
        Pair p = await Pair.CreateAsync(fx, "big", "CREATE TABLE big (id bigint PRIMARY KEY, a int, b text, c timestamptz, d numeric)");
        await p.MasterAsync("INSERT INTO big SELECT g, g % 1000, md5(g::text), now() - g * interval '1 s', g / 7.0 FROM generate_series(1, 100000) g");
        RelationInfo big = await p.RelationAsync("big");
        using var f = new RecordFactory();
        await using RecordApplier a = await p.ApplierAsync();
        byte[] relation = f.Relation(big);
        byte[] insert = f.Data(b => b.Add(big, ChangeOp.Insert, p.RowsAsync("SELECT * FROM big").Result));
        var sw = Stopwatch.StartNew();
        await a.ApplyAsync(RecordFactory.Concat(relation, insert), true, default);
        output.WriteLine($"insert of 100000 rows ({insert.Length / 1024} kB record): {sw.ElapsedMilliseconds} ms");
        await p.AssertEqualAsync("big", "id");

        await p.MasterAsync("UPDATE big SET a = -a, b = upper(b)");
        byte[] update = f.Data(b => b.Add(big, ChangeOp.Update, p.RowsAsync("SELECT * FROM big").Result));
        sw.Restart();
        await a.ApplyAsync(update, true, default);
        output.WriteLine($"update of 100000 rows: {sw.ElapsedMilliseconds} ms");
        await p.AssertEqualAsync("big", "id");

        Tuples gone = await p.RowsAsync("SELECT id FROM big WHERE id % 2 = 0");
        await p.MasterAsync("DELETE FROM big WHERE id % 2 = 0");
        sw.Restart();
        await a.ApplyAsync(f.Data(b => b.Add(big, ChangeOp.Delete, gone)), true, default);
        output.WriteLine($"delete of 50000 rows: {sw.ElapsedMilliseconds} ms");
        await p.AssertEqualAsync("big", "id");
        Assert.Equal(50_000L, await PgTables.CountAsync(p.Slave, "big"));
        Assert.Equal(4, await p.AppliedRecnoAsync());
    }
}
