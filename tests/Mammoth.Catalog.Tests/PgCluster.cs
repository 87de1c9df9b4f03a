using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Mammoth.Catalog.Tests;

/// <summary>
/// A throwaway PostgreSQL cluster for these tests: initdb (as user postgres when the tests run as root, since
/// initdb refuses root) into its own temp folder, a free loopback port, a Unix socket in the same folder,
/// fsync off, wal_level logical unless asked otherwise; stopped and deleted on dispose.
/// Minimal on purpose: the shared LocalCluster (src/Nodes/Clusters) replaces it once merged.
/// </summary>
public sealed class PgCluster : IAsyncDisposable
{
    public static readonly string BinDir = Environment.GetEnvironmentVariable("MAMMOTH_PG_BIN") ?? "/usr/lib/postgresql/15/bin";

    private PgCluster(string root, int port)
    {
        Root = root;
        Port = port;
    }

    public string Root { get; }

    public string DataDir => Path.Combine(Root, "data");

    public string SocketDir => Root;

    public int Port { get; }

    public static async Task<PgCluster> StartAsync(string walLevel = "logical")
    {
        if (!File.Exists(Path.Combine(BinDir, "initdb")))
            throw new InvalidOperationException($"PostgreSQL binaries not found in {BinDir}; install PostgreSQL 15+ or set MAMMOTH_PG_BIN");
        string root = Path.Combine(Path.GetTempPath(), "mammoth-catalog-tests", Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        var cluster = new PgCluster(root, FreePort());
        if (IsRoot)
            await RunAsync("chown", ["-R", "postgres:postgres", Path.GetDirectoryName(root)!]);
        await cluster.PgAsync("initdb", ["-D", cluster.DataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"]);
        await File.AppendAllTextAsync(Path.Combine(cluster.DataDir, "postgresql.conf"), $"""

            port = {cluster.Port}
            listen_addresses = '127.0.0.1'
            unix_socket_directories = '{root}'
            fsync = off
            full_page_writes = off
            wal_level = {walLevel}
            max_wal_senders = 4
            max_replication_slots = 4
            shared_buffers = 16MB
            """);
        await cluster.PgAsync("pg_ctl", ["-D", cluster.DataDir, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start"], waitForOutput: false);
        return cluster;
    }

    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = SocketDir,
        Port = Port,
        Username = "postgres",
        Database = database,
        Pooling = false,
        ApplicationName = "catalog-tests",
    }.ConnectionString;

    public async Task<NpgsqlConnection> OpenAsync(string database = "postgres")
    {
        var c = new NpgsqlConnection(ConnectionString(database));
        await c.OpenAsync();
        return c;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await PgAsync("pg_ctl", ["-D", DataDir, "-m", "immediate", "-w", "-t", "60", "stop"], waitForOutput: false);
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static bool IsRoot => Environment.UserName == "root";

    private Task PgAsync(string tool, IReadOnlyList<string> args, bool waitForOutput = true)
    {
        string exe = Path.Combine(BinDir, tool);
        return IsRoot ? RunAsync("runuser", ["-u", "postgres", "--", exe, .. args], waitForOutput) : RunAsync(exe, args, waitForOutput);
    }

    private static async Task RunAsync(string exe, IReadOnlyList<string> args, bool waitForOutput = true)
    {
        var psi = new ProcessStartInfo(exe)
        {
            // pg_ctl start leaves the server running with whatever it inherited: give it no pipes to hold open.
            RedirectStandardOutput = waitForOutput,
            RedirectStandardError = waitForOutput,
            UseShellExecute = false,
        };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = "";
        if (waitForOutput)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            output = await stdout + await stderr;
        }
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{exe} {string.Join(' ', args)} exited with {p.ExitCode}: {output}");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
