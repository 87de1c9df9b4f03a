using System.Net;
using Mammoth.Net.Diagnostics;

namespace Mammoth.Net.Configuration;

/// <summary>
/// <c>mcp_server.conf</c>: the guide's <c>mcp_*</c> settings plus MammothFast's TLS and tuning settings,
/// read and checked as a whole. See docs/configuration.md for each setting.
/// </summary>
public sealed class McpServerSettings
{
    /// <summary>Slave numbers are 0..63: the record format's slave set is a 64-bit map.</summary>
    public const int MaxSlaveNumbers = 64;

    /// <summary>The TCP port used when <c>mcp_listen_port</c> / <c>replication_mcp_port</c> are not set.</summary>
    public const int DefaultPort = 7777;

    internal static ConfigSchema Schema { get; } = new(
    [
        new("mcp_listen_address", SettingKind.String, "0.0.0.0", "IP address to listen on; 0.0.0.0 for all IPv4 interfaces, :: for all IPv6 ones.")
        {
            ValueWord = "IP address", Hint = "use 0.0.0.0 for all interfaces or the address of one of them",
        },
        new("mcp_listen_port", SettingKind.Int, "7777", "TCP port to listen on; 0 lets the system choose (tests).")
        {
            Min = 0, Max = 65535, Hint = "use a TCP port between 1 and 65535",
        },
        new("mcp_authkey", SettingKind.String, null, "Shared secret of the MCP, the master and the slaves; never sent over the network.")
        {
            Required = true, Reloadable = true, Example = "'a long random secret'",
        },
        new("mcp_max_slaves", SettingKind.Int, "5", "The most slaves the MCP accepts; slave numbers run from 0 to mcp_max_slaves - 1.")
        {
            Min = 1, Max = MaxSlaveNumbers, Hint = $"use a number of slaves between 1 and {MaxSlaveNumbers}",
        },
        new("mcp_echo_timeout", SettingKind.Time, "15s", "How long the master may be silent before a slave's PROMOTE FORCE is accepted.")
        {
            Min = 1, Max = 86400, Reloadable = true,
        },
        new("mcp_master_address", SettingKind.String, "", "The only IP address the master may connect from; empty accepts any.")
        {
            Reloadable = true,
        },
        new("mcp_slave_addresses", SettingKind.List, "", "Slave number and IP address pairs, \"0:192.168.1.5,1:192.168.1.10\"; empty accepts any slave from any address.")
        {
            Reloadable = true,
        },
        new("mcp_queue_min_size", SettingKind.Size, "64MB", "The txlog is not recycled below this size; above it, segments every slave has acknowledged are dropped.")
        {
            Min = 0, Reloadable = true,
        },
        new("mcp_queue_max_size", SettingKind.Size, "1GB", "Above this size the oldest segments are dropped even if a slave still needs them (that slave then needs a dump).")
        {
            Min = 1 << 20, Reloadable = true,
        },
        new("mcp_txlog_path", SettingKind.String, null, "Directory of the transaction log segments, its index and the pid file.")
        {
            Required = true, Example = "'/var/lib/mammoth/txlog'",
        },
        new("mcp_require_ssl", SettingKind.Bool, "off", "Refuse masters and slaves that do not use TLS; needs mcp_ssl_cert_file and mcp_ssl_key_file."),
        new("mcp_log_level", SettingKind.Enum, "LOG", "Least severe message level written to the log.")
        {
            EnumValues = [.. PgLogLevels.All.Select(l => l.Name())], ValueWord = "log level", Reloadable = true,
        },
        new("mcp_promote_allow", SettingKind.List, "", "Slave numbers that may use PROMOTE; empty allows none.")
        {
            Reloadable = true,
        },
        new("mcp_ssl_cert_file", SettingKind.String, "", "PEM certificate (chain) the MCP presents to TLS clients."),
        new("mcp_ssl_key_file", SettingKind.String, "", "PEM private key of mcp_ssl_cert_file."),
        new("mcp_segment_size", SettingKind.Size, "64MB", "Size of each preallocated txlog segment file.")
        {
            Min = 1 << 20, Max = 1L << 30,
        },
        new("mcp_max_frame_size", SettingKind.Size, "64MB", "Largest network frame, and so largest transaction record, accepted.")
        {
            Min = 64 << 10, Max = 1L << 30,
        },
        new("mcp_key_index", SettingKind.Bool, "on", "Keep the FASTER index of the latest change of each primary key."),
    ],
    name => name.StartsWith("replication_", StringComparison.Ordinal)
        ? "replication_* settings belong in the node file, not in mcp_server.conf"
        : null);

    private McpServerSettings(ConfigValues values)
    {
        Values = values;
        FileName = values.FileName;

        var listen = values.GetString("mcp_listen_address").Trim();
        ListenAddress = IpAddresses.TryParse(listen, out var listenAddress)
            ? listenAddress
            : throw values.Error("mcp_listen_address",
                $"mcp_listen_address = '{ConfigSchema.Quote(listen)}' is not an IP address; use 0.0.0.0 for all interfaces or the address of one of them.");
        ListenPort = (int)values.GetInt("mcp_listen_port")!.Value;
        AuthKey = values.GetString("mcp_authkey");
        MaxSlaves = (int)values.GetInt("mcp_max_slaves")!.Value;
        EchoTimeout = values.GetTime("mcp_echo_timeout");

        var master = values.GetString("mcp_master_address").Trim();
        if (master.Length > 0)
        {
            MasterAddress = IpAddresses.TryParse(master, out var masterAddress)
                ? masterAddress
                : throw values.Error("mcp_master_address",
                    $"mcp_master_address = '{ConfigSchema.Quote(master)}' is not an IP address; write the master's address, such as 192.168.1.2, or '' to accept the master from any address.");
        }

        SlaveAddresses = ReadSlaveAddresses(values, MaxSlaves);
        PromoteAllow = ReadPromoteAllow(values, MaxSlaves, SlaveAddresses);

        QueueMinSize = values.GetSize("mcp_queue_min_size");
        QueueMaxSize = values.GetSize("mcp_queue_max_size");
        SegmentSize = values.GetSize("mcp_segment_size");
        MaxFrameSize = values.GetSize("mcp_max_frame_size");
        var sizeLine = values.IsSet("mcp_queue_max_size") ? "mcp_queue_max_size" : "mcp_queue_min_size";
        if (QueueMaxSize < QueueMinSize)
        {
            throw values.Error(sizeLine,
                $"mcp_queue_max_size ({ValueParsers.FormatSize(QueueMaxSize)}) is smaller than mcp_queue_min_size ({ValueParsers.FormatSize(QueueMinSize)}); make mcp_queue_max_size at least as large.");
        }
        if (QueueMaxSize < SegmentSize)
        {
            throw values.Error(values.IsSet("mcp_queue_max_size") ? "mcp_queue_max_size" : "mcp_segment_size",
                $"mcp_queue_max_size ({ValueParsers.FormatSize(QueueMaxSize)}) is smaller than one txlog segment (mcp_segment_size = {ValueParsers.FormatSize(SegmentSize)}); raise mcp_queue_max_size or lower mcp_segment_size.");
        }

        TxlogPath = values.GetString("mcp_txlog_path");
        RequireSsl = values.GetBool("mcp_require_ssl");
        PgLogLevels.TryParse(values.GetEnum("mcp_log_level"), out var level);
        LogLevel = level;
        KeyIndex = values.GetBool("mcp_key_index");

        var cert = values.GetString("mcp_ssl_cert_file");
        var key = values.GetString("mcp_ssl_key_file");
        SslCertFile = cert.Length > 0 ? cert : null;
        SslKeyFile = key.Length > 0 ? key : null;
        if (SslCertFile is not null && SslKeyFile is null)
        {
            throw values.Error("mcp_ssl_cert_file",
                "mcp_ssl_cert_file is set but mcp_ssl_key_file is not; add mcp_ssl_key_file = '/path/to/server.key' (the PEM private key of the certificate).");
        }
        if (SslKeyFile is not null && SslCertFile is null)
        {
            throw values.Error("mcp_ssl_key_file",
                "mcp_ssl_key_file is set but mcp_ssl_cert_file is not; add mcp_ssl_cert_file = '/path/to/server.crt' (the PEM certificate of the key).");
        }
        if (RequireSsl && SslCertFile is null)
        {
            throw values.Error("mcp_require_ssl",
                "mcp_require_ssl is on but mcp_ssl_cert_file is not set; add mcp_ssl_cert_file = '/path/to/server.crt' and mcp_ssl_key_file = '/path/to/server.key' (PEM files).");
        }
    }

    /// <summary>The file the settings were read from, as named to <see cref="Load"/> or <see cref="Parse"/>.</summary>
    public string FileName { get; }

    /// <summary>mcp_listen_address.</summary>
    public IPAddress ListenAddress { get; }

    /// <summary>mcp_listen_port; 0 means the system chooses.</summary>
    public int ListenPort { get; }

    /// <summary>mcp_authkey; never empty.</summary>
    public string AuthKey { get; }

    /// <summary>mcp_max_slaves: slave numbers 0 .. MaxSlaves - 1 are accepted.</summary>
    public int MaxSlaves { get; }

    /// <summary>mcp_echo_timeout.</summary>
    public TimeSpan EchoTimeout { get; }

    /// <summary>mcp_master_address; null accepts the master from any address.</summary>
    public IPAddress? MasterAddress { get; }

    /// <summary>mcp_slave_addresses: slave number → the only address it may connect from. Empty: any slave from anywhere.</summary>
    public IReadOnlyDictionary<int, IPAddress> SlaveAddresses { get; }

    /// <summary>mcp_queue_min_size in bytes.</summary>
    public long QueueMinSize { get; }

    /// <summary>mcp_queue_max_size in bytes; at least <see cref="QueueMinSize"/> and one segment.</summary>
    public long QueueMaxSize { get; }

    /// <summary>mcp_txlog_path, as written.</summary>
    public string TxlogPath { get; }

    /// <summary>mcp_require_ssl: refuse clients that do not use TLS.</summary>
    public bool RequireSsl { get; }

    /// <summary>mcp_log_level.</summary>
    public PgLogLevel LogLevel { get; }

    /// <summary>mcp_promote_allow: the slave numbers that may promote, in the order written. Empty: none may.</summary>
    public IReadOnlyList<int> PromoteAllow { get; }

    /// <summary>mcp_ssl_cert_file; null when TLS is not offered. Set together with <see cref="SslKeyFile"/>.</summary>
    public string? SslCertFile { get; }

    /// <summary>mcp_ssl_key_file; null when TLS is not offered.</summary>
    public string? SslKeyFile { get; }

    /// <summary>mcp_segment_size in bytes.</summary>
    public long SegmentSize { get; }

    /// <summary>mcp_max_frame_size in bytes.</summary>
    public long MaxFrameSize { get; }

    /// <summary>mcp_key_index.</summary>
    public bool KeyIndex { get; }

    /// <summary>Things worth a WARNING line at start or reload that do not stop the server, e.g. a setting given twice.</summary>
    public IReadOnlyList<string> Warnings => Values.Warnings;

    internal ConfigValues Values { get; }

    /// <summary>Reads and checks the file at <paramref name="path"/>.</summary>
    /// <exception cref="ConfigException">The file cannot be read or holds a mistake; the message says which and how to fix it.</exception>
    public static McpServerSettings Load(string path) => new(Schema.Load(path));

    /// <summary>Reads and checks configuration text; <paramref name="fileName"/> names it in messages.</summary>
    /// <exception cref="ConfigException">The text holds a mistake.</exception>
    public static McpServerSettings Parse(string text, string fileName = "mcp_server.conf") => new(Schema.Parse(text, fileName));

    /// <summary>Whether a running mcp_server applies a new value of <paramref name="name"/> on SIGHUP.</summary>
    public static bool IsReloadable(string name) => Schema.Find(name)?.Reloadable ?? false;

    /// <summary>The settings whose value differs between the two, in the order docs list them.</summary>
    public static IReadOnlyList<string> ChangedSettings(McpServerSettings before, McpServerSettings after) =>
        ConfigValues.Changed(before.Values, after.Values, notReloadableOnly: false);

    /// <summary>
    /// The changed settings a SIGHUP cannot apply (they need a restart); a reload keeps their old values
    /// and should say so for each one.
    /// </summary>
    public static IReadOnlyList<string> NonReloadableChanges(McpServerSettings before, McpServerSettings after) =>
        ConfigValues.Changed(before.Values, after.Values, notReloadableOnly: true);

    private static Dictionary<int, IPAddress> ReadSlaveAddresses(ConfigValues values, int maxSlaves)
    {
        const string Name = "mcp_slave_addresses";
        var addresses = new Dictionary<int, IPAddress>();
        foreach (var item in values.GetList(Name))
        {
            var colon = item.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw values.Error(Name,
                    $"{Name} item \"{item}\" is not of the form N:IP; write the list like \"0:192.168.1.5,1:192.168.1.10\".");
            }
            var numberText = item[..colon].Trim();
            var addressText = item[(colon + 1)..].Trim();
            var number = ReadSlaveNumber(values, Name, numberText, maxSlaves);
            if (!IpAddresses.TryParse(addressText, out var address))
            {
                throw values.Error(Name,
                    $"{Name} gives \"{addressText}\" for slave {number}, which is not an IP address; write an address such as 192.168.1.5.");
            }
            if (!addresses.TryAdd(number, address))
            {
                throw values.Error(Name, $"{Name} gives slave {number} twice; give each slave number one address.");
            }
        }
        return addresses;
    }

    private static List<int> ReadPromoteAllow(ConfigValues values, int maxSlaves, IReadOnlyDictionary<int, IPAddress> slaveAddresses)
    {
        const string Name = "mcp_promote_allow";
        var allowed = new List<int>();
        foreach (var item in values.GetList(Name))
        {
            var number = ReadSlaveNumber(values, Name, item, maxSlaves);
            if (slaveAddresses.Count > 0 && !slaveAddresses.ContainsKey(number))
            {
                throw values.Error(Name,
                    $"{Name} names slave {number}, which mcp_slave_addresses does not list; add the slave there or remove it here.");
            }
            if (allowed.Contains(number))
            {
                throw values.Error(Name, $"{Name} lists slave {number} twice; list each slave once.");
            }
            allowed.Add(number);
        }
        return allowed;
    }

    private static int ReadSlaveNumber(ConfigValues values, string name, string text, int maxSlaves)
    {
        if (!ValueParsers.TryParseInteger(text, out var number) || number is < 0 or >= MaxSlaveNumbers)
        {
            throw values.Error(name,
                $"{name} has \"{text}\" where a slave number belongs; slave numbers are whole numbers from 0 to {MaxSlaveNumbers - 1}.");
        }
        if (number >= maxSlaves)
        {
            var allowed = maxSlaves == 1 ? "only slave 0" : $"slaves 0 to {maxSlaves - 1}";
            throw values.Error(name,
                $"{name} names slave {number}, but mcp_max_slaves = {maxSlaves} allows {allowed}; raise mcp_max_slaves or renumber the slave.");
        }
        return (int)number;
    }
}
