using System.Runtime.InteropServices;
using Mammoth.Log.Storage;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Hub;
using Mammoth.Tools;

// mcp_server -c <configuration file> -l <log file>: the MCP daemon (runs in the foreground; use & or a service manager).
const string Usage = """
    mcp_server: the MammothFast MCP (master control process).

    Usage: mcp_server -c <configuration file> [-l <log file>]

      -c FILE   mcp_server.conf (postgresql.conf syntax; settings in docs/configuration.md)
      -l FILE   log file (default: stderr)
      -h        this text

    Writes mcp_server.pid in mcp_txlog_path. SIGTERM or SIGINT: flush and stop. SIGHUP: reload the
    configuration (and reopen the log file).
    """;

CommandLine cl;
try
{
    cl = CommandLine.Parse("mcp_server", args, ["-h", "--help"], ["-c", "-l"]);
    if (cl.Has("-h") || cl.Has("--help"))
    {
        Console.WriteLine(Usage);
        return 0;
    }
    cl.ExpectPositional(0, "mcp_server -c <configuration file> -l <log file>");
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"mcp_server: {ex.Message}");
    return 2;
}

string? confPath = cl.Get("-c");
if (confPath is null)
{
    Console.Error.WriteLine("mcp_server: give the configuration file with -c; usage: mcp_server -c <configuration file> -l <log file>");
    return 2;
}

McpServerSettings settings;
MammothLog log;
try
{
    settings = McpServerSettings.Load(confPath);
    log = new MammothLog(cl.Get("-l"), settings.LogLevel);
}
catch (ConfigException ex)
{
    Console.Error.WriteLine($"mcp_server: {ex.Message}");
    return 2;
}
catch (IOException ex)
{
    Console.Error.WriteLine($"mcp_server: {ex.Message}");
    return 2;
}

foreach (string w in settings.Warnings)
    log.Write(PgLogLevel.Warning, w);

string pidFile = Path.Combine(settings.TxlogPath, "mcp_server.pid");
await using var server = new McpServer(settings, log);
var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
bool wrotePid = false;
try
{
    await server.StartAsync(owned: () =>
    {
        File.WriteAllText(pidFile, Environment.ProcessId + "\n");
        wrotePid = true;
    });
}
catch (TxLogLockedException)
{
    string other = File.Exists(pidFile) ? File.ReadAllText(pidFile).Trim() : "?";
    string message = $"another mcp_server (pid {other}, see {pidFile}) is already running on mcp_txlog_path {settings.TxlogPath}; stop it first";
    Fatal(message);
    return 2;
}
catch (Exception ex) when (ex is TxLogException or ConfigException or IOException or UnauthorizedAccessException)
{
    Fatal(ex.Message);
    if (wrotePid)
        File.Delete(pidFile); // e.g. the port was taken after the txlog was opened
    return 2;
}

// A fatal start error goes to the log file and, when there is one, also to the terminal.
void Fatal(string message)
{
    log.Write(PgLogLevel.Fatal, message);
    if (log.Path is not null)
        Console.Error.WriteLine($"mcp_server: {message}");
}

using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stopped.TrySetResult(); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stopped.TrySetResult(); });
using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
{
    ctx.Cancel = true;
    try
    {
        log.Reopen();
        server.Reload(McpServerSettings.Load(confPath));
    }
    catch (ConfigException ex)
    {
        log.Write(PgLogLevel.Error, $"configuration not reloaded: {ex.Message}");
    }
});

await stopped.Task;
await server.StopAsync();
try
{
    File.Delete(pidFile);
}
catch (IOException)
{
}
log.Dispose();
return 0;
