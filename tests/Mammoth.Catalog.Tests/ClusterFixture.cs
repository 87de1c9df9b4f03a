using Mammoth.Nodes.Catalog;
using Npgsql;

namespace Mammoth.Catalog.Tests;

/// <summary>
/// One logical-WAL cluster shared by the tests of the "cluster" collection (xunit runs them one at a time).
/// Each test gets its own database; the replication slot "mammoth" is cluster-wide, so a new database first
/// drops any slot left by the previous test.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private int _databases;

    public PgCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await PgCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>A fresh database, with the catalog installed unless <paramref name="install"/> is false.</summary>
    public async Task<string> NewDatabaseAsync(bool install = true)
    {
        string name = "t" + Interlocked.Increment(ref _databases);
        await using (var admin = await Cluster.OpenAsync())
        {
            await using var drop = new NpgsqlCommand("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'mammoth'", admin);
            await drop.ExecuteNonQueryAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }
        if (install)
        {
            await using var c = await Cluster.OpenAsync(name);
            await CatalogInstaller.InstallAsync(c);
        }
        return name;
    }
}

[CollectionDefinition("cluster")]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
