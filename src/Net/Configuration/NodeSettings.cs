using Mammoth.Net.Diagnostics;

namespace Mammoth.Net.Configuration;

/// <summary>
/// The node file read by the agent beside each database: the guide's <c>replication_*</c> settings (which
/// Mammoth 1.7 kept in postgresql.conf) plus how to reach the local database. See docs/configuration.md.
/// </summary>
public sealed class NodeSettings
{
    internal static ConfigSchema Schema { get; } = new(
    [
        new("replication_enable", SettingKind.Bool, "off", "Whether the agent replicates at all."),
        new("replication_mode", SettingKind.Enum, null, "Whether this database is the master or a slave; required when replication_enable is on.")
        {
            EnumValues = ["master", "slave"], ValueWord = "replication mode", Hint = "use master or slave",
        },
        new("replication_slave_no", SettingKind.Int, null, "On a slave, its number (the N of mcp_slave_addresses and ENABLE REPLICATION ON SLAVE N).")
        {
            Min = 0, Max = McpServerSettings.MaxSlaveNumbers - 1, Hint = $"use a slave number between 0 and {McpServerSettings.MaxSlaveNumbers - 1}",
        },
        new("replication_database", SettingKind.String, "", "The database to replicate; may instead be given as dbname in replication_conninfo."),
        new("replication_slave_batch_mode", SettingKind.Bool, "off", "On a slave, connect to the MCP only when MCP BATCHUPDATE is issued."),
        new("replication_slave_batch_mode_timeout", SettingKind.Time, "30s", "In batch mode, how long to wait for new transactions before disconnecting.")
        {
            Min = 0, Max = 86400, Reloadable = true,
        },
        new("replication_mcp_address", SettingKind.String, null, "Host name or IP address of the MCP server.")
        {
            Required = true, Example = "'192.168.1.100'", ValueWord = "host name or IP address",
        },
        new("replication_mcp_port", SettingKind.Int, "7777", "TCP port of the MCP server.")
        {
            Min = 1, Max = 65535, Hint = "use a TCP port between 1 and 65535",
        },
        new("replication_mcp_authkey", SettingKind.String, null, "The MCP's mcp_authkey.")
        {
            Required = true, Reloadable = true, Example = "'a long random secret'",
        },
        new("replication_mcp_require_ssl", SettingKind.Bool, "off", "Connect to the MCP over TLS, and only over TLS."),
        new("replication_data_path", SettingKind.String, "", "Directory of the agent's own state; default replication_pgdata/rlog."),
        new("replication_pgdata", SettingKind.String, "", "The local PostgreSQL data directory (PGDATA); gives replication_data_path its default."),
        new("replication_conninfo", SettingKind.String, "", "libpq keyword=value string for the local database: host, port, dbname, user, password, sslmode."),
        new("replication_slave_allow_writes", SettingKind.Bool, "off", "On a slave, let local sessions write to replicated tables (they are read-only otherwise).")
        {
            Reloadable = true,
        },
        new("replication_dump_workers", SettingKind.Int, "2", "On a master, connections that read a dump in parallel at its one snapshot (tables, and block ranges of large tables).")
        {
            Min = 1, Max = 32, Hint = "use a number of connections between 1 and 32",
        },
        new("replication_mcp_ssl_ca_file", SettingKind.String, "", "PEM file of the CA(s) that signed the MCP's certificate; empty uses the system's trust store."),
        new("replication_log_level", SettingKind.Enum, "LOG", "Least severe message level written to the agent's log.")
        {
            EnumValues = [.. PgLogLevels.All.Select(l => l.Name())], ValueWord = "log level", Reloadable = true,
        },
    ],
    name => name.StartsWith("mcp_", StringComparison.Ordinal)
        ? "mcp_* settings belong in mcp_server.conf, not in the node file"
        : null);

    private NodeSettings(ConfigValues values)
    {
        Values = values;
        FileName = values.FileName;

        Enabled = values.GetBool("replication_enable");
        Mode = values.GetEnum("replication_mode") switch
        {
            "master" => ReplicationMode.Master,
            "slave" => ReplicationMode.Slave,
            _ => null,
        };
        SlaveNo = (int?)values.GetInt("replication_slave_no");
        if (Enabled && Mode is null)
        {
            throw values.Error("replication_enable",
                "replication_enable is on but replication_mode is not set; add replication_mode = master or replication_mode = slave.");
        }
        if (Mode == ReplicationMode.Slave && SlaveNo is null)
        {
            throw values.Error("replication_mode",
                $"replication_mode is slave but replication_slave_no is not set; add replication_slave_no = N (0..{McpServerSettings.MaxSlaveNumbers - 1}).");
        }
        if (Mode == ReplicationMode.Master)
        {
            foreach (var slaveOnly in (ReadOnlySpan<string>)["replication_slave_no", "replication_slave_batch_mode", "replication_slave_batch_mode_timeout", "replication_slave_allow_writes"])
            {
                if (values.IsSet(slaveOnly))
                {
                    values.AddWarning(slaveOnly, $"{slaveOnly} applies to slaves only and is ignored because replication_mode is master.");
                }
            }
        }

        SlaveBatchMode = values.GetBool("replication_slave_batch_mode");
        SlaveBatchModeTimeout = values.GetTime("replication_slave_batch_mode_timeout");
        SlaveAllowWrites = values.GetBool("replication_slave_allow_writes");
        DumpWorkers = (int)values.GetInt("replication_dump_workers")!.Value;

        McpAddress = values.GetString("replication_mcp_address").Trim();
        if (Uri.CheckHostName(McpAddress) == UriHostNameType.Unknown)
        {
            throw values.Error("replication_mcp_address",
                $"replication_mcp_address = '{ConfigSchema.Quote(McpAddress)}' is not a host name or IP address; write the MCP's address, such as 192.168.1.100 or mcp.example.com.");
        }
        McpPort = (int)values.GetInt("replication_mcp_port")!.Value;
        McpAuthKey = values.GetString("replication_mcp_authkey");
        McpRequireSsl = values.GetBool("replication_mcp_require_ssl");
        var caFile = values.GetString("replication_mcp_ssl_ca_file");
        McpSslCaFile = caFile.Length > 0 ? caFile : null;
        PgLogLevels.TryParse(values.GetEnum("replication_log_level"), out var level);
        LogLevel = level;

        var pgData = values.GetString("replication_pgdata");
        PgData = pgData.Length > 0 ? pgData : null;
        var dataPath = values.GetString("replication_data_path");
        DataPath = dataPath.Length > 0 ? dataPath
            : PgData is not null ? Path.Combine(PgData, "rlog")
            : throw values.Error("replication_data_path",
                "replication_data_path is not set; add replication_data_path = '/path/to/rlog', or set replication_pgdata so that PGDATA/rlog is used.");

        var conninfoText = values.GetString("replication_conninfo");
        if (!ConnInfoParser.TryParse(conninfoText, out var conninfo, out var problem))
        {
            throw values.Error("replication_conninfo", "replication_conninfo " + problem);
        }
        var database = values.GetString("replication_database");
        conninfo.TryGetValue("dbname", out var dbname);
        if (database.Length > 0 && dbname is not null && dbname != database)
        {
            throw values.Error("replication_database",
                $"replication_database is '{ConfigSchema.Quote(database)}' but replication_conninfo has dbname={dbname}; make them the same or leave one out.");
        }
        Database = database.Length > 0 ? database
            : !string.IsNullOrEmpty(dbname) ? dbname
            : throw values.Error("replication_database",
                "replication_database is not set; add replication_database = 'name' (the database to replicate) or put dbname=name in replication_conninfo.");
        ConnInfo = new Dictionary<string, string>(conninfo, StringComparer.Ordinal) { ["dbname"] = Database };
    }

    /// <summary>The file the settings were read from, as named to <see cref="Load"/> or <see cref="Parse"/>.</summary>
    public string FileName { get; }

    /// <summary>replication_enable.</summary>
    public bool Enabled { get; }

    /// <summary>replication_mode; never null when <see cref="Enabled"/>.</summary>
    public ReplicationMode? Mode { get; }

    /// <summary>replication_slave_no (0..63); never null when <see cref="Mode"/> is Slave.</summary>
    public int? SlaveNo { get; }

    /// <summary>The database to replicate: replication_database, or dbname of replication_conninfo.</summary>
    public string Database { get; }

    /// <summary>replication_slave_batch_mode.</summary>
    public bool SlaveBatchMode { get; }

    /// <summary>replication_slave_batch_mode_timeout.</summary>
    public TimeSpan SlaveBatchModeTimeout { get; }

    /// <summary>replication_dump_workers (master): dump reader connections.</summary>
    public int DumpWorkers { get; }

    /// <summary>replication_mcp_address: a host name or IP address.</summary>
    public string McpAddress { get; }

    /// <summary>replication_mcp_port.</summary>
    public int McpPort { get; }

    /// <summary>replication_mcp_authkey; never empty.</summary>
    public string McpAuthKey { get; }

    /// <summary>replication_mcp_require_ssl.</summary>
    public bool McpRequireSsl { get; }

    /// <summary>replication_mcp_ssl_ca_file; null to trust the system's CAs.</summary>
    public string? McpSslCaFile { get; }

    /// <summary>replication_data_path, or replication_pgdata/rlog when it is not set.</summary>
    public string DataPath { get; }

    /// <summary>replication_pgdata; null when not set.</summary>
    public string? PgData { get; }

    /// <summary>
    /// replication_conninfo as keyword → value (keywords from <see cref="ConnInfoParser.Keywords"/>), with
    /// dbname always present and equal to <see cref="Database"/>; missing keywords mean libpq's defaults.
    /// </summary>
    public IReadOnlyDictionary<string, string> ConnInfo { get; }

    /// <summary>replication_slave_allow_writes.</summary>
    public bool SlaveAllowWrites { get; }

    /// <summary>replication_log_level.</summary>
    public PgLogLevel LogLevel { get; }

    /// <summary>Things worth a WARNING line that do not stop the agent, e.g. a slave-only setting on a master.</summary>
    public IReadOnlyList<string> Warnings => Values.Warnings;

    internal ConfigValues Values { get; }

    /// <summary>Reads and checks the file at <paramref name="path"/>.</summary>
    /// <exception cref="ConfigException">The file cannot be read or holds a mistake; the message says which and how to fix it.</exception>
    public static NodeSettings Load(string path) => new(Schema.Load(path));

    /// <summary>Reads and checks configuration text; <paramref name="fileName"/> names it in messages.</summary>
    /// <exception cref="ConfigException">The text holds a mistake.</exception>
    public static NodeSettings Parse(string text, string fileName = "node.conf") => new(Schema.Parse(text, fileName));

    /// <summary>Whether a running agent applies a new value of <paramref name="name"/> on SIGHUP.</summary>
    public static bool IsReloadable(string name) => Schema.Find(name)?.Reloadable ?? false;

    /// <summary>The settings whose value differs between the two, in the order docs list them.</summary>
    public static IReadOnlyList<string> ChangedSettings(NodeSettings before, NodeSettings after) =>
        ConfigValues.Changed(before.Values, after.Values, notReloadableOnly: false);

    /// <summary>The changed settings a SIGHUP cannot apply (they need a restart of the agent).</summary>
    public static IReadOnlyList<string> NonReloadableChanges(NodeSettings before, NodeSettings after) =>
        ConfigValues.Changed(before.Values, after.Values, notReloadableOnly: true);
}
