using Mammoth.Log.Records;
using Mammoth.Log.Types;
using Mammoth.Net.Diagnostics;
using Mammoth.Nodes.Catalog;
using Mammoth.Nodes.Slave;
using Mammoth.Testing;
using Npgsql;

namespace Mammoth.Slave.Tests.Support;

/// <summary>
/// A "master" database (the source of rows, read back through COPY binary exactly as the master agent ships
/// them) and a slave database with the mammoth catalog, on one test server.
/// </summary>
internal sealed class Pair
{
    private static readonly MammothLog s_quiet = new(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mammoth-slave-tests.log"), PgLogLevel.Warning);

    private Pair(string master, string slave)
    {
        Master = master;
        Slave = slave;
    }

    public string Master { get; }
    public string Slave { get; }

    /// <param name="slaveFirst">SQL run on the slave before the schema (e.g. types that shift its OIDs).</param>
    public static async Task<Pair> CreateAsync(PgServerFixture fx, string name, string schema, string? slaveFirst = null)
    {
        string master = await fx.CreateDatabaseAsync(name + "_m");
        string slave = await fx.CreateDatabaseAsync(name + "_s");
        await ExecAsync(master, schema);
        if (slaveFirst is not null)
            await ExecAsync(slave, slaveFirst);
        await ExecAsync(slave, schema);
        await using (var c = new NpgsqlConnection(slave))
        {
            await c.OpenAsync();
            await CatalogInstaller.InstallAsync(c);
        }
        return new Pair(master, slave);
    }

    public static async Task ExecAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        object? v = await cmd.ExecuteScalarAsync();
        return v is DBNull or null ? default! : (T)v;
    }

    public Task MasterAsync(string sql) => ExecAsync(Master, sql);
    public Task SlaveExecAsync(string sql) => ExecAsync(Slave, sql);

    /// <summary>The RELATION of a master table: its OID as table id, columns, types, primary key.</summary>
    public Task<RelationInfo> RelationAsync(string table) => RelationAsync(Master, table);

    public static async Task<RelationInfo> RelationAsync(string cs, string table)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT c.oid, n.nspname, c.relname, a.attname, a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod),
                   coalesce(a.attnum = ANY (i.indkey), false)
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
             WHERE c.oid = $1::regclass ORDER BY a.attnum
            """, c);
        cmd.Parameters.AddWithValue(table);
        await using var r = await cmd.ExecuteReaderAsync();
        uint id = 0;
        string schema = "", name = "";
        var cols = new List<ColumnInfo>();
        while (await r.ReadAsync())
        {
            id = r.GetFieldValue<uint>(0);
            schema = r.GetString(1);
            name = r.GetString(2);
            cols.Add(new ColumnInfo(r.GetString(3), r.GetFieldValue<uint>(4), r.GetInt32(5), r.GetString(6), r.GetBoolean(7)));
        }
        return new RelationInfo(id, schema, name, cols);
    }

    /// <summary>Rows of a query on the master as binary-COPY tuples back to back (what a section carries).</summary>
    public Task<Tuples> RowsAsync(string query) => CopyOutAsync(Master, query);

    public static async Task<Tuples> CopyOutAsync(string cs, string query)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        var ms = new MemoryStream();
        await using (var raw = await c.BeginRawBinaryCopyAsync($"COPY ({query}) TO STDOUT (FORMAT binary)"))
            await raw.CopyToAsync(ms);
        byte[] all = ms.ToArray();
        var reader = new CopyBinaryReader(all);
        Assert.Equal(CopyBinaryStatus.Done, reader.ReadHeader());
        int start = reader.Consumed;
        int rows = 0;
        short fields = 0;
        while (reader.ReadTuple(out CopyTuple t) == CopyBinaryStatus.Done)
        {
            rows++;
            fields = (short)t.FieldCount;
        }
        int end = all.Length - CopyBinaryFormat.TrailerLength;
        return new Tuples(all[start..end], rows, fields);
    }

    /// <summary>A RecordApplier on the slave database (what the agent runs, without the MCP).</summary>
    public async Task<RecordApplier> ApplierAsync(ApplyOptions? options = null, int slaveNo = 0, MammothLog? log = null)
    {
        NpgsqlDataSource ds = RecordApplier.CreateDataSource(new NpgsqlConnectionStringBuilder(Slave));
        var a = new RecordApplier(ds, slaveNo, log ?? s_quiet, options);
        await a.OpenAsync(CancellationToken.None);
        return a;
    }

    public Task<long> AppliedRecnoAsync() => ScalarAsync<long>(Slave, "SELECT applied_recno FROM mammoth.slave_progress");

    public Task AssertEqualAsync(string table, string key) => PgTables.AssertTablesEqualAsync(Master, Slave, table, key);
}

/// <summary>Encoded tuples, their count and fields per tuple.</summary>
internal sealed record Tuples(byte[] Bytes, int Count, short Fields);
