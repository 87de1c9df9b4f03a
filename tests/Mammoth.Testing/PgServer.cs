using Npgsql;

namespace Mammoth.Testing;

/// <summary>
/// A PostgreSQL server for integration tests: a throwaway local cluster, or a postgres:15
/// container when a Docker engine answers. Both listen on TCP with user <c>postgres</c>,
/// wal_level=logical and fsync off.
/// </summary>
public abstract class PgServer : IAsyncDisposable
{
    /// <summary>Environment variable choosing the kind: <c>local</c>, <c>docker</c>, or unset (docker if it answers, else local).</summary>
    public const string KindVariable = "MAMMOTH_TEST_PG";

    /// <summary>What this server is, for messages ("local cluster 15 on 127.0.0.1:5433").</summary>
    public abstract string Description { get; }

    public abstract string Host { get; }

    /// <summary>The TCP port; for a container it may change after <see cref="StartAgainAsync"/>.</summary>
    public abstract int Port { get; }

    /// <summary>Npgsql connection string for <paramref name="database"/>.</summary>
    public abstract string ConnectionString(string database = "postgres");

    /// <summary>libpq keyword=value connection string for <paramref name="database"/>.</summary>
    public abstract string ConnInfo(string database = "postgres");

    /// <summary>SIGKILLs the server (postmaster and backends) and waits until it is gone.</summary>
    public abstract Task KillAsync(CancellationToken ct = default);

    /// <summary>Starts the server again after <see cref="KillAsync"/> or <see cref="StopAsync"/>.</summary>
    public abstract Task StartAgainAsync(CancellationToken ct = default);

    /// <summary>Fast shutdown.</summary>
    public abstract Task StopAsync(CancellationToken ct = default);

    public abstract ValueTask DisposeAsync();

    /// <summary>CREATE DATABASE <paramref name="name"/>.</summary>
    public virtual async Task CreateDatabaseAsync(string name, CancellationToken ct = default)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString()) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a server of the kind chosen by <see cref="KindVariable"/>: a container only when
    /// Docker answers (or is demanded), otherwise a local cluster.
    /// </summary>
    public static async Task<PgServer> StartAsync(string name = "test", CancellationToken ct = default)
    {
        string? kind = Environment.GetEnvironmentVariable(KindVariable)?.Trim().ToLowerInvariant();
        switch (kind)
        {
            case "docker":
                if (!DockerDetection.DockerAnswers())
                    throw new InvalidOperationException($"{KindVariable}=docker, but no Docker engine answers; start Docker or unset {KindVariable}.");
                return await ContainerPgServer.CreateAsync(ct).ConfigureAwait(false);
            case "local":
                return await LocalPgServer.CreateAsync(name, ct).ConfigureAwait(false);
            case null or "" or "auto":
                return DockerDetection.DockerAnswers()
                    ? await ContainerPgServer.CreateAsync(ct).ConfigureAwait(false)
                    : await LocalPgServer.CreateAsync(name, ct).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"{KindVariable}={kind} is not one of local, docker, auto.");
        }
    }
}
