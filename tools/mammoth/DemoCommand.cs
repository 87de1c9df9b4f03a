using System.Diagnostics;
using System.Globalization;
using System.Text;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Hub;
using Mammoth.Nodes.Catalog;
using Mammoth.Nodes.Clusters;
using Npgsql;

namespace Mammoth.Tools.Admin;

/// <summary>
/// <c>mammoth demo</c>: the main job end to end on this machine — a master and two slaves (throwaway
/// PostgreSQL clusters), an MCP and three agents as real processes, sample tables (one for slave 0 only),
/// a mixed workload with a live progress line, the status tools, and a table-by-table comparison.
/// </summary>
internal static class DemoCommand
{
    public const string Usage = """
        mammoth demo: run a master, two slaves, an MCP and three agents on this machine, replicate a
        mixed workload, show mcp_stat and slave_stat, and compare every table on every node.

        Usage: mammoth demo [--seconds N] [--dir PATH] [--keep]

          --seconds N   how long the workload runs (default 20)
          --dir PATH    where the clusters, configuration and logs go (default: a new folder in /tmp)
          --keep        leave everything running and print how to connect and how to stop it
          -h, --help    this text
        Exit status: 0 when every table is identical on the master and its slaves, 1 otherwise, 2 bad arguments.
        """;

    private const string Database = "demo";
    private const string AuthKey = "demo-authkey-change-me";

    private static readonly string[] Schema =
    [
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric, ratio float8, mood mood, updated timestamptz)",
        "CREATE TABLE events (id uuid PRIMARY KEY, kind text, payload jsonb, tags text[], scores int[], at timestamptz)",
        "CREATE TABLE docs (id int PRIMARY KEY, title text, body text, blob bytea)",
        "CREATE TABLE measurements (sensor int, ts timestamptz, value numeric, PRIMARY KEY (sensor, ts))",
    ];

    /// <summary>Table → which slaves get it (null: all) and the ORDER BY of its checksum.</summary>
    private static readonly (string Table, int[]? Slaves, string Key)[] Tables =
    [
        ("accounts", null, "id"),
        ("events", null, "id"),
        ("docs", null, "id"),
        ("measurements", [0], "sensor, ts"),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var cl = CommandLine.Parse("mammoth demo", args, ["--keep", "-h", "--help"], ["--seconds", "--dir"]);
        if (cl.Has("-h") || cl.Has("--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        cl.ExpectPositional(0, "mammoth demo [--seconds N] [--dir PATH] [--keep]");
        int seconds = (int)cl.GetLong("--seconds", 20, 1, 3600);
        bool keep = cl.Has("--keep");
        string dir = Path.GetFullPath(cl.Get("--dir") ?? Path.Combine("/tmp", "mammoth-demo-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new UsageException($"demo folder {dir} is not empty; give another --dir or remove it.");
        Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);

        string tools = Path.GetDirectoryName(Environment.ProcessPath) ?? AppContext.BaseDirectory;
        foreach (string t in new[] { "mcp_server", "mammoth-node" })
        {
            if (!File.Exists(Path.Combine(tools, t)))
                throw new UsageException($"{t} is not beside mammoth in {tools}; run ./build.sh and use bin/mammoth.");
        }

        var demo = new Demo(dir, tools, keep);
        int result = 1;
        try
        {
            result = await demo.RunAsync(seconds).ConfigureAwait(false);
            if (result != 0)
                Console.Error.WriteLine($"mammoth demo: the logs and clusters are kept in {dir} for inspection");
            return result;
        }
        catch (Exception ex) when (ex is LocalClusterException or NpgsqlException or IOException or TimeoutException or CatalogException)
        {
            Console.Error.WriteLine($"mammoth demo: {ex.Message}");
            Console.Error.WriteLine($"mammoth demo: logs are in {dir}");
            await demo.StopAsync(force: true, deleteFolder: false).ConfigureAwait(false);
            return 1;
        }
        finally
        {
            if (!keep)
                await demo.StopAsync(force: false, deleteFolder: result == 0).ConfigureAwait(false);
        }
    }

    private sealed class Demo(string dir, string tools, bool keep)
    {
        private readonly List<LocalCluster> _clusters = [];
        private readonly List<(string Name, Process Process)> _processes = [];
        private LocalCluster _master = null!;
        private LocalCluster[] _slaves = [];
        private string QueuePath => Path.Combine(dir, "mcp", "queue");

        private static void Step(string text) => Console.WriteLine($"==> {text}");

        public async Task<int> RunAsync(int seconds)
        {
            Step($"starting a master and two slaves (PostgreSQL clusters in {dir})");
            foreach (string name in new[] { "master", "slave0", "slave1" })
            {
                LocalCluster c = await LocalCluster.StartAsync(new LocalClusterOptions
                {
                    BaseDirectory = dir,
                    Name = name,
                    KeepOnDispose = true, // the demo decides: kept with --keep or after a failure
                    Settings = new Dictionary<string, string> { ["synchronous_commit"] = "on" },
                }).ConfigureAwait(false);
                _clusters.Add(c);
                await c.CreateDatabaseAsync(Database).ConfigureAwait(false);
                await using var conn = new NpgsqlConnection(c.ConnectionString(Database));
                await conn.OpenAsync().ConfigureAwait(false);
                await CatalogInstaller.InstallAsync(conn).ConfigureAwait(false);
                foreach (string ddl in Schema)
                    await Exec(conn, ddl).ConfigureAwait(false);
                Console.WriteLine($"    {name,-7} port {c.Port}, database {Database}, catalog installed, schema created");
            }
            _master = _clusters[0];
            _slaves = [_clusters[1], _clusters[2]];

            int mcpPort = FreePort();
            Step($"starting mcp_server on 127.0.0.1:{mcpPort}");
            string mcpDir = Directory.CreateDirectory(Path.Combine(dir, "mcp")).FullName;
            await File.WriteAllTextAsync(Path.Combine(mcpDir, "mcp_server.conf"), $"""
                mcp_listen_address = 127.0.0.1
                mcp_listen_port = {mcpPort}
                mcp_authkey = '{AuthKey}'
                mcp_max_slaves = 2
                mcp_slave_addresses = '0:127.0.0.1,1:127.0.0.1'
                mcp_queue_min_size = 64MB
                mcp_queue_max_size = 1GB
                mcp_txlog_path = '{QueuePath}'
                mcp_log_level = LOG
                """).ConfigureAwait(false);
            Start("mcp_server", "mcp_server", "-c", Path.Combine(mcpDir, "mcp_server.conf"), "-l", Path.Combine(mcpDir, "mcp.log"));
            await WaitForFileAsync(Path.Combine(QueuePath, "mcp_server.pid"), "mcp_server").ConfigureAwait(false);

            Step("starting the three agents (mammoth-node)");
            for (int i = 0; i < 3; i++)
            {
                LocalCluster c = _clusters[i];
                string name = i == 0 ? "master" : $"slave{i - 1}";
                string conf = Path.Combine(dir, $"{name}.conf");
                await File.WriteAllTextAsync(conf, $"""
                    replication_enable = on
                    replication_mode = {(i == 0 ? "master" : "slave")}
                    {(i == 0 ? "" : $"replication_slave_no = {i - 1}")}
                    replication_database = '{Database}'
                    replication_mcp_address = '127.0.0.1'
                    replication_mcp_port = {mcpPort}
                    replication_mcp_authkey = '{AuthKey}'
                    replication_data_path = '{Path.Combine(dir, name + "-rlog")}'
                    replication_conninfo = 'host={c.Host} port={c.Port} user=postgres dbname={Database}'
                    replication_log_level = LOG
                    """).ConfigureAwait(false);
                Start($"{name} agent", "mammoth-node", "-c", conf, "-l", Path.Combine(dir, $"{name}-agent.log"));
            }

            Step("enabling replication (measurements on slave 0 only)");
            await using (var conn = new NpgsqlConnection(_master.ConnectionString(Database)))
            {
                await conn.OpenAsync().ConfigureAwait(false);
                foreach ((string table, int[]? slaves, _) in Tables)
                {
                    string on = slaves is null ? "" : $" ON SLAVE {string.Join(",", slaves)}";
                    await Exec(conn, $"SELECT mammoth.enable_replication('public.{table}', {(slaves is null ? "NULL" : $"'{{{string.Join(",", slaves)}}}'")})").ConfigureAwait(false);
                    Console.WriteLine($"    ALTER TABLE {table} ENABLE REPLICATION{on}");
                }
            }

            Step($"running a mixed workload for {seconds} s");
            var workload = new DemoWorkload(_master.ConnectionString(Database));
            await workload.RunAsync(TimeSpan.FromSeconds(seconds), (elapsed, w) => Progress(elapsed, seconds, w)).ConfigureAwait(false);
            Console.WriteLine();

            Step("waiting for the slaves to catch up");
            bool caughtUp = await WaitForCatchUpAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
            Console.WriteLine();

            Step("mcp_stat " + QueuePath);
            Console.WriteLine(Indent(McpStatusReport.Read(QueuePath).ToText()));
            for (int i = 0; i < 2; i++)
            {
                string rlog = Path.Combine(dir, $"slave{i}-rlog");
                Step($"slave_stat {rlog}");
                Console.WriteLine(Indent(await RunToolAsync("slave_stat", rlog).ConfigureAwait(false)));
            }

            Step("comparing every table on the master and the slaves");
            bool same = await CompareAsync().ConfigureAwait(false) && caughtUp;
            Console.WriteLine(same ? "    every table is identical on the master and its slaves" : "    DIFFERENCES FOUND (see above)");

            if (keep)
                await PrintKeepInstructionsAsync(mcpPort).ConfigureAwait(false);
            return same ? 0 : 1;
        }

        private void Progress(TimeSpan elapsed, int seconds, DemoWorkload w)
        {
            double frac = Math.Min(1, elapsed.TotalSeconds / seconds);
            int filled = (int)(frac * 24);
            string applied = SlaveApplied();
            Console.Write($"\r    [{new string('#', filled)}{new string('.', 24 - filled)}] {elapsed.TotalSeconds,4:0}s  {w.Transactions} transactions, {w.Rows} row changes  |  {applied}   ");
        }

        private string SlaveApplied()
        {
            try
            {
                McpStatusReport r = McpStatusReport.Read(QueuePath);
                return $"queue {r.LastRecno}  " + string.Join("  ", r.Slaves.Select(s => $"slave{s.SlaveNo} {s.AckRecord} ({s.State})"));
            }
            catch (Exception ex) when (ex is IOException or Log.Storage.TxLogException or UnauthorizedAccessException)
            {
                return "queue: starting";
            }
        }

        private async Task<bool> WaitForCatchUpAsync(TimeSpan timeout)
        {
            var sw = Stopwatch.StartNew();
            long masterLsnTarget = 0;
            await using (var conn = new NpgsqlConnection(_master.ConnectionString(Database)))
            {
                await conn.OpenAsync().ConfigureAwait(false);
                await using var cmd = new NpgsqlCommand("SELECT pg_current_wal_lsn() - '0/0'", conn);
                masterLsnTarget = Convert.ToInt64(await cmd.ExecuteScalarAsync().ConfigureAwait(false), CultureInfo.InvariantCulture);
            }
            while (sw.Elapsed < timeout)
            {
                bool slotDone = await SlotConfirmedPastAsync(masterLsnTarget).ConfigureAwait(false);
                McpStatusReport? r = null;
                try
                {
                    r = McpStatusReport.Read(QueuePath);
                }
                catch (Exception ex) when (ex is IOException or Log.Storage.TxLogException)
                {
                }
                bool slavesDone = r is not null && r.Slaves.All(s => s.AckRecord >= r.LastRecno);
                Console.Write($"\r    {sw.Elapsed.TotalSeconds,4:0}s  master slot {(slotDone ? "confirmed" : "catching up")}  |  {SlaveApplied()}   ");
                if (slotDone && slavesDone)
                    return true;
                await Task.Delay(250).ConfigureAwait(false);
            }
            return false;
        }

        private async Task<bool> SlotConfirmedPastAsync(long lsn)
        {
            await using var conn = new NpgsqlConnection(_master.ConnectionString(Database));
            await conn.OpenAsync().ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand("SELECT coalesce(confirmed_flush_lsn - '0/0', 0) FROM pg_replication_slots WHERE slot_name = 'mammoth'", conn);
            object? v = await cmd.ExecuteScalarAsync().ConfigureAwait(false);
            return v is not null && v is not DBNull && Convert.ToInt64(v, CultureInfo.InvariantCulture) >= lsn;
        }

        private async Task<bool> CompareAsync()
        {
            bool allSame = true;
            Console.WriteLine($"    {"table",-14} {"master",-28} {"slave0",-28} {"slave1",-28}");
            foreach ((string table, int[]? slaves, string key) in Tables)
            {
                (long, string) m = await ChecksumAsync(_master, table, key).ConfigureAwait(false);
                var line = new StringBuilder($"    {table,-14} {Show(m),-28} ");
                for (int i = 0; i < _slaves.Length; i++)
                {
                    (long, string) s = await ChecksumAsync(_slaves[i], table, key).ConfigureAwait(false);
                    bool expected = slaves is null || slaves.Contains(i);
                    bool ok = expected ? s == m : s.Item1 == 0;
                    allSame &= ok;
                    line.Append($"{Show(s) + (ok ? (expected ? " =" : " (not its table)") : " DIFFERS"),-28} ");
                }
                Console.WriteLine(line.ToString().TrimEnd());
            }
            return allSame;

            static string Show((long Rows, string Sum) c) => $"{c.Rows} rows {c.Sum[..Math.Min(8, c.Sum.Length)]}";
        }

        private static async Task<(long, string)> ChecksumAsync(LocalCluster c, string table, string key)
        {
            await using var conn = new NpgsqlConnection(c.ConnectionString(Database));
            await conn.OpenAsync().ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand($"SELECT count(*), coalesce(md5(string_agg(mammoth_row_::text, E'\\n' ORDER BY {key})), '-') FROM public.{table} mammoth_row_", conn);
            await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync().ConfigureAwait(false);
            await r.ReadAsync().ConfigureAwait(false);
            return (r.GetInt64(0), r.GetString(1));
        }

        private void Start(string name, string tool, params string[] args)
        {
            var psi = new ProcessStartInfo(Path.Combine(tools, tool), args) { UseShellExecute = false, RedirectStandardError = false };
            Process p = Process.Start(psi) ?? throw new IOException($"cannot start {tool}");
            _processes.Add((name, p));
            Console.WriteLine($"    {name}: pid {p.Id}");
        }

        private async Task<string> RunToolAsync(string tool, string arg)
        {
            string path = Path.Combine(tools, tool);
            if (!File.Exists(path))
                return $"({tool} is not built)";
            var psi = new ProcessStartInfo(path, [arg]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using Process p = Process.Start(psi)!;
            string output = await p.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
            string error = await p.StandardError.ReadToEndAsync().ConfigureAwait(false);
            await p.WaitForExitAsync().ConfigureAwait(false);
            return output + error;
        }

        private async Task WaitForFileAsync(string path, string who)
        {
            var until = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(path))
            {
                if (_processes.Any(p => p.Process.HasExited))
                    throw new IOException($"{who} exited at start; see the logs in {dir}");
                if (DateTime.UtcNow > until)
                    throw new TimeoutException($"{who} did not start within 30 s; see the logs in {dir}");
                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        private async Task PrintKeepInstructionsAsync(int mcpPort)
        {
            var stop = new StringBuilder("#!/usr/bin/env bash\n# Stops the MammothFast demo started by `mammoth demo --keep`.\n");
            foreach ((string name, Process p) in _processes.AsEnumerable().Reverse())
                stop.AppendLine($"kill -TERM {p.Id} 2>/dev/null  # {name}");
            stop.AppendLine("sleep 2");
            foreach (LocalCluster c in _clusters)
                c.Detach();
            foreach (LocalCluster c in _clusters)
                stop.AppendLine($"runuser -u postgres -- {Path.Combine(c.BinDirectory, "pg_ctl")} -D {c.DataDirectory} -m fast stop");
            string script = Path.Combine(dir, "stop.sh");
            await File.WriteAllTextAsync(script, stop.ToString()).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
            Console.WriteLine();
            Step("left running (--keep)");
            foreach (LocalCluster c in _clusters)
                Console.WriteLine($"    psql -h {c.Host} -p {c.Port} -U postgres {Database}   # {c.Name}");
            Console.WriteLine($"    bin/mammoth sql -d 'host={_master.Host} port={_master.Port} user=postgres dbname={Database}'   # the guide's statements");
            Console.WriteLine($"    bin/mcp_stat {QueuePath}          # MCP on 127.0.0.1:{mcpPort}");
            Console.WriteLine($"    bin/slave_stat {Path.Combine(dir, "slave0-rlog")}");
            Console.WriteLine($"    logs: {dir}/*.log, {dir}/mcp/mcp.log");
            Console.WriteLine($"    stop everything: {script}");
        }

        public async Task StopAsync(bool force, bool deleteFolder)
        {
            if (keep && !force)
                return;
            foreach ((_, Process p) in _processes.AsEnumerable().Reverse())
            {
                if (!p.HasExited)
                    ProcessInfo.Signal(p.Id, ProcessInfo.SIGTERM);
            }
            foreach ((_, Process p) in _processes)
            {
                if (!await ProcessInfo.WaitForExitAsync(p.Id, TimeSpan.FromSeconds(10)).ConfigureAwait(false))
                    p.Kill();
            }
            _processes.Clear();
            foreach (LocalCluster c in _clusters)
                await c.DisposeAsync().ConfigureAwait(false);
            _clusters.Clear();
            if (deleteFolder)
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        private static string Indent(string text) => "    " + text.TrimEnd().Replace("\n", "\n    ", StringComparison.Ordinal);

        private static int FreePort()
        {
            using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            l.Start();
            return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        }

        private static async Task Exec(NpgsqlConnection conn, string sql)
        {
            await using var cmd = new NpgsqlCommand(sql, conn);
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }
}
