using Mammoth.Net.Configuration;
using Npgsql;

namespace Mammoth.Nodes.Connections;

/// <summary>
/// Builds Npgsql connection strings from what users give MammothFast: a libpq conninfo
/// (<c>host=… port=… dbname=… user=…</c>, read by <see cref="ConnInfoParser"/>), or a running server's data directory.
/// Missing keywords take libpq's defaults: PGHOST / PGPORT / PGUSER / PGDATABASE / PGPASSWORD, then the Unix socket
/// directory (/var/run/postgresql, else /tmp), port 5432, the operating-system user, a database named as the user.
/// </summary>
public static class PgConnectionStrings
{
    /// <summary>Reads a conninfo string.</summary>
    /// <param name="environment">Looks up an environment variable; null for the process environment.</param>
    /// <exception cref="FormatException">One sentence, starting "conninfo …".</exception>
    public static NpgsqlConnectionStringBuilder FromConnInfo(string conninfo, string applicationName, Func<string, string?>? environment = null) =>
        FromConnInfo(ConnInfoParser.Parse(conninfo), applicationName, environment);

    /// <summary>
    /// Builds from conninfo keywords already read, such as <see cref="NodeSettings.ConnInfo"/> (replication_conninfo
    /// with dbname set from replication_database).
    /// </summary>
    /// <param name="environment">Looks up an environment variable; null for the process environment.</param>
    public static NpgsqlConnectionStringBuilder FromConnInfo(IReadOnlyDictionary<string, string> values, string applicationName, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Get(string key, string env) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : NullIfEmpty(environment(env));

        string user = Get("user", "PGUSER") ?? Environment.UserName;
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Get("host", "PGHOST") ?? DefaultSocketDirectory(),
            Port = int.Parse(Get("port", "PGPORT") ?? "5432", System.Globalization.CultureInfo.InvariantCulture),
            Database = Get("dbname", "PGDATABASE") ?? user,
            Username = user,
            ApplicationName = applicationName,
            Pooling = false,
        };
        if (Get("password", "PGPASSWORD") is { } password)
            builder.Password = password;
        if (values.TryGetValue("sslmode", out var sslMode))
        {
            builder.SslMode = sslMode switch
            {
                "disable" => SslMode.Disable,
                "allow" => SslMode.Allow,
                "prefer" => SslMode.Prefer,
                "require" => SslMode.Require,
                "verify-ca" => SslMode.VerifyCA,
                _ => SslMode.VerifyFull,
            };
        }
        return builder;
    }

    /// <summary>
    /// Connects to the server that runs on a data directory, as PostgreSQL's own tools do: through its Unix socket
    /// directory (postmaster.pid line 5), or over TCP to its listen address (line 6) when it has no socket.
    /// </summary>
    public static NpgsqlConnectionStringBuilder FromPostmaster(PostmasterPidFile postmaster, string database, string user, string applicationName)
    {
        string host;
        if (!string.IsNullOrEmpty(postmaster.SocketDirectory))
            host = postmaster.SocketDirectory;
        else if (postmaster.ListenAddress is null or "" or "*" or "0.0.0.0" or "::")
            host = "127.0.0.1";
        else
            host = postmaster.ListenAddress;
        return new NpgsqlConnectionStringBuilder
        {
            Host = host,
            Port = postmaster.Port,
            Database = database,
            Username = user,
            ApplicationName = applicationName,
            Pooling = false,
        };
    }

    /// <summary>Where the server is, for messages: "/tmp:5432" or "db1.example:5433", and the database.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder b) => $"database {b.Database} on {b.Host}:{b.Port} as {b.Username}";

    private static string DefaultSocketDirectory() => Directory.Exists("/var/run/postgresql") ? "/var/run/postgresql" : "/tmp";

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
