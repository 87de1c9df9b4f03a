using Mammoth.Testing;
using Npgsql;
using Xunit;
using Xunit.Sdk;

namespace Mammoth.Nodes.Tests.Clusters;

public sealed class PgServerFixtureTests : IClassFixture<PgServerFixture>
{
    private readonly PgServerFixture _fixture;

    public PgServerFixtureTests(PgServerFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task Server_accepts_connections_with_replication_settings()
    {
        await using var connection = new NpgsqlConnection(_fixture.Server.ConnectionString());
        await connection.OpenAsync();
        Assert.Equal("logical", await ScalarAsync<string>(connection, "SHOW wal_level"));
        Assert.Equal("20", await ScalarAsync<string>(connection, "SHOW max_replication_slots"));
        Assert.Equal("off", await ScalarAsync<string>(connection, "SHOW fsync"));
        Assert.Equal("postgres", await ScalarAsync<string>(connection, "SELECT current_user"));
    }

    [Fact]
    public async Task CreateDatabaseAsync_gives_a_fresh_database_each_time()
    {
        string first = await _fixture.CreateDatabaseAsync("Fixture Test!");
        string second = await _fixture.CreateDatabaseAsync("Fixture Test!");
        Assert.NotEqual(first, second);

        await using var connection = new NpgsqlConnection(first);
        await connection.OpenAsync();
        string name = await ScalarAsync<string>(connection, "SELECT current_database()");
        Assert.StartsWith("fixture_test__", name, StringComparison.Ordinal);
        await ExecuteAsync(connection, "CREATE TABLE t (id int PRIMARY KEY)");
        Assert.Equal(0, await _fixture.CountAsync(first, "t"));
        await ExecuteAsync(connection, "INSERT INTO t SELECT generate_series(1, 42)");
        Assert.Equal(42, await _fixture.CountAsync(first, "t"));
    }

    [Fact]
    public async Task AssertTablesEqualAsync_passes_on_equal_tables()
    {
        var (master, slave) = await TwoTablesAsync();
        await _fixture.AssertTablesEqualAsync(master, slave, "t", "id");
    }

    [Fact]
    public async Task AssertTablesEqualAsync_fails_on_a_differing_row_and_names_it()
    {
        var (master, slave) = await TwoTablesAsync();
        await ExecuteAsync(slave, "UPDATE t SET v = 'changed' WHERE id = 7");

        var failure = await Assert.ThrowsAsync<XunitException>(() => _fixture.AssertTablesEqualAsync(master, slave, "t", "id"));
        Assert.Contains("key (7)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("(7,row7)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("(7,changed)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("rows: master 10, slave 10", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AssertTablesEqualAsync_fails_on_a_missing_row_and_counts_rows()
    {
        var (master, slave) = await TwoTablesAsync();
        await ExecuteAsync(slave, "DELETE FROM t WHERE id = 10");

        var failure = await Assert.ThrowsAsync<XunitException>(() => _fixture.AssertTablesEqualAsync(master, slave, "t", "id"));
        Assert.Contains("(10,row10)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("(no row)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("rows: master 10, slave 9", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AssertTablesEqualAsync_sees_a_NULL_that_differs_from_empty()
    {
        var (master, slave) = await TwoTablesAsync();
        await ExecuteAsync(master, "UPDATE t SET v = NULL WHERE id = 3");
        await ExecuteAsync(slave, "UPDATE t SET v = '' WHERE id = 3");

        var failure = await Assert.ThrowsAsync<XunitException>(() => _fixture.AssertTablesEqualAsync(master, slave, "t", "id"));
        Assert.Contains("key (3)", failure.Message, StringComparison.Ordinal);
    }

    private async Task<(string Master, string Slave)> TwoTablesAsync()
    {
        string master = await _fixture.CreateDatabaseAsync("master");
        string slave = await _fixture.CreateDatabaseAsync("slave");
        foreach (var db in new[] { master, slave })
            await ExecuteAsync(db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'row' || i FROM generate_series(1, 10) i");
        return (master, slave);
    }

    internal static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, sql);
    }

    internal static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    internal static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
