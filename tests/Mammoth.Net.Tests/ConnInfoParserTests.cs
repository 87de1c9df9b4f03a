using Mammoth.Net.Configuration;
using Xunit;

namespace Mammoth.Net.Tests;

public sealed class ConnInfoParserTests
{
    [Fact]
    public void Keyword_value_pairs()
    {
        var values = ConnInfoParser.Parse("host=localhost port=5432 dbname=app user=mammoth sslmode=verify-full");
        Assert.Equal(5, values.Count);
        Assert.Equal("localhost", values["host"]);
        Assert.Equal("5432", values["port"]);
        Assert.Equal("verify-full", values["sslmode"]);
    }

    [Fact]
    public void Spaces_around_equals_and_quoted_values()
    {
        var values = ConnInfoParser.Parse("  host = 'my host'\tpassword='it\\'s' user = '' dbname=a\\ b ");
        Assert.Equal("my host", values["host"]);
        Assert.Equal("it's", values["password"]);
        Assert.Equal("", values["user"]);
        Assert.Equal("a b", values["dbname"]);
    }

    [Fact]
    public void Backslashes_escape_in_quoted_values()
    {
        Assert.Equal(@"a\b'c", ConnInfoParser.Parse(@"password='a\\b\'c'")["password"]);
    }

    [Fact]
    public void Empty_string_is_no_keywords()
    {
        Assert.Empty(ConnInfoParser.Parse(""));
        Assert.Empty(ConnInfoParser.Parse("   "));
    }

    [Fact]
    public void Last_repeated_keyword_wins()
    {
        Assert.Equal("b", ConnInfoParser.Parse("host=a host=b")["host"]);
    }

    [Fact]
    public void A_bare_empty_value_takes_the_next_word_as_libpq_does()
    {
        Assert.Equal("port=5", ConnInfoParser.Parse("host= port=5")["host"]);
    }

    [Theory]
    [InlineData("hots=x", "has an unknown keyword \"hots\"; did you mean \"host\"?")]
    [InlineData("Host=x", "has an unknown keyword \"Host\"; did you mean \"host\"?")]
    [InlineData("host", "has no \"=\" after \"host\"; write keyword=value pairs, as in host=localhost port=5432.")]
    [InlineData("host x", "has no \"=\" after \"host\"; write keyword=value pairs, as in host=localhost port=5432.")]
    [InlineData("=x", "has \"=\" with no keyword before it; write keyword=value pairs, as in host=localhost port=5432.")]
    [InlineData("password='abc", "has an unterminated quoted value for password; end it with ' and write \\' for a quote inside it.")]
    [InlineData("port=abc", "has port=abc, which is not a TCP port; use a number between 1 and 65535.")]
    [InlineData("port=0", "has port=0, which is not a TCP port; use a number between 1 and 65535.")]
    [InlineData("sslmode=on", "has sslmode=on; use disable, allow, prefer, require, verify-ca or verify-full.")]
    [InlineData("postgresql://u@h/db", "is a URI; write it as keyword=value pairs, as in host=localhost port=5432 dbname=app.")]
    public void Errors(string conninfo, string problem)
    {
        Assert.False(ConnInfoParser.TryParse(conninfo, out var values, out var actual));
        Assert.Null(values);
        Assert.Equal(problem, actual);
        Assert.Equal("conninfo " + problem, Assert.Throws<FormatException>(() => ConnInfoParser.Parse(conninfo)).Message);
    }
}
