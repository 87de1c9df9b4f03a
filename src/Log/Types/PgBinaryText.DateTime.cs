using System.Text;

namespace Mammoth.Log.Types;

// date, time, timetz, timestamp, timestamptz and interval output (DateStyle ISO, TimeZone UTC,
// IntervalStyle postgres).
public static partial class PgBinaryText
{
    private static void AppendDate(StringBuilder output, int days)
    {
        if (days == int.MinValue)
        {
            output.Append("-infinity");
            return;
        }
        if (days == int.MaxValue)
        {
            output.Append("infinity");
            return;
        }
        PgCalendar.JulianToDate(days + PgCalendar.PostgresEpochJulianDay, out int year, out int month, out int day);
        AppendYmd(output, year, month, day);
        if (year <= 0)
            output.Append(" BC");
    }

    private static void AppendYmd(StringBuilder output, int year, int month, int day)
    {
        AppendPadded(output, year > 0 ? year : -(year - 1), 4);
        output.Append('-');
        AppendPadded(output, month, 2);
        output.Append('-');
        AppendPadded(output, day, 2);
    }

    /// <summary>HH:MM:SS[.ffffff] with trailing fraction zeros dropped.</summary>
    private static void AppendTime(StringBuilder output, long microseconds)
    {
        long hour = microseconds / PgCalendar.MicrosecondsPerHour;
        microseconds -= hour * PgCalendar.MicrosecondsPerHour;
        long minute = microseconds / PgCalendar.MicrosecondsPerMinute;
        microseconds -= minute * PgCalendar.MicrosecondsPerMinute;
        long second = microseconds / PgCalendar.MicrosecondsPerSecond;
        microseconds -= second * PgCalendar.MicrosecondsPerSecond;
        AppendPadded(output, hour, 2);
        output.Append(':');
        AppendPadded(output, minute, 2);
        output.Append(':');
        AppendSeconds(output, (int)second, (int)microseconds);
    }

    /// <summary>AppendSeconds: absolute seconds as 2 digits, then a fraction without trailing zeros.</summary>
    private static void AppendSeconds(StringBuilder output, int seconds, int microseconds)
    {
        AppendPadded(output, Math.Abs(seconds), 2);
        if (microseconds == 0)
            return;
        int fraction = Math.Abs(microseconds);
        int digits = 6;
        while (fraction % 10 == 0)
        {
            fraction /= 10;
            digits--;
        }
        output.Append('.');
        AppendPadded(output, fraction, digits);
    }

    /// <summary>EncodeTimezone: <paramref name="secondsWest"/> is PostgreSQL's zone (seconds west of UTC).</summary>
    private static void AppendZone(StringBuilder output, int secondsWest)
    {
        int seconds = Math.Abs(secondsWest);
        int minutes = seconds / 60;
        seconds -= minutes * 60;
        int hours = minutes / 60;
        minutes -= hours * 60;
        output.Append(secondsWest <= 0 ? '+' : '-');
        AppendPadded(output, hours, 2);
        if (seconds != 0)
        {
            output.Append(':');
            AppendPadded(output, minutes, 2);
            output.Append(':');
            AppendPadded(output, seconds, 2);
        }
        else if (minutes != 0)
        {
            output.Append(':');
            AppendPadded(output, minutes, 2);
        }
    }

    private static void AppendTimestamp(StringBuilder output, long microseconds, bool withZone)
    {
        if (microseconds == long.MinValue)
        {
            output.Append("-infinity");
            return;
        }
        if (microseconds == long.MaxValue)
        {
            output.Append("infinity");
            return;
        }
        long date = microseconds / PgCalendar.MicrosecondsPerDay;
        long time = microseconds - date * PgCalendar.MicrosecondsPerDay;
        if (time < 0)
        {
            time += PgCalendar.MicrosecondsPerDay;
            date--;
        }
        long julian = date + PgCalendar.PostgresEpochJulianDay;
        if (julian < 0 || julian > int.MaxValue)
            ThrowFormat("timestamp", "is out of range");
        PgCalendar.JulianToDate((int)julian, out int year, out int month, out int day);
        AppendYmd(output, year, month, day);
        output.Append(' ');
        AppendTime(output, time);
        if (withZone)
            output.Append("+00");
        if (year <= 0)
            output.Append(" BC");
    }

    /// <summary>interval_out with IntervalStyle postgres: "1 year 2 mons -3 days +04:05:06.7".</summary>
    private static void AppendInterval(StringBuilder output, long time, int days, int months)
    {
        // PostgreSQL 17 infinities (all fields at their extreme); earlier servers never send these.
        if (months == int.MaxValue && days == int.MaxValue && time == long.MaxValue)
        {
            output.Append("infinity");
            return;
        }
        if (months == int.MinValue && days == int.MinValue && time == long.MinValue)
        {
            output.Append("-infinity");
            return;
        }
        int years = months / 12;
        months -= years * 12;
        long hours = time / PgCalendar.MicrosecondsPerHour;
        time -= hours * PgCalendar.MicrosecondsPerHour;
        int minutes = (int)(time / PgCalendar.MicrosecondsPerMinute);
        time -= minutes * PgCalendar.MicrosecondsPerMinute;
        int seconds = (int)(time / PgCalendar.MicrosecondsPerSecond);
        int microseconds = (int)(time - seconds * PgCalendar.MicrosecondsPerSecond);

        bool isZero = true;
        bool isBefore = false;
        AddIntervalPart(output, years, "year", ref isZero, ref isBefore);
        AddIntervalPart(output, months, "mon", ref isZero, ref isBefore);
        AddIntervalPart(output, days, "day", ref isZero, ref isBefore);
        if (isZero || hours != 0 || minutes != 0 || seconds != 0 || microseconds != 0)
        {
            bool minus = hours < 0 || minutes < 0 || seconds < 0 || microseconds < 0;
            if (!isZero)
                output.Append(' ');
            if (minus)
                output.Append('-');
            else if (isBefore)
                output.Append('+');
            // i64abs: |long.MinValue / hour| fits easily.
            AppendPadded(output, Math.Abs(hours), 2);
            output.Append(':');
            AppendPadded(output, Math.Abs(minutes), 2);
            output.Append(':');
            AppendSeconds(output, seconds, microseconds);
        }
    }

    /// <summary>AddPostgresIntPart: "[ ][+]N unit[s]"; each non-zero part decides whether the next gets a '+'.</summary>
    private static void AddIntervalPart(StringBuilder output, long value, string unit, ref bool isZero, ref bool isBefore)
    {
        if (value == 0)
            return;
        if (!isZero)
            output.Append(' ');
        if (isBefore && value > 0)
            output.Append('+');
        AppendInvariant(output, value);
        output.Append(' ').Append(unit);
        if (value != 1)
            output.Append('s');
        isBefore = value < 0;
        isZero = false;
    }

    private static void AppendPadded(StringBuilder output, long value, int width)
    {
        Span<char> chars = stackalloc char[24];
        value.TryFormat(chars, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        if (written < width)
            output.Append('0', width - written);
        output.Append(chars[..written]);
    }
}
