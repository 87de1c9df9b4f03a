using Mammoth.Net.Configuration;
using Xunit;

namespace Mammoth.Net.Tests;

public sealed class ValueKindTests
{
    private static ConfigValues Parse(string text) => TestSchema.Instance.Parse(text, "test.conf");

    private static string ParseError(string text) => Assert.Throws<ConfigException>(() => Parse(text)).Message;

    [Fact]
    public void Defaults_apply_when_a_setting_is_absent()
    {
        var values = Parse("");
        Assert.False(values.GetBool("flag"));
        Assert.Equal(5, values.GetInt("count"));
        Assert.Equal(0.5, values.GetReal("ratio"));
        Assert.Equal("", values.GetString("name"));
        Assert.Equal("LOG", values.GetEnum("level"));
        Assert.Equal(64L << 20, values.GetSize("buffer"));
        Assert.Equal(TimeSpan.FromSeconds(15), values.GetTime("timeout"));
        Assert.Empty(values.GetList("items"));
        Assert.False(values.IsSet("flag"));
    }

    [Theory]
    [InlineData("on", true)]
    [InlineData("ON", true)]
    [InlineData("off", false)]
    [InlineData("of", false)]
    [InlineData("true", true)]
    [InlineData("t", true)]
    [InlineData("tr", true)]
    [InlineData("False", false)]
    [InlineData("f", false)]
    [InlineData("yes", true)]
    [InlineData("y", true)]
    [InlineData("no", false)]
    [InlineData("n", false)]
    [InlineData("1", true)]
    [InlineData("0", false)]
    [InlineData("'on'", true)]
    public void Booleans_as_postgresql_accepts_them(string text, bool expected)
    {
        Assert.Equal(expected, Parse("flag = " + text).GetBool("flag"));
    }

    [Theory]
    [InlineData("o")]
    [InlineData("2")]
    [InlineData("yess")]
    [InlineData("maybe")]
    [InlineData("''")]
    [InlineData("onn")]
    public void Ambiguous_or_wrong_booleans_are_refused(string text)
    {
        Assert.EndsWith("is not a valid boolean; use on or off.", ParseError("flag = " + text));
    }

    [Theory]
    [InlineData("7", 7)]
    [InlineData("+7", 7)]
    [InlineData("0x10", 16)]
    [InlineData("0X1f", 31)]
    [InlineData("007", 7)]
    [InlineData("' 12 '", 12)]
    public void Integers(string text, long expected)
    {
        Assert.Equal(expected, Parse("count = " + text).GetInt("count"));
    }

    [Fact]
    public void Integers_out_of_64_bits_or_with_fractions_are_refused()
    {
        Assert.Equal(-5, Parse("big = -5").GetInt("big"));
        Assert.Equal(long.MaxValue, Parse("big = 9223372036854775807").GetInt("big"));
        Assert.Equal("test.conf line 1: big = '9223372036854775808' is not a valid integer; use an integer.", ParseError("big = 9223372036854775808"));
        Assert.Equal("test.conf line 1: count = '1.5' is not a valid integer; use an integer between 1 and 64.", ParseError("count = 1.5"));
        Assert.Equal("test.conf line 1: count = '5s' is not a valid integer; use an integer between 1 and 64.", ParseError("count = 5s"));
    }

    [Fact]
    public void Integer_range_is_checked()
    {
        Assert.Equal("test.conf line 1: count = '0' is out of range; use an integer between 1 and 64.", ParseError("count = 0"));
        Assert.Equal("test.conf line 1: count = '65' is out of range; use an integer between 1 and 64.", ParseError("count = 65"));
        Assert.Equal(64, Parse("count = 64").GetInt("count"));
    }

    [Fact]
    public void Reals()
    {
        Assert.Equal(0.25, Parse("ratio = 0.25").GetReal("ratio"));
        Assert.Equal(0.001, Parse("ratio = 1e-3").GetReal("ratio"));
        Assert.Equal("test.conf line 1: ratio = '1.5' is out of range; use a number between 0 and 1.", ParseError("ratio = 1.5"));
        Assert.Equal("test.conf line 1: ratio = 'half' is not a valid number; use a number between 0 and 1.", ParseError("ratio = half"));
        Assert.EndsWith("is not a valid number; use a number between 0 and 1.", ParseError("ratio = NaN"));
    }

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("2000B", 2000L)]
    [InlineData("8kB", 8L << 10)]
    [InlineData("64MB", 64L << 20)]
    [InlineData("'64 MB'", 64L << 20)]
    [InlineData("2GB", 2L << 30)]
    [InlineData("1TB", 1L << 40)]
    [InlineData("1.5GB", 3L << 29)]
    [InlineData("1.5kB", 1536L)]
    public void Sizes_with_postgresql_units(string text, long bytes)
    {
        Assert.Equal(bytes, Parse("buffer = " + text).GetSize("buffer"));
    }

    [Fact]
    public void Size_units_are_case_sensitive()
    {
        Assert.Equal(
            "test.conf line 1: buffer = '64mb' has an unknown unit \"mb\"; use B, kB, MB, GB or TB (units are case-sensitive).",
            ParseError("buffer = 64mb"));
        Assert.Contains("unknown unit \"KB\"", ParseError("buffer = 8KB"));
    }

    [Fact]
    public void Size_errors()
    {
        Assert.Equal(
            "test.conf line 1: buffer = 'MB' is not a valid size; use a size of at least 1kB (units B, kB, MB, GB, TB).",
            ParseError("buffer = MB"));
        Assert.Equal(
            "test.conf line 1: buffer = '1000' is out of range; use a size of at least 1kB (units B, kB, MB, GB, TB).",
            ParseError("buffer = 1000"));
        Assert.Equal(
            "test.conf line 1: buffer = '99999999TB' is out of range; use a size of at least 1kB (units B, kB, MB, GB, TB).",
            ParseError("buffer = 99999999TB"));
    }

    [Theory]
    [InlineData("20", 20_000_000L)]
    [InlineData("20s", 20_000_000L)]
    [InlineData("1500ms", 1_500_000L)]
    [InlineData("250us", 250L)]
    [InlineData("2min", 120_000_000L)]
    [InlineData("1h", 3_600_000_000L)]
    [InlineData("1d", 86_400_000_000L)]
    [InlineData("0.5", 500_000L)]
    [InlineData("'3 min'", 180_000_000L)]
    public void Times_with_postgresql_units_and_seconds_for_a_bare_number(string text, long microseconds)
    {
        Assert.Equal(TimeSpan.FromMicroseconds(microseconds), Parse("timeout = " + text).GetTime("timeout"));
    }

    [Fact]
    public void Time_errors()
    {
        Assert.Equal(
            "test.conf line 1: timeout = '5 sec' has an unknown unit \"sec\"; use us, ms, s, min, h or d (units are case-sensitive).",
            ParseError("timeout = '5 sec'"));
        Assert.Equal(
            "test.conf line 1: timeout = '2d' is out of range; use a time between 0 and 1d (units us, ms, s, min, h, d; a bare number means seconds).",
            ParseError("timeout = 2d"));
        Assert.Equal(
            "test.conf line 1: timeout = '-1s' is out of range; use a time between 0 and 1d (units us, ms, s, min, h, d; a bare number means seconds).",
            ParseError("timeout = -1s"));
        Assert.Contains("is not a valid time", ParseError("timeout = soon"));
    }

    [Fact]
    public void Enums_are_case_insensitive_and_canonical()
    {
        Assert.Equal("DEBUG1", Parse("level = debug1").GetEnum("level"));
        Assert.Equal(
            "test.conf line 1: level = 'loud' is not a valid log level; use one of LOG, DEBUG1.",
            ParseError("level = loud"));
    }

    [Fact]
    public void Lists_are_split_on_commas_and_trimmed()
    {
        Assert.Equal(["a", "b c", "d"], Parse("items = 'a, b c ,d'").GetList("items"));
        Assert.Equal(["x"], Parse("items = x").GetList("items"));
        Assert.Empty(Parse("items = ''").GetList("items"));
        Assert.Equal(
            "test.conf line 1: items = 'a,,b' has an empty item; separate the items with single commas.",
            ParseError("items = a,,b"));
        Assert.Contains("has an empty item", ParseError("items = 'a,'"));
    }

    [Fact]
    public void Error_quotes_the_value_as_it_would_be_written()
    {
        Assert.Equal(
            "test.conf line 1: count = 'it''s' is not a valid integer; use an integer between 1 and 64.",
            ParseError("count = 'it''s'"));
    }

    [Theory]
    [InlineData(67108864L, "64MB")]
    [InlineData(1536L, "1536B")]
    [InlineData(1024L, "1kB")]
    [InlineData(0L, "0B")]
    public void Sizes_format_in_the_largest_exact_unit(long bytes, string text)
    {
        Assert.Equal(text, ValueParsers.FormatSize(bytes));
    }

    [Fact]
    public void Edit_distance_counts_a_swap_as_one()
    {
        Assert.Equal(1, EditDistance.Between("mcp_lisen_port", "mcp_listen_port"));
        Assert.Equal(1, EditDistance.Between("mcp_listne_port", "mcp_listen_port"));
        Assert.Equal(3, EditDistance.Between("kitten", "sitting"));
        Assert.Null(EditDistance.Suggest("zzz", ["mcp_listen_port"]));
    }
}
