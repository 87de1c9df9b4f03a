using Mammoth.Tools;
using Mammoth.Tools.Admin;

// mammoth: the MammothFast admin CLI. Each sub-command lives in its own class; this file only dispatches.
// Exit codes: 0 success, 1 a server error (or a failed statement in a script), 2 bad arguments.
const string Usage = """
    mammoth: MammothFast administration.

    Usage:
      mammoth sql [-d CONNINFO] [-c STATEMENT | -f FILE]
                      run SQL like psql, with the guide's replication statements
                      (ALTER TABLE t ENABLE REPLICATION [ON SLAVE n], MCP REFRESH, PROMOTE, …)
      mammoth demo [--seconds N] [--dir PATH] [--keep]
                      run a master, two slaves, an MCP and three agents here, replicate a
                      workload, show mcp_stat and slave_stat, compare every table
      mammoth --help  this text; `mammoth COMMAND --help` for one command
    Exit status: 0 success, 1 server error or failed statement, 2 bad arguments.
    """;

try
{
    if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
    {
        Console.WriteLine(Usage);
        return args.Length == 0 ? 2 : 0;
    }
    return args[0] switch
    {
        "sql" => await SqlCommand.RunAsync(args[1..]),
        "demo" => await DemoCommand.RunAsync(args[1..]),
        _ => throw new UsageException($"unknown command \"{args[0]}\"; the commands are: sql, demo (see `mammoth --help`)."),
    };
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"mammoth: {ex.Message}");
    return 2;
}
