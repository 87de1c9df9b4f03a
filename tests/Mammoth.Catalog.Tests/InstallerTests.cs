using Mammoth.Nodes.Catalog;

namespace Mammoth.Catalog.Tests;

[Collection("cluster")]
public sealed class InstallerTests(ClusterFixture fx)
{
    [Fact]
    public async Task Install_then_reinstall_is_a_no_op()
    {
        string db = await fx.NewDatabaseAsync(install: false);
        await using var c = await fx.Cluster.OpenAsync(db);
        var first = await CatalogInstaller.InstallAsync(c);
        Assert.Equal(CatalogInstallOutcome.Installed, first.Outcome);
        Assert.Equal(0, first.PreviousVersion);
        Assert.Equal(CatalogInstaller.CurrentVersion, first.Version);
        Assert.Equal("logical", first.WalLevel);

        var second = await CatalogInstaller.InstallAsync(c);
        Assert.Equal(CatalogInstallOutcome.AlreadyCurrent, second.Outcome);
        Assert.Equal(CatalogInstaller.CurrentVersion, await CatalogInstaller.InstalledVersionAsync(c));

        await using var d = await Db.OpenAsync(fx.Cluster, db);
        Assert.Equal(["mammoth.lo_columns", "mammoth.replicated_tables", "mammoth.requests"], await d.PublicationAsync());
        Assert.Equal(1L, await d.ScalarAsync<long>("SELECT count(*) FROM mammoth.slave_progress"));
        Assert.Equal(
            ["lo_columns", "node_info", "replicated_tables", "requests", "slave_progress", "slave_relations", "table_dumps", "table_sync"],
            await d.ColumnAsync("SELECT tablename FROM pg_tables WHERE schemaname = 'mammoth' ORDER BY 1"));
    }

    [Fact]
    public async Task Concurrent_installers_serialise_on_the_advisory_lock()
    {
        string db = await fx.NewDatabaseAsync(install: false);
        await using var a = await fx.Cluster.OpenAsync(db);
        await using var b = await fx.Cluster.OpenAsync(db);
        var results = await Task.WhenAll(CatalogInstaller.InstallAsync(a), CatalogInstaller.InstallAsync(b));
        Assert.Single(results, r => r.Outcome == CatalogInstallOutcome.Installed);
        Assert.Single(results, r => r.Outcome == CatalogInstallOutcome.AlreadyCurrent);
    }

    [Fact]
    public async Task Changed_functions_are_applied_again_and_a_missing_publication_is_recreated()
    {
        string db = await fx.NewDatabaseAsync();
        await using var d = await Db.OpenAsync(fx.Cluster, db);
        await d.ExecAsync("UPDATE mammoth.node_info SET value = 'stale' WHERE key = 'catalog_functions_sha256'");
        await d.ExecAsync("DROP FUNCTION mammoth.promote_back()");
        await d.ExecAsync("DROP PUBLICATION mammoth");
        var r = await CatalogInstaller.InstallAsync(d.Connection);
        Assert.Equal(CatalogInstallOutcome.FunctionsRefreshed, r.Outcome);
        Assert.True(r.PublicationRecreated);
        Assert.Equal(3, (await d.PublicationAsync()).Count);
        Assert.Equal(1L, await d.ScalarAsync<long>("SELECT mammoth.promote_back()"));
    }

    [Fact]
    public async Task A_foreign_schema_named_mammoth_and_a_non_superuser_are_refused()
    {
        string db = await fx.NewDatabaseAsync(install: false);
        await using (var d = await Db.OpenAsync(fx.Cluster, db))
        {
            await d.ExecAsync("CREATE SCHEMA mammoth");
            var ex = await Assert.ThrowsAsync<CatalogException>(() => CatalogInstaller.InstallAsync(d.Connection));
            Assert.Contains("schema mammoth exists but holds no MammothFast catalog", ex.Message);
            await d.ExecAsync("DROP SCHEMA mammoth; CREATE ROLE plain LOGIN");
        }
        var cs = new Npgsql.NpgsqlConnectionStringBuilder(fx.Cluster.ConnectionString(db)) { Username = "plain" };
        await using var p = new Npgsql.NpgsqlConnection(cs.ConnectionString);
        await p.OpenAsync();
        var ex2 = await Assert.ThrowsAsync<CatalogException>(() => CatalogInstaller.InstallAsync(p));
        Assert.Contains("needs a superuser, and plain is not one", ex2.Message);
        await using var admin = await Db.OpenAsync(fx.Cluster, db);
        await admin.ExecAsync("DROP ROLE plain");
    }
}
