using System.Runtime.InteropServices;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Nodes.Agent;
using Mammoth.Tools;

// mammoth-node -c FILE [-l LOGFILE]: the agent beside one PostgreSQL database (master or slave).
const string Usage = """
    mammoth-node: the MammothFast agent beside one PostgreSQL database.

    Usage: mammoth-node -c <node configuration file> [-l <log file>]

      -c FILE   node.conf: the guide's replication_* settings plus replication_conninfo (docs/configuration.md)
      -l FILE   log file (default: stderr)
      -h        this text

    SIGTERM or SIGINT: stop cleanly. SIGHUP: reopen the log file and reload what can be reloaded.
    """;

string? confPath;
string? logPath;
try
{
    var cl = CommandLine.Parse("mammoth-node", args, ["-h", "--help"], ["-c", "-l"]);
    if (cl.Has("-h") || cl.Has("--help"))
    {
        Console.WriteLine(Usage);
        return 0;
    }
    cl.ExpectPositional(0, "mammoth-node -c <node configuration file> [-l <log file>]");
    confPath = cl.Get("-c") ?? throw new UsageException("give the node configuration file with -c; usage: mammoth-node -c node.conf [-l node.log]");
    logPath = cl.Get("-l");
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"mammoth-node: {ex.Message}");
    return 2;
}

NodeSettings settings;
MammothLog log;
try
{
    settings = NodeSettings.Load(confPath);
    log = new MammothLog(logPath, settings.LogLevel);
}
catch (Exception ex) when (ex is ConfigException or IOException)
{
    Console.Error.WriteLine($"mammoth-node: {ex.Message}");
    return 2;
}
foreach (string w in settings.Warnings)
    log.Write(PgLogLevel.Warning, w);

using var stop = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
{
    ctx.Cancel = true;
    log.Reopen();
    try
    {
        NodeSettings next = NodeSettings.Load(confPath);
        foreach (string name in NodeSettings.NonReloadableChanges(settings, next))
            log.Write(PgLogLevel.Warning, $"{next.FileName}: {name} changed but takes effect only after a restart of mammoth-node");
        log.Level = next.LogLevel;
        NodeAgent.Reload(next);
    }
    catch (ConfigException ex)
    {
        log.Write(PgLogLevel.Error, $"configuration not reloaded: {ex.Message}");
    }
});

log.Write(PgLogLevel.Log, $"mammoth-node starting: {(settings.Mode?.ToString().ToLowerInvariant() ?? "disabled")}{(settings.SlaveNo is int n ? $" {n}" : "")}, MCP {settings.McpAddress}:{settings.McpPort}");
try
{
    await NodeAgent.RunAsync(settings, log, stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}
catch (ConfigException ex)
{
    log.Write(PgLogLevel.Fatal, ex.Message);
    Console.Error.WriteLine($"mammoth-node: {ex.Message}");
    return 2;
}
log.Write(PgLogLevel.Log, "mammoth-node stopped");
log.Dispose();
return 0;
