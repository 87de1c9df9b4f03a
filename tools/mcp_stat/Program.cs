using Mammoth.Log.Storage;
using Mammoth.Net.Configuration;
using Mammoth.Net.Hub;
using Mammoth.Tools;

// mcp_stat [path to mcp queue]: the guide's status report, read from the MCP's files (works while it is down).
const string Usage = """
    mcp_stat: status of a MammothFast MCP queue.

    Usage: mcp_stat PATH [--json]
           mcp_stat -c mcp_server.conf [--json]

      PATH      the MCP's mcp_txlog_path
      -c FILE   read mcp_txlog_path from this mcp_server.conf
      --json    the same figures as JSON
      -h        this text
    """;

try
{
    var cl = CommandLine.Parse("mcp_stat", args, ["-h", "--help", "--json"], ["-c"]);
    if (cl.Has("-h") || cl.Has("--help"))
    {
        Console.WriteLine(Usage);
        return 0;
    }
    cl.ExpectPositional(1, "mcp_stat PATH [--json]");
    string? path = cl.Positional.Count > 0 ? cl.Positional[0] : null;
    if (cl.Get("-c") is { } conf)
        path ??= McpServerSettings.Load(conf).TxlogPath;
    if (path is null)
        throw new UsageException("give the path of the MCP queue (mcp_txlog_path) or -c mcp_server.conf; usage: mcp_stat PATH");
    McpStatusReport report = McpStatusReport.Read(path);
    Console.Write(cl.Has("--json") ? report.ToJson() + Environment.NewLine : report.ToText());
    return 0;
}
catch (Exception ex) when (ex is UsageException or ConfigException or TxLogException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"mcp_stat: {ex.Message}");
    return 2;
}
