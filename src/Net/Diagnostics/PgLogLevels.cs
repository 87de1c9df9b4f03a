namespace Mammoth.Net.Diagnostics;

/// <summary>Names of <see cref="PgLogLevel"/> values as they appear in configuration files and log lines.</summary>
public static class PgLogLevels
{
    // Most severe first: the order the guide lists them in, used for messages and docs.
    private static readonly PgLogLevel[] s_all =
    [
        PgLogLevel.Panic, PgLogLevel.Fatal, PgLogLevel.Error, PgLogLevel.Warning, PgLogLevel.Notice,
        PgLogLevel.Info, PgLogLevel.ComError, PgLogLevel.Log, PgLogLevel.Debug1, PgLogLevel.Debug2,
        PgLogLevel.Debug3, PgLogLevel.Debug4, PgLogLevel.Debug5,
    ];

    /// <summary>Every level, most severe first.</summary>
    public static IReadOnlyList<PgLogLevel> All => s_all;

    /// <summary>The upper-case name written in log lines, e.g. <c>WARNING</c> or <c>DEBUG1</c>.</summary>
    public static string Name(this PgLogLevel level) => level switch
    {
        PgLogLevel.Panic => "PANIC",
        PgLogLevel.Fatal => "FATAL",
        PgLogLevel.Error => "ERROR",
        PgLogLevel.Warning => "WARNING",
        PgLogLevel.Notice => "NOTICE",
        PgLogLevel.Info => "INFO",
        PgLogLevel.ComError => "COMERROR",
        PgLogLevel.Log => "LOG",
        PgLogLevel.Debug1 => "DEBUG1",
        PgLogLevel.Debug2 => "DEBUG2",
        PgLogLevel.Debug3 => "DEBUG3",
        PgLogLevel.Debug4 => "DEBUG4",
        PgLogLevel.Debug5 => "DEBUG5",
        _ => "LOG",
    };

    /// <summary>Parses a level name case-insensitively (<c>notice</c>, <c>DEBUG3</c>); numbers are not accepted.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out PgLogLevel level)
    {
        text = text.Trim();
        foreach (var candidate in s_all)
        {
            if (text.Equals(candidate.Name(), StringComparison.OrdinalIgnoreCase))
            {
                level = candidate;
                return true;
            }
        }
        level = PgLogLevel.Log;
        return false;
    }
}
