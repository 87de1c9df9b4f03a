using System.Text;
using Xunit;

namespace Mammoth.Testing;

/// <summary>
/// One PostgreSQL server per test class (<c>IClassFixture&lt;PgServerFixture&gt;</c>) and a fresh
/// database per test from <see cref="CreateDatabaseAsync"/>.
/// </summary>
/// <remarks>
/// A local cluster is the default: the PostgreSQL server binaries must be installed (initdb runs as
/// user postgres when the tests run as root). Set MAMMOTH_TEST_PG=docker|local to force a kind and
/// MAMMOTH_TEST_KEEP_CLUSTERS=1 to keep local cluster directories for inspection.
/// </remarks>
public sealed class PgServerFixture : IAsyncLifetime
{
    private static int s_databaseCounter;
    private PgServer? _server;

    /// <summary>The server; valid between InitializeAsync and DisposeAsync.</summary>
    public PgServer Server => _server ?? throw new InvalidOperationException("PgServerFixture is not initialised.");

    public async Task InitializeAsync() => _server = await PgServer.StartAsync("xunit").ConfigureAwait(false);

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync().ConfigureAwait(false);
        _server = null;
    }

    /// <summary>
    /// Creates a new database named from <paramref name="prefix"/> (lower-cased, non-alphanumerics
    /// replaced by '_') plus a unique suffix, and returns its Npgsql connection string.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test")
    {
        string name = UniqueName(prefix);
        await Server.CreateDatabaseAsync(name).ConfigureAwait(false);
        return Server.ConnectionString(name);
    }

    /// <summary>See <see cref="PgTables.CountAsync"/>.</summary>
    public Task<long> CountAsync(string connectionString, string table) => PgTables.CountAsync(connectionString, table);

    /// <summary>See <see cref="PgTables.AssertTablesEqualAsync"/>.</summary>
    public Task AssertTablesEqualAsync(string masterConnectionString, string slaveConnectionString, string table, string orderByKey) =>
        PgTables.AssertTablesEqualAsync(masterConnectionString, slaveConnectionString, table, orderByKey);

    internal static string UniqueName(string prefix)
    {
        var name = new StringBuilder();
        foreach (char c in prefix.ToLowerInvariant())
            name.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
            name.Insert(0, 'd');
        if (name.Length > 40)
            name.Length = 40;
        int n = Interlocked.Increment(ref s_databaseCounter);
        return $"{name}_{n}_{Guid.NewGuid().ToString("N")[..6]}";
    }
}
