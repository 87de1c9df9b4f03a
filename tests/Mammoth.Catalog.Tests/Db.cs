using Npgsql;

namespace Mammoth.Catalog.Tests;

/// <summary>Small helpers over a connection: run, read one value, and collect NOTICEs.</summary>
public sealed class Db : IAsyncDisposable
{
    private Db(NpgsqlConnection connection)
    {
        Connection = connection;
        connection.Notice += (_, e) =>
        {
            lock (Notices)
                Notices.Add(e.Notice.MessageText);
        };
    }

    public NpgsqlConnection Connection { get; }

    public List<string> Notices { get; } = [];

    public static async Task<Db> OpenAsync(PgCluster cluster, string database) => new(await cluster.OpenAsync(database));

    public async Task ExecAsync(string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, Connection);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, Connection);
        object? v = await cmd.ExecuteScalarAsync();
        return v is null or DBNull ? default! : (T)v;
    }

    public async Task<List<string>> ColumnAsync(string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, Connection);
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<string>();
        while (await r.ReadAsync())
            list.Add(r.IsDBNull(0) ? "NULL" : Convert.ToString(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        return list;
    }

    /// <summary>Runs a statement that must fail; returns PostgreSQL's error.</summary>
    public async Task<PostgresException> FailsAsync(string sql)
    {
        var ex = await Assert.ThrowsAsync<PostgresException>(() => ExecAsync(sql));
        return ex;
    }

    /// <summary>The tables of publication mammoth, as schema.table, sorted.</summary>
    public Task<List<string>> PublicationAsync() =>
        ColumnAsync("SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = 'mammoth' ORDER BY 1");

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
