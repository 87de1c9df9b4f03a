using System.Text;
using Mammoth.Net.Diagnostics;
using Xunit;

namespace Mammoth.Net.Tests;

public sealed class MammothLogTests
{
    private static readonly DateTimeOffset s_time = new(2026, 11, 25, 23, 59, 1, 123, TimeSpan.Zero);
    private static readonly string s_pid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Levels_rank_in_the_guides_order()
    {
        var all = PgLogLevels.All;
        Assert.Equal(Enum.GetValues<PgLogLevel>().Length, all.Count);
        for (var i = 1; i < all.Count; i++)
        {
            Assert.True(all[i - 1] > all[i], $"{all[i - 1]} should outrank {all[i]}");
        }
        Assert.Equal(
            ["PANIC", "FATAL", "ERROR", "WARNING", "NOTICE", "INFO", "COMERROR", "LOG", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5"],
            all.Select(l => l.Name()));
    }

    [Theory]
    [InlineData("notice", PgLogLevel.Notice)]
    [InlineData(" DEBUG5 ", PgLogLevel.Debug5)]
    [InlineData("ComError", PgLogLevel.ComError)]
    public void Level_names_parse_case_insensitively(string text, PgLogLevel expected)
    {
        Assert.True(PgLogLevels.TryParse(text, out var level));
        Assert.Equal(expected, level);
    }

    [Theory]
    [InlineData("15")]
    [InlineData("debug")]
    [InlineData("")]
    public void Level_numbers_and_unknown_names_do_not_parse(string text)
    {
        Assert.False(PgLogLevels.TryParse(text, out _));
    }

    [Fact]
    public void Notice_shows_panic_through_notice()
    {
        var (log, output) = NewLog(PgLogLevel.Notice);
        foreach (var level in PgLogLevels.All)
        {
            log.Write(level, "m");
        }
        Assert.Equal(["PANIC", "FATAL", "ERROR", "WARNING", "NOTICE"], Levels(output));
    }

    [Fact]
    public void Log_shows_everything_but_debug()
    {
        var (log, output) = NewLog(PgLogLevel.Log);
        foreach (var level in PgLogLevels.All)
        {
            log.Write(level, "m");
        }
        Assert.Equal(["PANIC", "FATAL", "ERROR", "WARNING", "NOTICE", "INFO", "COMERROR", "LOG"], Levels(output));
        Assert.False(log.IsEnabled(PgLogLevel.Debug1));
        Assert.True(log.IsEnabled(PgLogLevel.ComError));
    }

    [Fact]
    public void Line_format_is_postgresqls()
    {
        var (log, output) = NewLog(PgLogLevel.Log);
        log.Write(PgLogLevel.Warning, "disk is full\n");
        Assert.Equal($"2026-11-25 23:59:01.123 UTC [{s_pid}] WARNING:  disk is full\n", output.ToString());
    }

    [Fact]
    public void Level_can_change_at_run_time()
    {
        var (log, output) = NewLog(PgLogLevel.Log);
        log.Write(PgLogLevel.Debug2, "hidden");
        log.Level = PgLogLevel.Debug2;
        log.Write(PgLogLevel.Debug2, "shown");
        log.Write(PgLogLevel.Debug3, "hidden");
        log.Level = PgLogLevel.Error;
        log.Write(PgLogLevel.Warning, "hidden");
        Assert.Equal(["DEBUG2"], Levels(output));
        Assert.Equal(PgLogLevel.Error, log.Level);
    }

    [Fact]
    public void Interpolated_messages_are_formatted_only_when_written()
    {
        var (log, output) = NewLog(PgLogLevel.Log);
        var probe = new CountingProbe();
        log.Write(PgLogLevel.Debug1, $"expensive {probe}");
        Assert.Equal(0, probe.Calls);
        log.Write(PgLogLevel.Log, $"slave {3} at recno {12345678901L} lag {1.5:F2}s {probe} {"end"}");
        Assert.Equal(1, probe.Calls);
        Assert.EndsWith("LOG:  slave 3 at recno 12345678901 lag 1.50s probe end\n", output.ToString());
    }

    [Fact]
    public void Long_interpolated_messages_grow_their_buffer()
    {
        var (log, output) = NewLog(PgLogLevel.Log);
        var big = new string('x', 5000);
        log.Write(PgLogLevel.Log, $"{big}{42}{big}");
        Assert.EndsWith($"LOG:  {big}42{big}\n", output.ToString());
    }

    [Fact]
    public void A_failing_writer_never_throws_out_of_a_log_call()
    {
        var log = new MammothLog(new BrokenWriter(), PgLogLevel.Log, new FixedTimeProvider(s_time));
        log.Write(PgLogLevel.Error, "lost");
        log.Write(PgLogLevel.Error, $"lost {1}");
        Assert.Equal(2, log.DroppedLines);
        log.Dispose();
    }

    [Fact]
    public void Writing_after_dispose_is_ignored()
    {
        var (log, output) = NewLog(PgLogLevel.Log);
        log.Dispose();
        log.Write(PgLogLevel.Fatal, "after");
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Reopen_after_dispose_does_not_revive_the_log()
    {
        using var dir = new TempDirectory();
        var path = dir.File("closed.log");
        var log = new MammothLog(path, PgLogLevel.Log);
        log.Dispose();
        Assert.False(log.Reopen());
        log.Write(PgLogLevel.Panic, "after");
        Assert.Equal("", File.ReadAllText(path));
    }

    [Fact]
    public void File_log_appends_and_reopens_after_rotation()
    {
        using var dir = new TempDirectory();
        var path = dir.File("mcp.log");
        File.WriteAllText(path, "earlier line\n");
        using (var log = new MammothLog(path, PgLogLevel.Log, new FixedTimeProvider(s_time)))
        {
            Assert.Equal(path, log.Path);
            log.Write(PgLogLevel.Log, "first");
            File.Move(path, path + ".1");
            log.Write(PgLogLevel.Log, "second goes to the moved file");
            Assert.True(log.Reopen());
            log.Write(PgLogLevel.Log, "third");
        }
        var rotated = File.ReadAllLines(path + ".1");
        Assert.Equal(3, rotated.Length);
        Assert.Equal("earlier line", rotated[0]);
        Assert.EndsWith("LOG:  first", rotated[1]);
        Assert.EndsWith("LOG:  second goes to the moved file", rotated[2]);
        Assert.Equal([$"2026-11-25 23:59:01.123 UTC [{s_pid}] LOG:  third"], File.ReadAllLines(path));
    }

    [Fact]
    public void Failed_reopen_keeps_the_old_file_and_says_so()
    {
        using var dir = new TempDirectory();
        var sub = Directory.CreateDirectory(dir.File("logs")).FullName;
        var path = Path.Combine(sub, "node.log");
        using var log = new MammothLog(path, PgLogLevel.Log, new FixedTimeProvider(s_time));
        File.Move(path, dir.File("node.log.1"));
        Directory.Delete(sub);
        Assert.False(log.Reopen());
        log.Write(PgLogLevel.Log, "still here");
        var lines = File.ReadAllLines(dir.File("node.log.1"));
        Assert.Equal(2, lines.Length);
        Assert.EndsWith($"ERROR:  could not reopen log file \"{path}\": No such file or directory; still writing to the file opened before", lines[0]);
        Assert.EndsWith("LOG:  still here", lines[1]);
    }

    [Fact]
    public void Opening_a_log_in_a_missing_directory_is_one_sentence()
    {
        var error = Assert.Throws<IOException>(() => new MammothLog("/no/such/dir/mcp.log"));
        Assert.Equal("cannot open log file \"/no/such/dir/mcp.log\": No such file or directory.", error.Message);
    }

    [Fact]
    public void Concurrent_writers_never_interleave_lines()
    {
        using var dir = new TempDirectory();
        var path = dir.File("busy.log");
        using (var log = new MammothLog(path, PgLogLevel.Log))
        {
            Parallel.For(0, 8, thread =>
            {
                for (var i = 0; i < 500; i++)
                {
                    log.Write(PgLogLevel.Log, $"thread {thread} line {i} {new string('z', 100)}");
                }
            });
            Assert.Equal(0, log.DroppedLines);
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(8 * 500, lines.Length);
        Assert.All(lines, line => Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[\d+\] LOG:  thread \d line \d+ z{100}$", line));
    }

    private static (MammothLog Log, StringWriter Output) NewLog(PgLogLevel level)
    {
        var output = new StringWriter { NewLine = "\n" };
        return (new MammothLog(output, level, new FixedTimeProvider(s_time)), output);
    }

    private static string[] Levels(StringWriter output) =>
        [.. output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')[4].TrimEnd(':'))];

    private sealed class CountingProbe
    {
        public int Calls { get; private set; }

        public override string ToString()
        {
            Calls++;
            return "probe";
        }
    }

    private sealed class BrokenWriter : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => throw new IOException("No space left on device");

        public override void Write(ReadOnlySpan<char> buffer) => throw new IOException("No space left on device");
    }
}
