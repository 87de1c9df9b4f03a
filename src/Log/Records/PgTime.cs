using System.Globalization;

namespace Mammoth.Log.Records;

/// <summary>PostgreSQL's time and LSN conventions: µs since 2000-01-01 UTC, LSNs printed as X/Y.</summary>
public static class PgTime
{
    public static readonly DateTime Epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public static DateTime ToDateTime(long microsSince2000) => Epoch.AddTicks(microsSince2000 * 10);

    public static long FromDateTime(DateTime utc) => (utc.ToUniversalTime() - Epoch).Ticks / 10;

    public static long Now() => FromDateTime(DateTime.UtcNow);

    public static string FormatLsn(ulong lsn) => string.Create(CultureInfo.InvariantCulture, $"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}");
}
