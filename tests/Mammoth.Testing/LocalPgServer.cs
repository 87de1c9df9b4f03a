using Mammoth.Nodes.Clusters;

namespace Mammoth.Testing;

/// <summary>A <see cref="PgServer"/> backed by a throwaway <see cref="LocalCluster"/>.</summary>
public sealed class LocalPgServer : PgServer
{
    private LocalPgServer(LocalCluster cluster) => Cluster = cluster;

    /// <summary>The cluster, for what only a local server can do (its log, data directory, settings).</summary>
    public LocalCluster Cluster { get; }

    public override string Description => $"local cluster PostgreSQL {Cluster.MajorVersion} on {Host}:{Port} ({Cluster.Directory})";

    public override string Host => Cluster.Host;

    public override int Port => Cluster.Port;

    public static async Task<LocalPgServer> CreateAsync(string name, CancellationToken ct = default)
    {
        var options = new LocalClusterOptions
        {
            Name = name,
            KeepOnDispose = Environment.GetEnvironmentVariable("MAMMOTH_TEST_KEEP_CLUSTERS") == "1",
        };
        return new LocalPgServer(await LocalCluster.StartAsync(options, ct).ConfigureAwait(false));
    }

    public override string ConnectionString(string database = "postgres") => Cluster.ConnectionString(database);

    public override string ConnInfo(string database = "postgres") => Cluster.ConnInfo(database);

    public override Task CreateDatabaseAsync(string name, CancellationToken ct = default) => Cluster.CreateDatabaseAsync(name, ct);

    public override Task KillAsync(CancellationToken ct = default) => Cluster.KillAsync(ct);

    public override Task StartAgainAsync(CancellationToken ct = default) => Cluster.StartAgainAsync(ct);

    public override Task StopAsync(CancellationToken ct = default) => Cluster.StopAsync(fast: true, ct);

    public override ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
