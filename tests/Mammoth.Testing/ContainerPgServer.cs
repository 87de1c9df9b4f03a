using Docker.DotNet.Models;
using DotNet.Testcontainers.Configurations;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Mammoth.Testing;

/// <summary>
/// A <see cref="PgServer"/> in a postgres:15 container, used only when a Docker engine answers.
/// Its mapped port can change after <see cref="StartAgainAsync"/>: ask for connection strings again.
/// </summary>
public sealed class ContainerPgServer : PgServer
{
    private const int PostgresPort = 5432;
    private readonly PostgreSqlContainer _container;

    private ContainerPgServer(PostgreSqlContainer container) => _container = container;

    public override string Description => $"container postgres:15 {_container.Id[..12]} on {Host}:{Port}";

    public override string Host => _container.Hostname;

    public override int Port => _container.GetMappedPublicPort(PostgresPort);

    public static async Task<ContainerPgServer> CreateAsync(CancellationToken ct = default)
    {
        var container = new PostgreSqlBuilder("postgres:15")
            .WithUsername("postgres")
            .WithPassword("postgres")
            .WithDatabase("postgres")
            .WithCommand("-c", "wal_level=logical", "-c", "max_replication_slots=20", "-c", "max_wal_senders=20", "-c", "fsync=off")
            .Build();
        await container.StartAsync(ct).ConfigureAwait(false);
        return new ContainerPgServer(container);
    }

    public override string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Username = "postgres",
            Password = "postgres",
            Database = database,
        }.ConnectionString;

    public override string ConnInfo(string database = "postgres") =>
        $"host={Host} port={Port} user=postgres password=postgres dbname='{database.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'";

    public override async Task KillAsync(CancellationToken ct = default)
    {
        // SIGKILL from inside the container would not reach the postmaster (PID 1 of its namespace
        // ignores it), so ask the engine, which kills the container's whole process tree.
        var endpoint = TestcontainersSettings.OS.DockerEndpointAuthConfig
            ?? throw new InvalidOperationException("The Docker engine went away.");
        using var client = endpoint.GetDockerClientBuilder(Guid.NewGuid()).Build();
        await client.Containers.KillContainerAsync(_container.Id, new ContainerKillParameters { Signal = "KILL" }, ct).ConfigureAwait(false);
        NpgsqlConnection.ClearAllPools();
    }

    public override Task StartAgainAsync(CancellationToken ct = default) => _container.StartAsync(ct);

    public override async Task StopAsync(CancellationToken ct = default)
    {
        await _container.StopAsync(ct).ConfigureAwait(false);
        NpgsqlConnection.ClearAllPools();
    }

    public override ValueTask DisposeAsync() => _container.DisposeAsync();
}
