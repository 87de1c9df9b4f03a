using Mammoth.Net.Configuration;
using Mammoth.Nodes.Slave;
using Mammoth.Tools;

// slave_stat [path to slave replication log]: the guide's records received / records restored, and the rest
// of what the slave agent reports, read from its status file (works while the agent is down).
const string Usage = """
    slave_stat: status of a MammothFast slave.

    Usage: slave_stat PATH [--json]
           slave_stat -c node.conf [--json]

      PATH      the slave's replication_data_path (the guide's "slave replication log"), or its slave_status.json
      -c FILE   read replication_data_path from this node.conf
      --json    the same figures as JSON
      -h        this text

    The first two lines are the guide's: records received (the newest record the agent received from the MCP)
    and records restored (the newest record applied and committed in the slave's database).
    """;

try
{
    var cl = CommandLine.Parse("slave_stat", args, ["-h", "--help", "--json"], ["-c"]);
    if (cl.Has("-h") || cl.Has("--help"))
    {
        Console.WriteLine(Usage);
        return 0;
    }
    cl.ExpectPositional(1, "slave_stat PATH [--json]");
    string? path = cl.Positional.Count > 0 ? cl.Positional[0] : null;
    if (path is null && cl.Get("-c") is { } conf)
        path = NodeSettings.Load(conf).DataPath;
    if (string.IsNullOrWhiteSpace(path))
        throw new UsageException("give the path of the slave replication log (replication_data_path) or -c node.conf; usage: slave_stat PATH");
    SlaveAgentStatus status = SlaveAgentStatus.Read(path);
    Console.Write(cl.Has("--json") ? status.ToJson() + Environment.NewLine : status.ToText(DateTime.UtcNow, status.AgentIsAlive()));
    return 0;
}
catch (Exception ex) when (ex is UsageException or ConfigException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"slave_stat: {ex.Message}");
    return 2;
}
