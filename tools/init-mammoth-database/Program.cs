using Mammoth.Nodes.Catalog;
using Mammoth.Nodes.Connections;
using Mammoth.Tools;
using Npgsql;

// init-mammoth-database: install or upgrade the MammothFast catalog in one database.
// Exit codes: 0 done, 1 the server could not be reached or refused, 2 bad arguments.
const string Tool = "init-mammoth-database";
const string Usage = """
    init-mammoth-database: install or upgrade the MammothFast catalog (schema mammoth) in a database.
    Run it on the master and on every slave; running it again is harmless.

    Usage:
      init-mammoth-database -D DATADIR DATABASE [-U USER]
      init-mammoth-database --dsn 'host=HOST port=PORT dbname=DATABASE user=USER'

    Options:
      -D DATADIR       data directory of the running server; its postmaster.pid says how to reach it
                       (the Unix socket directory, else the listen address, and the port)
      DATABASE         the replicated database (the same name on the master and every slave)
      -U USER          connect as USER instead of postgres; it must be a superuser
      --dsn CONNINFO   a libpq keyword=value string (host, port, dbname, user, password, sslmode)
      -h, --help       this text
    Exit status: 0 done, 1 the server could not be reached or refused, 2 bad arguments.
    """;

try
{
    var cl = CommandLine.Parse(Tool, args, ["-h", "--help"], ["-D", "-U", "--dsn"]);
    if (cl.Has("-h") || cl.Has("--help"))
    {
        Console.WriteLine(Usage);
        return 0;
    }
    NpgsqlConnectionStringBuilder target;
    if (cl.Get("--dsn") is { } dsn)
    {
        if (cl.Has("-D") || cl.Has("-U") || cl.Positional.Count > 0)
            throw new UsageException("give either --dsn CONNINFO or -D DATADIR DATABASE, not both; see `init-mammoth-database --help`.");
        try
        {
            target = PgConnectionStrings.FromConnInfo(dsn, Tool);
        }
        catch (FormatException ex)
        {
            throw new UsageException(ex.Message);
        }
    }
    else
    {
        string dataDir = cl.Get("-D") ?? throw new UsageException("give the data directory (-D DATADIR) and the database, or --dsn CONNINFO; usage: init-mammoth-database -D DATADIR DATABASE");
        if (cl.Positional.Count == 0)
            throw new UsageException("give the database to install the catalog in; usage: init-mammoth-database -D DATADIR DATABASE");
        cl.ExpectPositional(1, "init-mammoth-database -D DATADIR DATABASE");
        var postmaster = PostmasterPidFile.Read(dataDir);
        target = PgConnectionStrings.FromPostmaster(postmaster, cl.Positional[0], cl.Get("-U") ?? "postgres", Tool);
    }

    await using var connection = new NpgsqlConnection(target.ConnectionString);
    try
    {
        await connection.OpenAsync();
    }
    catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
    {
        Console.Error.WriteLine($"{Tool}: cannot connect to {PgConnectionStrings.Describe(target)}: {OneLine(ex)}");
        return 1;
    }
    var result = await CatalogInstaller.InstallAsync(connection);
    Console.WriteLine($"{Tool}: {result.Describe(target.Database!)}");
    if (result.PublicationRecreated)
        Console.WriteLine($"{Tool}: publication mammoth was missing and has been created again");
    if (result.WalLevel != "logical")
        Console.Error.WriteLine($"{Tool}: WARNING: wal_level is {result.WalLevel}; a master needs wal_level = logical (set it in postgresql.conf and restart PostgreSQL), slaves do not");
    return 0;
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"{Tool}: {ex.Message}");
    return 2;
}
catch (Exception ex) when (ex is PostmasterPidException or CatalogException)
{
    Console.Error.WriteLine($"{Tool}: {ex.Message}");
    return 1;
}
catch (PostgresException ex)
{
    Console.Error.WriteLine($"{Tool}: ERROR:  {ex.MessageText}");
    return 1;
}
catch (NpgsqlException ex)
{
    Console.Error.WriteLine($"{Tool}: {OneLine(ex)}");
    return 1;
}

static string OneLine(Exception ex) => (ex is PostgresException pg ? pg.MessageText : (ex.InnerException?.Message ?? ex.Message)).ReplaceLineEndings(" ");
