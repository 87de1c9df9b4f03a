using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Xunit;

namespace Mammoth.Net.Tests;

public sealed class NodeSettingsTests
{
    private const string Minimal = "replication_mcp_address = '10.0.0.9'\nreplication_mcp_authkey = 'secret'\nreplication_database = app\nreplication_pgdata = '/pg/data'\n";

    private static NodeSettings Parse(string extra) => NodeSettings.Parse(Minimal + extra);

    private static string ParseError(string extra) => Assert.Throws<ConfigException>(() => Parse(extra)).Message;

    [Fact]
    public void Defaults()
    {
        var s = Parse("");
        Assert.Equal("node.conf", s.FileName);
        Assert.False(s.Enabled);
        Assert.Null(s.Mode);
        Assert.Null(s.SlaveNo);
        Assert.Equal("app", s.Database);
        Assert.False(s.SlaveBatchMode);
        Assert.Equal(TimeSpan.FromSeconds(30), s.SlaveBatchModeTimeout);
        Assert.Equal("10.0.0.9", s.McpAddress);
        Assert.Equal(7777, s.McpPort);
        Assert.Equal("secret", s.McpAuthKey);
        Assert.False(s.McpRequireSsl);
        Assert.Null(s.McpSslCaFile);
        Assert.Equal("/pg/data", s.PgData);
        Assert.Equal(Path.Combine("/pg/data", "rlog"), s.DataPath);
        Assert.Equal(new Dictionary<string, string> { ["dbname"] = "app" }, s.ConnInfo);
        Assert.False(s.SlaveAllowWrites);
        Assert.Equal(PgLogLevel.Log, s.LogLevel);
        Assert.Empty(s.Warnings);
    }

    [Fact]
    public void A_slave()
    {
        var s = Parse("""
            replication_enable = on
            replication_mode = slave
            replication_slave_no = 3
            replication_slave_batch_mode = yes
            replication_slave_batch_mode_timeout = 2min
            replication_mcp_port = 7000
            replication_mcp_require_ssl = true
            replication_mcp_ssl_ca_file = '/etc/mammoth/ca.pem'
            replication_data_path = '/var/lib/mammoth/rlog'
            replication_conninfo = 'host=/tmp port=5433 user=mammoth'
            replication_slave_allow_writes = on
            replication_log_level = DEBUG1
            """);
        Assert.True(s.Enabled);
        Assert.Equal(ReplicationMode.Slave, s.Mode);
        Assert.Equal(3, s.SlaveNo);
        Assert.True(s.SlaveBatchMode);
        Assert.Equal(TimeSpan.FromMinutes(2), s.SlaveBatchModeTimeout);
        Assert.Equal(7000, s.McpPort);
        Assert.True(s.McpRequireSsl);
        Assert.Equal("/etc/mammoth/ca.pem", s.McpSslCaFile);
        Assert.Equal("/var/lib/mammoth/rlog", s.DataPath);
        Assert.Equal("/tmp", s.ConnInfo["host"]);
        Assert.Equal("5433", s.ConnInfo["port"]);
        Assert.Equal("mammoth", s.ConnInfo["user"]);
        Assert.Equal("app", s.ConnInfo["dbname"]);
        Assert.True(s.SlaveAllowWrites);
        Assert.Equal(PgLogLevel.Debug1, s.LogLevel);
        Assert.Empty(s.Warnings);
    }

    [Fact]
    public void Enabled_needs_a_mode()
    {
        Assert.Equal(
            "node.conf line 5: replication_enable is on but replication_mode is not set; add replication_mode = master or replication_mode = slave.",
            ParseError("replication_enable = on"));
        Assert.Equal(
            "node.conf line 5: replication_mode = 'primary' is not a valid replication mode; use master or slave.",
            ParseError("replication_mode = primary"));
        Assert.Equal(ReplicationMode.Master, Parse("replication_enable = on\nreplication_mode = MASTER").Mode);
    }

    [Fact]
    public void A_slave_needs_its_number()
    {
        Assert.Equal(
            "node.conf line 6: replication_mode is slave but replication_slave_no is not set; add replication_slave_no = N (0..63).",
            ParseError("replication_enable = on\nreplication_mode = slave"));
        Assert.Equal(
            "node.conf line 5: replication_slave_no = '64' is out of range; use a slave number between 0 and 63.",
            ParseError("replication_slave_no = 64\nreplication_mode = slave"));
    }

    [Fact]
    public void Slave_settings_on_a_master_are_warned_about()
    {
        var s = Parse("replication_mode = master\nreplication_slave_no = 1\nreplication_slave_allow_writes = on");
        Assert.Equal(
        [
            "node.conf line 6: replication_slave_no applies to slaves only and is ignored because replication_mode is master.",
            "node.conf line 7: replication_slave_allow_writes applies to slaves only and is ignored because replication_mode is master.",
        ],
            s.Warnings);
    }

    [Fact]
    public void Required_settings()
    {
        Assert.Equal(
            "node.conf: replication_mcp_address is not set; add a line such as replication_mcp_address = '192.168.1.100'.",
            Assert.Throws<ConfigException>(() => NodeSettings.Parse("replication_mcp_authkey = k")).Message);
        Assert.Equal(
            "node.conf: replication_mcp_authkey is not set; add a line such as replication_mcp_authkey = 'a long random secret'.",
            Assert.Throws<ConfigException>(() => NodeSettings.Parse("replication_mcp_address = m")).Message);
    }

    [Fact]
    public void Data_path_needs_pgdata_or_a_path()
    {
        const string NoPgData = "replication_mcp_address = m\nreplication_mcp_authkey = k\nreplication_database = app\n";
        Assert.Equal(
            "node.conf: replication_data_path is not set; add replication_data_path = '/path/to/rlog', or set replication_pgdata so that PGDATA/rlog is used.",
            Assert.Throws<ConfigException>(() => NodeSettings.Parse(NoPgData)).Message);
        Assert.Equal("/r", NodeSettings.Parse(NoPgData + "replication_data_path = /r").DataPath);
        Assert.Equal("/r", Parse("replication_data_path = /r").DataPath);
    }

    [Fact]
    public void Database_comes_from_either_setting_and_they_must_agree()
    {
        const string NoDatabase = "replication_mcp_address = m\nreplication_mcp_authkey = k\nreplication_pgdata = /pg\n";
        Assert.Equal(
            "node.conf: replication_database is not set; add replication_database = 'name' (the database to replicate) or put dbname=name in replication_conninfo.",
            Assert.Throws<ConfigException>(() => NodeSettings.Parse(NoDatabase)).Message);
        Assert.Equal("shop", NodeSettings.Parse(NoDatabase + "replication_conninfo = 'dbname=shop'").Database);
        Assert.Equal(
            "node.conf line 1: replication_database is 'app' but replication_conninfo has dbname=shop; make them the same or leave one out.",
            Assert.Throws<ConfigException>(() => NodeSettings.Parse("replication_database = app\n" + NoDatabase + "replication_conninfo = 'dbname=shop'")).Message);
    }

    [Fact]
    public void Mcp_address_may_be_a_host_name()
    {
        Assert.Equal("mcp.example.com", Parse("replication_mcp_address = mcp.example.com").McpAddress);
        Assert.Equal(
            "node.conf line 5: replication_mcp_address = 'a b' is not a host name or IP address; write the MCP's address, such as 192.168.1.100 or mcp.example.com.",
            ParseError("replication_mcp_address = 'a b'"));
    }

    [Fact]
    public void Conninfo_with_quoted_values_through_both_quoting_layers()
    {
        // The file's quoting first ('' and \\), then libpq's (' and \').
        var s = Parse(@"replication_conninfo = 'host=db.local password=''it\\''s a secret'' user = ''me'''");
        Assert.Equal("db.local", s.ConnInfo["host"]);
        Assert.Equal("it's a secret", s.ConnInfo["password"]);
        Assert.Equal("me", s.ConnInfo["user"]);
    }

    [Fact]
    public void Conninfo_errors_name_the_line()
    {
        Assert.Equal(
            "node.conf line 5: replication_conninfo has an unknown keyword \"hots\"; did you mean \"host\"?",
            ParseError("replication_conninfo = 'hots=x'"));
        Assert.Equal(
            "node.conf line 5: replication_conninfo has an unknown keyword \"application_name\"; use host, port, dbname, user, password or sslmode.",
            ParseError("replication_conninfo = 'application_name=x'"));
    }

    [Fact]
    public void Reload_classification()
    {
        string[] reloadable = ["replication_slave_batch_mode_timeout", "replication_mcp_authkey", "replication_slave_allow_writes", "replication_log_level"];
        foreach (var definition in NodeSettings.Schema.Definitions)
        {
            Assert.Equal(reloadable.Contains(definition.Name), NodeSettings.IsReloadable(definition.Name));
        }
        var before = Parse("replication_log_level = LOG\nreplication_mcp_port = 7777");
        var after = Parse("replication_log_level = DEBUG5\nreplication_mcp_port = 7778");
        Assert.Equal(["replication_mcp_port", "replication_log_level"], NodeSettings.ChangedSettings(before, after));
        Assert.Equal(["replication_mcp_port"], NodeSettings.NonReloadableChanges(before, after));
    }
}
