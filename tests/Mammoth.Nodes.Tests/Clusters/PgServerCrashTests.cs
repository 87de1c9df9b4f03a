using Mammoth.Testing;
using Npgsql;
using Xunit;
using static Mammoth.Nodes.Tests.Clusters.PgServerFixtureTests;

namespace Mammoth.Nodes.Tests.Clusters;

// A class of its own: killing the server must not disturb other tests' server.
public sealed class PgServerCrashTests : IClassFixture<PgServerFixture>
{
    private readonly PgServerFixture _fixture;

    public PgServerCrashTests(PgServerFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task Kill_then_start_again_keeps_committed_rows_and_drops_open_transaction()
    {
        string db = await _fixture.CreateDatabaseAsync("crash");
        await ExecuteAsync(db, "CREATE TABLE t (id int PRIMARY KEY)");
        // The cluster runs with synchronous_commit=off; a commit that must survive SIGKILL of
        // every server process has to reach the kernel first, hence 'on' for this transaction.
        await ExecuteAsync(db, "BEGIN; SET LOCAL synchronous_commit = on; INSERT INTO t SELECT generate_series(1, 100); COMMIT");

        await using var open = new NpgsqlConnection(db);
        await open.OpenAsync();
        await using var transaction = await open.BeginTransactionAsync();
        await ExecuteAsync(open, "INSERT INTO t SELECT generate_series(101, 200)");

        await _fixture.Server.KillAsync();

        await using (var probe = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(db) { Pooling = false, Timeout = 2 }.ConnectionString))
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => probe.OpenAsync());

        await _fixture.Server.StartAgainAsync();
        string again = _fixture.Server.ConnectionString(new NpgsqlConnectionStringBuilder(db).Database!);
        Assert.Equal(100, await _fixture.CountAsync(again, "t"));

        // And it takes writes again.
        await ExecuteAsync(again, "INSERT INTO t VALUES (1000)");
        Assert.Equal(101, await _fixture.CountAsync(again, "t"));
    }
}
