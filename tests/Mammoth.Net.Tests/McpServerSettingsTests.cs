using System.Net;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Xunit;

namespace Mammoth.Net.Tests;

public sealed class McpServerSettingsTests
{
    private const string Minimal = "mcp_authkey = 'secret'\nmcp_txlog_path = '/var/lib/mammoth/txlog'\n";

    private static McpServerSettings Parse(string extra) => McpServerSettings.Parse(Minimal + extra);

    private static string ParseError(string extra) => Assert.Throws<ConfigException>(() => Parse(extra)).Message;

    [Fact]
    public void Defaults()
    {
        var s = Parse("");
        Assert.Equal("mcp_server.conf", s.FileName);
        Assert.Equal(IPAddress.Any, s.ListenAddress);
        Assert.Equal(7777, s.ListenPort);
        Assert.Equal("secret", s.AuthKey);
        Assert.Equal(5, s.MaxSlaves);
        Assert.Equal(TimeSpan.FromSeconds(15), s.EchoTimeout);
        Assert.Null(s.MasterAddress);
        Assert.Empty(s.SlaveAddresses);
        Assert.Equal(64L << 20, s.QueueMinSize);
        Assert.Equal(1L << 30, s.QueueMaxSize);
        Assert.Equal("/var/lib/mammoth/txlog", s.TxlogPath);
        Assert.False(s.RequireSsl);
        Assert.Equal(PgLogLevel.Log, s.LogLevel);
        Assert.Empty(s.PromoteAllow);
        Assert.Null(s.SslCertFile);
        Assert.Null(s.SslKeyFile);
        Assert.Equal(64L << 20, s.SegmentSize);
        Assert.Equal(64L << 20, s.MaxFrameSize);
        Assert.True(s.KeyIndex);
        Assert.Empty(s.Warnings);
    }

    [Fact]
    public void Every_setting_read()
    {
        var s = Parse("""
            mcp_listen_address = '10.0.0.1'
            mcp_listen_port = 7000
            mcp_max_slaves = 3
            mcp_echo_timeout = 1min
            mcp_master_address = '10.0.0.2'
            mcp_slave_addresses = '0:192.168.1.5, 2:192.168.1.10'
            mcp_queue_min_size = 128MB
            mcp_queue_max_size = 2GB
            mcp_require_ssl = 1
            mcp_ssl_cert_file = '/etc/mammoth/server.crt'
            mcp_ssl_key_file = '/etc/mammoth/server.key'
            mcp_log_level = debug2
            mcp_promote_allow = '2,0'
            mcp_segment_size = 16MB
            mcp_max_frame_size = 8MB
            mcp_key_index = off
            """);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), s.ListenAddress);
        Assert.Equal(7000, s.ListenPort);
        Assert.Equal(3, s.MaxSlaves);
        Assert.Equal(TimeSpan.FromMinutes(1), s.EchoTimeout);
        Assert.Equal(IPAddress.Parse("10.0.0.2"), s.MasterAddress);
        Assert.Equal(2, s.SlaveAddresses.Count);
        Assert.Equal(IPAddress.Parse("192.168.1.5"), s.SlaveAddresses[0]);
        Assert.Equal(IPAddress.Parse("192.168.1.10"), s.SlaveAddresses[2]);
        Assert.Equal(128L << 20, s.QueueMinSize);
        Assert.Equal(2L << 30, s.QueueMaxSize);
        Assert.True(s.RequireSsl);
        Assert.Equal("/etc/mammoth/server.crt", s.SslCertFile);
        Assert.Equal("/etc/mammoth/server.key", s.SslKeyFile);
        Assert.Equal(PgLogLevel.Debug2, s.LogLevel);
        Assert.Equal([2, 0], s.PromoteAllow);
        Assert.Equal(16L << 20, s.SegmentSize);
        Assert.Equal(8L << 20, s.MaxFrameSize);
        Assert.False(s.KeyIndex);
    }

    [Fact]
    public void Ipv6_addresses_are_accepted()
    {
        var s = Parse("mcp_listen_address = '::'\nmcp_slave_addresses = '0:::1,1:fe80::1'");
        Assert.Equal(IPAddress.IPv6Any, s.ListenAddress);
        Assert.Equal(IPAddress.IPv6Loopback, s.SlaveAddresses[0]);
    }

    [Fact]
    public void Required_settings()
    {
        Assert.Equal(
            "mcp_server.conf: mcp_authkey is not set; add a line such as mcp_authkey = 'a long random secret'.",
            Assert.Throws<ConfigException>(() => McpServerSettings.Parse("mcp_txlog_path = /t")).Message);
        Assert.Equal(
            "mcp_server.conf: mcp_txlog_path is not set; add a line such as mcp_txlog_path = '/var/lib/mammoth/txlog'.",
            Assert.Throws<ConfigException>(() => McpServerSettings.Parse("mcp_authkey = k")).Message);
        var empty = Assert.Throws<ConfigException>(() => McpServerSettings.Parse("mcp_txlog_path = /t\nmcp_authkey = ''"));
        Assert.Equal("mcp_server.conf line 2: mcp_authkey is empty; set it, for example mcp_authkey = 'a long random secret'.", empty.Message);
        Assert.Equal("mcp_authkey", empty.Setting);
    }

    [Fact]
    public void Bad_port()
    {
        Assert.Equal(
            "mcp_server.conf line 12: mcp_listen_port = 'abc' is not a valid integer; use a TCP port between 1 and 65535.",
            Assert.Throws<ConfigException>(() => McpServerSettings.Parse(Minimal + "\n\n\n\n\n\n\n\n\nmcp_listen_port = abc")).Message);
        Assert.Equal(
            "mcp_server.conf line 3: mcp_listen_port = '70000' is out of range; use a TCP port between 1 and 65535.",
            ParseError("mcp_listen_port = 70000"));
        Assert.Equal(0, Parse("mcp_listen_port = 0").ListenPort);
    }

    [Fact]
    public void Bad_addresses()
    {
        Assert.Equal(
            "mcp_server.conf line 3: mcp_listen_address = 'localhost' is not an IP address; use 0.0.0.0 for all interfaces or the address of one of them.",
            ParseError("mcp_listen_address = localhost"));
        Assert.Equal(
            "mcp_server.conf line 3: mcp_master_address = '10.1' is not an IP address; write the master's address, such as 192.168.1.2, or '' to accept the master from any address.",
            ParseError("mcp_master_address = 10.1"));
    }

    [Fact]
    public void Max_slaves_range()
    {
        Assert.Equal(64, Parse("mcp_max_slaves = 64").MaxSlaves);
        Assert.Equal(
            "mcp_server.conf line 3: mcp_max_slaves = '65' is out of range; use a number of slaves between 1 and 64.",
            ParseError("mcp_max_slaves = 65"));
        Assert.Contains("is out of range", ParseError("mcp_max_slaves = 0"));
    }

    [Theory]
    [InlineData("'192.168.1.5'", "mcp_slave_addresses item \"192.168.1.5\" is not of the form N:IP; write the list like \"0:192.168.1.5,1:192.168.1.10\".")]
    [InlineData("':192.168.1.5'", "mcp_slave_addresses item \":192.168.1.5\" is not of the form N:IP; write the list like \"0:192.168.1.5,1:192.168.1.10\".")]
    [InlineData("'x:192.168.1.5'", "mcp_slave_addresses has \"x\" where a slave number belongs; slave numbers are whole numbers from 0 to 63.")]
    [InlineData("'64:192.168.1.5'", "mcp_slave_addresses has \"64\" where a slave number belongs; slave numbers are whole numbers from 0 to 63.")]
    [InlineData("'-1:192.168.1.5'", "mcp_slave_addresses has \"-1\" where a slave number belongs; slave numbers are whole numbers from 0 to 63.")]
    [InlineData("'5:192.168.1.5'", "mcp_slave_addresses names slave 5, but mcp_max_slaves = 5 allows slaves 0 to 4; raise mcp_max_slaves or renumber the slave.")]
    [InlineData("'0:192.168.1.5,0:192.168.1.6'", "mcp_slave_addresses gives slave 0 twice; give each slave number one address.")]
    [InlineData("'1:192.168.1.x'", "mcp_slave_addresses gives \"192.168.1.x\" for slave 1, which is not an IP address; write an address such as 192.168.1.5.")]
    [InlineData("'1:'", "mcp_slave_addresses gives \"\" for slave 1, which is not an IP address; write an address such as 192.168.1.5.")]
    [InlineData("'0:192.168.1.5,,1:192.168.1.6'", "mcp_slave_addresses = '0:192.168.1.5,,1:192.168.1.6' has an empty item; separate the items with single commas.")]
    public void Slave_address_list_errors(string value, string problem)
    {
        var error = Assert.Throws<ConfigException>(() => Parse("mcp_slave_addresses = " + value));
        Assert.Equal("mcp_server.conf line 3: " + problem, error.Message);
        Assert.Equal("mcp_slave_addresses", error.Setting);
    }

    [Fact]
    public void Slave_numbers_check_against_max_slaves_of_one()
    {
        Assert.Equal(
            "mcp_server.conf line 4: mcp_slave_addresses names slave 1, but mcp_max_slaves = 1 allows only slave 0; raise mcp_max_slaves or renumber the slave.",
            ParseError("mcp_max_slaves = 1\nmcp_slave_addresses = '1:10.0.0.1'"));
    }

    [Fact]
    public void Two_slaves_may_share_an_address()
    {
        // Two clusters on one host are two slaves from one address.
        var s = Parse("mcp_slave_addresses = '0:10.0.0.1,1:10.0.0.1'");
        Assert.Equal(s.SlaveAddresses[0], s.SlaveAddresses[1]);
    }

    [Theory]
    [InlineData("mcp_promote_allow = 'a'", "mcp_promote_allow has \"a\" where a slave number belongs; slave numbers are whole numbers from 0 to 63.")]
    [InlineData("mcp_promote_allow = '7'", "mcp_promote_allow names slave 7, but mcp_max_slaves = 5 allows slaves 0 to 4; raise mcp_max_slaves or renumber the slave.")]
    [InlineData("mcp_promote_allow = '1,1'", "mcp_promote_allow lists slave 1 twice; list each slave once.")]
    public void Promote_allow_errors(string line, string problem)
    {
        Assert.Equal("mcp_server.conf line 3: " + problem, ParseError(line));
    }

    [Fact]
    public void Promote_allow_must_name_a_listed_slave_when_addresses_are_given()
    {
        Assert.Equal(
            "mcp_server.conf line 4: mcp_promote_allow names slave 2, which mcp_slave_addresses does not list; add the slave there or remove it here.",
            ParseError("mcp_slave_addresses = '0:10.0.0.1,1:10.0.0.2'\nmcp_promote_allow = '1,2'"));
        Assert.Equal([1], Parse("mcp_slave_addresses = '0:10.0.0.1,1:10.0.0.2'\nmcp_promote_allow = 1").PromoteAllow);
        Assert.Equal([4], Parse("mcp_promote_allow = 4").PromoteAllow);
    }

    [Fact]
    public void Queue_sizes_are_checked_together()
    {
        Assert.Equal(
            "mcp_server.conf line 4: mcp_queue_max_size (512MB) is smaller than mcp_queue_min_size (1GB); make mcp_queue_max_size at least as large.",
            ParseError("mcp_queue_min_size = 1GB\nmcp_queue_max_size = 512MB"));
        Assert.Equal(
            "mcp_server.conf line 3: mcp_queue_max_size (1GB) is smaller than mcp_queue_min_size (2GB); make mcp_queue_max_size at least as large.",
            ParseError("mcp_queue_min_size = 2GB"));
        Assert.Equal(
            "mcp_server.conf line 3: mcp_queue_max_size (32MB) is smaller than one txlog segment (mcp_segment_size = 64MB); raise mcp_queue_max_size or lower mcp_segment_size.",
            ParseError("mcp_queue_max_size = 32MB\nmcp_queue_min_size = 0"));
        Assert.Equal(5L << 20, Parse("mcp_queue_min_size = 5MB\nmcp_queue_max_size = 5MB\nmcp_segment_size=1MB").QueueMaxSize);
    }

    [Fact]
    public void Tls_files_are_checked_together()
    {
        Assert.Equal(
            "mcp_server.conf line 3: mcp_require_ssl is on but mcp_ssl_cert_file is not set; add mcp_ssl_cert_file = '/path/to/server.crt' and mcp_ssl_key_file = '/path/to/server.key' (PEM files).",
            ParseError("mcp_require_ssl = on"));
        Assert.Equal(
            "mcp_server.conf line 3: mcp_ssl_cert_file is set but mcp_ssl_key_file is not; add mcp_ssl_key_file = '/path/to/server.key' (the PEM private key of the certificate).",
            ParseError("mcp_ssl_cert_file = /c.pem"));
        Assert.Equal(
            "mcp_server.conf line 3: mcp_ssl_key_file is set but mcp_ssl_cert_file is not; add mcp_ssl_cert_file = '/path/to/server.crt' (the PEM certificate of the key).",
            ParseError("mcp_ssl_key_file = /k.pem"));
        // TLS may be offered without being required.
        var offered = Parse("mcp_ssl_cert_file = /c.pem\nmcp_ssl_key_file = /k.pem");
        Assert.False(offered.RequireSsl);
        Assert.Equal("/c.pem", offered.SslCertFile);
    }

    [Fact]
    public void Log_level_names()
    {
        Assert.Equal(PgLogLevel.ComError, Parse("mcp_log_level = comerror").LogLevel);
        Assert.Equal(PgLogLevel.Panic, Parse("mcp_log_level = 'PANIC'").LogLevel);
        Assert.Equal(
            "mcp_server.conf line 3: mcp_log_level = 'verbose' is not a valid log level; use one of PANIC, FATAL, ERROR, WARNING, NOTICE, INFO, COMERROR, LOG, DEBUG1, DEBUG2, DEBUG3, DEBUG4, DEBUG5.",
            ParseError("mcp_log_level = verbose"));
    }

    [Fact]
    public void Reload_classification_follows_the_brief()
    {
        string[] reloadable =
        [
            "mcp_authkey", "mcp_master_address", "mcp_slave_addresses", "mcp_log_level", "mcp_promote_allow",
            "mcp_echo_timeout", "mcp_queue_min_size", "mcp_queue_max_size",
        ];
        foreach (var definition in McpServerSettings.Schema.Definitions)
        {
            Assert.Equal(reloadable.Contains(definition.Name), McpServerSettings.IsReloadable(definition.Name));
        }
        Assert.True(McpServerSettings.IsReloadable("MCP_AUTHKEY"));
        Assert.False(McpServerSettings.IsReloadable("no_such_setting"));
    }

    [Fact]
    public void Changes_that_need_a_restart_are_listed()
    {
        var before = Parse("mcp_listen_port = 7777\nmcp_log_level = LOG\nmcp_slave_addresses = '0:10.0.0.1'");
        var after = McpServerSettings.Parse("""
            mcp_authkey = 'new secret'
            mcp_txlog_path = '/var/lib/mammoth/txlog'
            mcp_listen_port = 7778
            mcp_log_level = debug1
            mcp_slave_addresses = '0:10.0.0.1, 1:10.0.0.2'
            mcp_ssl_cert_file = /c.pem
            mcp_ssl_key_file = /k.pem
            """);
        Assert.Equal(
            ["mcp_listen_port", "mcp_authkey", "mcp_slave_addresses", "mcp_log_level", "mcp_ssl_cert_file", "mcp_ssl_key_file"],
            McpServerSettings.ChangedSettings(before, after));
        Assert.Equal(
            ["mcp_listen_port", "mcp_ssl_cert_file", "mcp_ssl_key_file"],
            McpServerSettings.NonReloadableChanges(before, after));
    }

    [Fact]
    public void Same_value_written_differently_is_no_change()
    {
        var before = Parse("mcp_queue_min_size = 64MB\nmcp_echo_timeout = 15\nmcp_require_ssl = off\nmcp_slave_addresses='0:10.0.0.1,1:10.0.0.2'");
        var after = Parse("mcp_queue_min_size = 65536kB\nmcp_echo_timeout = 15000ms\nmcp_require_ssl = false\nmcp_slave_addresses = '0:10.0.0.1 , 1:10.0.0.2'");
        Assert.Empty(McpServerSettings.ChangedSettings(before, after));
    }
}
