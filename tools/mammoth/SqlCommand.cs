using Mammoth.Nodes.Connections;
using Mammoth.Nodes.Sql;
using Npgsql;

namespace Mammoth.Tools.Admin;

/// <summary>
/// <c>mammoth sql</c>: a small psql. Statements come from -c, -f or standard input (interactively with a prompt
/// when it is a terminal); the guide's replication statements are rewritten into mammoth.* calls
/// (<see cref="ReplicationStatementRewriter"/>), everything else goes to PostgreSQL unchanged.
/// With -c, -f or piped input the first failing statement stops the run with exit code 1 (psql's ON_ERROR_STOP).
/// </summary>
internal static class SqlCommand
{
    public const string Usage = """
        mammoth sql: run SQL against a database, with the Mammoth Replicator statements.

        Usage:
          mammoth sql [-d CONNINFO] [-c STATEMENT | -f FILE]

        Options:
          -d CONNINFO    libpq keyword=value string (host=… port=… dbname=… user=…), or just a database name;
                         missing keywords come from PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD
          -c STATEMENT   run these statements and exit
          -f FILE        run the statements in FILE and exit (- for standard input)
          -h, --help     this text
        Without -c or -f, statements are read from standard input: with a prompt when it is a terminal
        (end each statement with ;, \q quits), as a script otherwise.

        Replication statements (rewritten into calls of the mammoth.* catalog functions):
          ALTER TABLE name ENABLE REPLICATION [ON SLAVE n]     master
          ALTER TABLE name DISABLE REPLICATION                 master
          ALTER TABLE name ALTER [COLUMN] col ENABLE LO        master (DISABLE LO undoes it)
          MCP REFRESH                                          master
          MCP BATCHUPDATE                                      batch-mode slave
          PROMOTE | PROMOTE FORCE                              slave
          PROMOTE BACK                                         promoted slave or demoted master
        Exit status: 0 success, 1 a statement failed (with -c, -f or piped input) or no connection, 2 bad arguments.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var cl = CommandLine.Parse("mammoth sql", args, ["-h", "--help"], ["-d", "-c", "-f"]);
        if (cl.Has("-h") || cl.Has("--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        cl.ExpectPositional(0, "mammoth sql [-d CONNINFO] [-c STATEMENT | -f FILE]");
        if (cl.Has("-c") && cl.Has("-f"))
            throw new UsageException("give -c STATEMENT or -f FILE, not both; see `mammoth sql --help`.");

        string? script = cl.Get("-c");
        if (cl.Get("-f") is { } file)
        {
            try
            {
                script = file == "-" ? await Console.In.ReadToEndAsync() : await File.ReadAllTextAsync(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot read {file}: {ex.Message}");
            }
        }

        string conninfo = cl.Get("-d") ?? "";
        if (conninfo.Length > 0 && !conninfo.Contains('=', StringComparison.Ordinal))
            conninfo = "dbname='" + conninfo.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
        NpgsqlConnectionStringBuilder target;
        try
        {
            target = PgConnectionStrings.FromConnInfo(conninfo, "mammoth sql");
        }
        catch (FormatException ex)
        {
            throw new UsageException(ex.Message);
        }

        // Statements are cut here, so Npgsql must send each one exactly as given (no parsing of its own).
        AppContext.SetSwitch("Npgsql.EnableSqlRewriting", false);
        var connection = new NpgsqlConnection(target.ConnectionString);
        await using (connection)
        {
            try
            {
                await connection.OpenAsync();
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                string why = ex is PostgresException pg ? pg.MessageText : ex.InnerException?.Message ?? ex.Message;
                Console.Error.WriteLine($"mammoth sql: cannot connect to {PgConnectionStrings.Describe(target)}: {why.ReplaceLineEndings(" ")}");
                return 1;
            }
            var session = new SqlSession(connection, Console.Out, Console.Error);
            if (script is not null)
                return await session.RunScriptAsync(script) ? 0 : 1;
            if (Console.IsInputRedirected)
                return await session.RunScriptAsync(await Console.In.ReadToEndAsync()) ? 0 : 1;
            await session.RunInteractiveAsync(Console.In, target.Database ?? "");
            return 0;
        }
    }
}
