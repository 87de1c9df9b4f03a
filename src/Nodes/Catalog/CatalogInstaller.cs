using System.Globalization;
using Mammoth.Nodes.Sql;
using Npgsql;

namespace Mammoth.Nodes.Catalog;

/// <summary>
/// Installs or upgrades schema <c>mammoth</c> in one database, in one transaction. Re-running it is a no-op
/// (or an upgrade). Two installers running at once are serialised by a transaction-scoped advisory lock, and
/// the second one reads the version only after the first has committed, so it finds the work done.
/// </summary>
public static class CatalogInstaller
{
    /// <summary>The catalog version this build installs.</summary>
    public static int CurrentVersion => CatalogScripts.LatestVersion;

    /// <summary>pg_advisory_xact_lock key: "Mammoth" and a 1, as bytes.</summary>
    internal const long AdvisoryLockKey = 0x4D616D6D6F746801;

    /// <summary>Installs or upgrades the catalog through an open connection (which must not be in a transaction).</summary>
    /// <exception cref="CatalogException">The server or database cannot take the catalog as it is.</exception>
    /// <exception cref="PostgresException">PostgreSQL refused a statement.</exception>
    public static async Task<CatalogInstallResult> InstallAsync(NpgsqlConnection connection, CancellationToken cancellationToken = default)
    {
        int serverVersion = int.Parse(await ScalarAsync<string>(connection, "SHOW server_version_num", cancellationToken), CultureInfo.InvariantCulture);
        if (serverVersion < 150000)
        {
            throw new CatalogException($"MammothFast needs PostgreSQL 15 or later and this server is {connection.PostgreSqlVersion}; upgrade it first");
        }
        if (!await ScalarAsync<bool>(connection, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user", cancellationToken))
        {
            throw new CatalogException($"installing the catalog needs a superuser, and {connection.UserName} is not one; connect as postgres (-U postgres) or another superuser");
        }

        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "SET LOCAL client_min_messages = error", cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_catalog.pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);

        // Read after the lock, in a new statement, so a concurrent installer's commit is visible.
        int previous = 0;
        string? installedHash = null;
        bool hasSchema = await ScalarAsync<bool>(connection, "SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'mammoth')", cancellationToken);
        if (hasSchema)
        {
            if (!await ScalarAsync<bool>(connection, "SELECT pg_catalog.to_regclass('mammoth.node_info') IS NOT NULL", cancellationToken))
            {
                throw new CatalogException("schema mammoth exists but holds no MammothFast catalog (no mammoth.node_info); rename it or drop it (DROP SCHEMA mammoth CASCADE) and run init-mammoth-database again");
            }
            string? v = await ScalarAsync<string?>(connection, "SELECT value FROM mammoth.node_info WHERE key = 'catalog_version'", cancellationToken);
            if (v is null || !int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out previous) || previous < 1)
            {
                throw new CatalogException($"mammoth.node_info has catalog_version {(v is null ? "missing" : "'" + v + "'")}, so the catalog's state is unknown; drop schema mammoth (DROP SCHEMA mammoth CASCADE) and run init-mammoth-database again");
            }
            installedHash = await ScalarAsync<string?>(connection, "SELECT value FROM mammoth.node_info WHERE key = 'catalog_functions_sha256'", cancellationToken);
        }
        if (previous > CurrentVersion)
        {
            throw new CatalogException($"the catalog in this database is version {previous}, newer than the version {CurrentVersion} this init-mammoth-database installs; use the newer MammothFast release");
        }

        foreach (var (version, _, sql) in CatalogScripts.Migrations)
        {
            if (version > previous)
                await RunScriptAsync(connection, sql, cancellationToken);
        }
        bool refreshFunctions = previous < CurrentVersion || installedHash != CatalogScripts.FunctionsSha256;
        if (refreshFunctions)
        {
            await RunScriptAsync(connection, CatalogScripts.Functions, cancellationToken);
            await using var cmd = new NpgsqlCommand(
                "INSERT INTO mammoth.node_info (key, value) VALUES ('catalog_version', $1), ('catalog_functions_sha256', $2) " +
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", connection);
            cmd.Parameters.Add(new() { Value = CurrentVersion.ToString(CultureInfo.InvariantCulture) });
            cmd.Parameters.Add(new() { Value = CatalogScripts.FunctionsSha256 });
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        bool publicationMissing = !await ScalarAsync<bool>(connection, "SELECT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = 'mammoth')", cancellationToken);
        if (publicationMissing)
            await ExecuteAsync(connection, "SELECT mammoth.sync_publication()", cancellationToken);

        await tx.CommitAsync(cancellationToken);

        string walLevel = await ScalarAsync<string>(connection, "SHOW wal_level", cancellationToken);
        var outcome = previous == 0 ? CatalogInstallOutcome.Installed
            : previous < CurrentVersion ? CatalogInstallOutcome.Upgraded
            : refreshFunctions ? CatalogInstallOutcome.FunctionsRefreshed
            : CatalogInstallOutcome.AlreadyCurrent;
        return new CatalogInstallResult(outcome, previous, CurrentVersion, walLevel, publicationMissing && previous != 0);
    }

    /// <summary>The installed catalog version, or 0 when the database has none.</summary>
    public static async Task<int> InstalledVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken = default)
    {
        if (!await ScalarAsync<bool>(connection, "SELECT pg_catalog.to_regclass('mammoth.node_info') IS NOT NULL", cancellationToken))
            return 0;
        string? v = await ScalarAsync<string?>(connection, "SELECT value FROM mammoth.node_info WHERE key = 'catalog_version'", cancellationToken);
        return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0;
    }

    /// <summary>Runs a script statement by statement in one round trip (the statements are cut by <see cref="SqlSplitter"/>).</summary>
    private static async Task RunScriptAsync(NpgsqlConnection connection, string script, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        foreach (var statement in SqlSplitter.SplitScript(script))
            batch.BatchCommands.Add(new NpgsqlBatchCommand(statement.Text));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        object? value = await cmd.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? default! : (T)value;
    }
}
