namespace Mammoth.Log.Types;

/// <summary>
/// PostgreSQL's calendar arithmetic (datetime.c / timestamp.h): proleptic Gregorian Julian day
/// numbers, astronomical years (1 BC = year 0), values relative to 2000-01-01.
/// </summary>
internal static class PgCalendar
{
    public const int PostgresEpochJulianDay = 2451545; // date2j(2000, 1, 1)
    public const int UnixEpochJulianDay = 2440588;     // date2j(1970, 1, 1)
    public const long MicrosecondsPerDay = 86_400_000_000L;
    public const long MicrosecondsPerHour = 3_600_000_000L;
    public const long MicrosecondsPerMinute = 60_000_000L;
    public const long MicrosecondsPerSecond = 1_000_000L;

    // Supported ranges (datetime.h): Julian day 0 is 4714-11-24 BC.
    public const int DateEndJulianDay = 2147483494;       // date2j(5874898, 1, 1)
    public const int TimestampEndJulianDay = 109203528;   // date2j(294277, 1, 1)
    public const long MinTimestamp = -211813488000000000L; // 4714-11-24 00:00:00 BC
    public const long EndTimestamp = 9223371331200000000L; // 294277-01-01 00:00:00

    public static void JulianToDate(int julianDay, out int year, out int month, out int day)
    {
        uint julian = (uint)julianDay;
        julian += 32044;
        uint quad = julian / 146097;
        uint extra = (julian - quad * 146097) * 4 + 3;
        julian += 60 + quad * 3 + extra / 146097;
        quad = julian / 1461;
        julian -= quad * 1461;
        int y = (int)(julian * 4 / 1461);
        julian = (y != 0 ? (julian + 305) % 365 : (julian + 306) % 366) + 123;
        y += (int)(quad * 4);
        year = y - 4800;
        quad = julian * 2141 / 65536;
        day = (int)(julian - 7834 * quad / 256);
        month = (int)((quad + 10) % 12 + 1);
    }

    public static int DateToJulian(int year, int month, int day)
    {
        if (month > 2)
        {
            month += 1;
            year += 4800;
        }
        else
        {
            month += 13;
            year += 4799;
        }
        int century = year / 100;
        int julian = year * 365 - 32167;
        julian += year / 4 - century + century / 4;
        julian += 7834 * month / 256 + day;
        return julian;
    }

    public static bool IsLeap(int year) => year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

    public static int DaysInMonth(int year, int month) => month switch
    {
        2 => IsLeap(year) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };
}
