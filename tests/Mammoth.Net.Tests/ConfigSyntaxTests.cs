using Mammoth.Net.Configuration;
using Xunit;

namespace Mammoth.Net.Tests;

public sealed class ConfigSyntaxTests
{
    private static ConfigValues Parse(string text) => TestSchema.Instance.Parse(text, "test.conf");

    private static string ParseError(string text) => Assert.Throws<ConfigException>(() => Parse(text)).Message;

    [Fact]
    public void Comments_blank_lines_and_optional_equals_sign()
    {
        var values = Parse("""
            # a comment line

               count = 7   # a comment after a value
            name 'abc'#no space before the comment
            flag=on
            	timeout	=	20s
            """);
        Assert.Equal(7, values.GetInt("count"));
        Assert.Equal("abc", values.GetString("name"));
        Assert.True(values.GetBool("flag"));
        Assert.Equal(TimeSpan.FromSeconds(20), values.GetTime("timeout"));
        Assert.Equal(3, values.LineOf("count"));
        Assert.Equal(4, values.LineOf("name"));
        Assert.Null(values.LineOf("ratio"));
    }

    [Fact]
    public void Names_are_case_insensitive()
    {
        var values = Parse("COUNT = 9\nName = x");
        Assert.Equal(9, values.GetInt("count"));
        Assert.Equal("x", values.GetString("name"));
    }

    [Fact]
    public void Crlf_line_ends_are_read()
    {
        var values = Parse("count = 3\r\nname = 'a b'\r\n");
        Assert.Equal(3, values.GetInt("count"));
        Assert.Equal("a b", values.GetString("name"));
        Assert.Equal(2, values.LineOf("name"));
    }

    [Theory]
    [InlineData("name = 'it''s'", "it's")]
    [InlineData(@"name = 'it\'s'", "it's")]
    [InlineData(@"name = 'back\\slash'", @"back\slash")]
    [InlineData(@"name = 'tab\there'", "tab\there")]
    [InlineData(@"name = 'nl\nx'", "nl\nx")]
    [InlineData(@"name = '\101\102'", "AB")]
    [InlineData(@"name = '\q'", "q")]
    [InlineData("name = '# not a comment'", "# not a comment")]
    [InlineData("name = ''", "")]
    [InlineData("name = '  padded  '", "  padded  ")]
    [InlineData("name = /var/lib/mammoth", "/var/lib/mammoth")]
    [InlineData("name = 192.168.1.5", "192.168.1.5")]
    [InlineData("name = 0:192.168.1.5,1:10.0.0.1", "0:192.168.1.5,1:10.0.0.1")]
    public void Quoted_and_bare_values(string line, string expected)
    {
        Assert.Equal(expected, Parse(line).GetString("name"));
    }

    [Fact]
    public void A_double_equals_sign_is_a_syntax_error_naming_file_and_line()
    {
        var message = ParseError("count = 5\n\n\n\n\n\nname = = x");
        Assert.Equal("test.conf line 7: syntax error near \"= =\"; write settings as name = value.", message);
    }

    [Fact]
    public void Two_values_on_a_line_are_a_syntax_error()
    {
        var message = ParseError("name = a b");
        Assert.StartsWith("test.conf line 1: syntax error near \"a b\"; write one setting per line and quote values", message);
        Assert.EndsWith(".", message);
    }

    [Fact]
    public void A_line_that_does_not_start_with_a_name_is_a_syntax_error()
    {
        Assert.Equal("test.conf line 1: syntax error near \"=\"; write settings as name = value.", ParseError("= 5"));
        Assert.Equal("test.conf line 1: syntax error near \"'count'\"; write settings as name = value.", ParseError("'count' = 5"));
    }

    [Fact]
    public void A_name_with_a_dash_is_a_syntax_error()
    {
        Assert.Equal(
            "test.conf line 2: syntax error near \"max-count\"; setting names contain only letters, digits, underscores and dots.",
            ParseError("\nmax-count = 5"));
    }

    [Fact]
    public void A_missing_value_is_reported()
    {
        Assert.Equal(
            "test.conf line 1: name has no value; write name = value (use '' for an empty value).",
            ParseError("name =   # nothing"));
    }

    [Fact]
    public void An_unterminated_quote_is_reported()
    {
        var error = Assert.Throws<ConfigException>(() => Parse("count = 1\nname = 'abc"));
        Assert.Equal(
            "test.conf line 2: the value of name has no closing quote; end it with ' on the same line and write '' for a quote inside it.",
            error.Message);
        Assert.Equal("test.conf", error.FileName);
        Assert.Equal(2, error.Line);
        Assert.Equal("name", error.Setting);
    }

    [Fact]
    public void Include_directives_are_refused()
    {
        Assert.Equal(
            "test.conf line 1: include directives are not supported; put every setting in test.conf itself.",
            ParseError("include 'other.conf'"));
    }

    [Fact]
    public void Unknown_setting_suggests_the_closest_name()
    {
        var error = Assert.Throws<ConfigException>(() => McpServerSettings.Parse("\n\nmcp_lisen_port = 7777\n"));
        Assert.Equal("mcp_server.conf line 3: unknown setting \"mcp_lisen_port\"; did you mean \"mcp_listen_port\"?", error.Message);
        Assert.Equal("mcp_lisen_port", error.Setting);
    }

    [Fact]
    public void Unknown_setting_without_its_prefix_suggests_the_full_name()
    {
        var message = Assert.Throws<ConfigException>(() => McpServerSettings.Parse("txlog_path = '/x'")).Message;
        Assert.Equal("mcp_server.conf line 1: unknown setting \"txlog_path\"; did you mean \"mcp_txlog_path\"?", message);
    }

    [Fact]
    public void Unknown_setting_far_from_any_name()
    {
        Assert.Equal(
            "test.conf line 1: unknown setting \"shared_buffers\"; check its spelling against docs/configuration.md or remove the line.",
            ParseError("shared_buffers = 128MB"));
    }

    [Fact]
    public void A_setting_of_the_other_file_is_explained()
    {
        var mcp = Assert.Throws<ConfigException>(() => McpServerSettings.Parse("replication_mcp_port = 7777")).Message;
        Assert.Equal(
            "mcp_server.conf line 1: unknown setting \"replication_mcp_port\"; replication_* settings belong in the node file, not in mcp_server.conf.",
            mcp);
        var node = Assert.Throws<ConfigException>(() => NodeSettings.Parse("mcp_txlog_path = '/x'")).Message;
        Assert.Equal(
            "node.conf line 1: unknown setting \"mcp_txlog_path\"; mcp_* settings belong in mcp_server.conf, not in the node file.",
            node);
    }

    [Fact]
    public void Duplicate_setting_last_wins_and_keeps_its_line()
    {
        var values = Parse("count = 3\nname = a\ncount = 4");
        Assert.Equal(4, values.GetInt("count"));
        Assert.Equal(3, values.LineOf("count"));
        Assert.Equal(["test.conf line 1: count is set again on line 3, which wins."], values.Warnings);
    }

    [Fact]
    public void Duplicate_setting_errors_point_at_the_winning_line()
    {
        // The shadowed line is never read as a value, as in PostgreSQL.
        var message = ParseError("count = bad\ncount = 99");
        Assert.Equal("test.conf line 2: count = '99' is out of range; use an integer between 1 and 64.", message);
    }

    [Fact]
    public void Missing_file_names_the_path()
    {
        var message = Assert.Throws<ConfigException>(() => McpServerSettings.Load("/x/y.conf")).Message;
        Assert.Equal("cannot read configuration file \"/x/y.conf\": No such file or directory.", message);
    }

    [Fact]
    public void A_directory_is_not_a_file()
    {
        using var dir = new TempDirectory();
        var message = Assert.Throws<ConfigException>(() => NodeSettings.Load(dir.Path)).Message;
        Assert.Equal($"cannot read configuration file \"{dir.Path}\": Is a directory.", message);
    }

    [Fact]
    public void Load_names_the_file_as_given()
    {
        using var dir = new TempDirectory();
        var path = dir.File("mcp_server.conf");
        File.WriteAllText(path, "mcp_authkey = k\nmcp_txlog_path = /t\nmcp_listen_port = abc\n");
        var error = Assert.Throws<ConfigException>(() => McpServerSettings.Load(path));
        Assert.Equal($"{path} line 3: mcp_listen_port = 'abc' is not a valid integer; use a TCP port between 1 and 65535.", error.Message);
        Assert.Equal(path, error.FileName);
    }

    [Fact]
    public void Every_error_message_is_one_sentence()
    {
        string[] bad =
        [
            "name = = x", "name = 'x", "nope = 1", "count = x", "count = 100", "flag = maybe", "buffer = 5 mb",
            "timeout = 5 sec", "level = loud", "items = a,,b", "ratio = 2", "ratio = x", "buffer = 1.5x",
        ];
        foreach (var text in bad)
        {
            var message = ParseError(text);
            Assert.StartsWith("test.conf line 1: ", message);
            Assert.Matches(@"[.?]$", message);
            // One sentence: no full stop followed by a capital, no line break.
            Assert.DoesNotMatch(@"\. [A-Z]|\n", message);
        }
    }
}
