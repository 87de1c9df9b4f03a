using System.Globalization;

namespace Mammoth.Net.Configuration;

/// <summary>The value spellings PostgreSQL accepts for booleans, integers, sizes and times.</summary>
internal static class ValueParsers
{
    /// <summary>Memory units, case-sensitive as in PostgreSQL, 1024-based.</summary>
    public static readonly (string Unit, long Bytes)[] SizeUnits =
    [
        ("B", 1L), ("kB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30), ("TB", 1L << 40),
    ];

    /// <summary>Time units, case-sensitive as in PostgreSQL.</summary>
    public static readonly (string Unit, long Ticks)[] TimeUnits =
    [
        ("us", TimeSpan.TicksPerMicrosecond), ("ms", TimeSpan.TicksPerMillisecond), ("s", TimeSpan.TicksPerSecond),
        ("min", TimeSpan.TicksPerMinute), ("h", TimeSpan.TicksPerHour), ("d", TimeSpan.TicksPerDay),
    ];

    /// <summary>
    /// PostgreSQL's <c>parse_bool</c>: on/off, true/false, yes/no, 1/0, case-insensitive, and any prefix
    /// that is not ambiguous (<c>t</c>, <c>ye</c>, <c>of</c>; not <c>o</c>).
    /// </summary>
    public static bool TryParseBool(string text, out bool value)
    {
        var t = text.Trim().ToLowerInvariant();
        value = false;
        if (t.Length == 0)
        {
            return false;
        }
        if (IsPrefixOf(t, "true", 1) || IsPrefixOf(t, "yes", 1) || IsPrefixOf(t, "on", 2) || t == "1")
        {
            value = true;
            return true;
        }
        return IsPrefixOf(t, "false", 1) || IsPrefixOf(t, "no", 1) || IsPrefixOf(t, "off", 2) || t == "0";
    }

    /// <summary>A whole number: optional sign, then decimal digits or <c>0x</c> and hexadecimal digits.</summary>
    public static bool TryParseInteger(string text, out long value)
    {
        value = 0;
        var t = text.AsSpan().Trim();
        var negative = false;
        if (t.Length > 0 && t[0] is '+' or '-')
        {
            negative = t[0] == '-';
            t = t[1..];
        }
        bool ok;
        if (t.Length > 2 && t[0] == '0' && t[1] is 'x' or 'X')
        {
            ok = long.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value >= 0;
        }
        else
        {
            ok = t.Length > 0 && char.IsAsciiDigit(t[0])
                && long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }
        if (!ok)
        {
            value = 0;
            return false;
        }
        value = negative ? -value : value;
        return true;
    }

    public static bool TryParseReal(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>
    /// A number with an optional unit, white space allowed between them; the number may have a fraction
    /// (<c>1.5GB</c>) and the result is rounded to a whole base unit (byte, or tick of 100 ns).
    /// </summary>
    /// <returns>
    /// <see cref="UnitParse.Ok"/>, <see cref="UnitParse.BadNumber"/>, <see cref="UnitParse.BadUnit"/> with
    /// <paramref name="unit"/> set to the unit as written, or <see cref="UnitParse.OutOfRange"/> when the
    /// result does not fit in 64 bits.
    /// </returns>
    public static UnitParse TryParseWithUnit(string text, (string Unit, long Factor)[] units, long bareFactor, out long value, out string unit)
    {
        value = 0;
        unit = "";
        var t = text.AsSpan().Trim();
        var i = 0;
        if (i < t.Length && t[i] is '+' or '-')
        {
            i++;
        }
        var digits = 0;
        while (i < t.Length && char.IsAsciiDigit(t[i]))
        {
            i++;
            digits++;
        }
        if (i < t.Length && t[i] == '.')
        {
            i++;
            while (i < t.Length && char.IsAsciiDigit(t[i]))
            {
                i++;
                digits++;
            }
        }
        if (digits == 0 || !decimal.TryParse(t[..i], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return UnitParse.BadNumber;
        }

        var factor = bareFactor;
        var written = t[i..].TrimStart();
        if (written.Length > 0)
        {
            unit = written.ToString();
            var found = false;
            foreach (var (name, unitFactor) in units)
            {
                if (written.SequenceEqual(name))
                {
                    factor = unitFactor;
                    found = true;
                    break;
                }
            }
            if (!found)
            {
                return UnitParse.BadUnit;
            }
        }

        try
        {
            // rint(), as PostgreSQL rounds a fractional value to the base unit.
            var scaled = decimal.Round(number * factor, MidpointRounding.ToEven);
            if (scaled > long.MaxValue || scaled < long.MinValue)
            {
                return UnitParse.OutOfRange;
            }
            value = (long)scaled;
            return UnitParse.Ok;
        }
        catch (OverflowException)
        {
            return UnitParse.OutOfRange;
        }
    }

    /// <summary>A byte count in the largest unit that divides it exactly: 67108864 → "64MB".</summary>
    public static string FormatSize(long bytes)
    {
        for (var u = SizeUnits.Length - 1; u > 0; u--)
        {
            if (bytes != 0 && bytes % SizeUnits[u].Bytes == 0)
            {
                return (bytes / SizeUnits[u].Bytes).ToString(CultureInfo.InvariantCulture) + SizeUnits[u].Unit;
            }
        }
        return bytes.ToString(CultureInfo.InvariantCulture) + "B";
    }

    /// <summary>A duration in the largest unit that divides it exactly: 15 s → "15s", 90 s → "90s", 1 h → "1h".</summary>
    public static string FormatTime(TimeSpan time)
    {
        var ticks = time.Ticks;
        for (var u = TimeUnits.Length - 1; u > 0; u--)
        {
            if (ticks != 0 && ticks % TimeUnits[u].Ticks == 0)
            {
                return (ticks / TimeUnits[u].Ticks).ToString(CultureInfo.InvariantCulture) + TimeUnits[u].Unit;
            }
        }
        return ticks == 0 ? "0" : (ticks / (double)TimeSpan.TicksPerMicrosecond).ToString(CultureInfo.InvariantCulture) + "us";
    }

    private static bool IsPrefixOf(string text, string word, int minimumLength) =>
        text.Length >= minimumLength && text.Length <= word.Length && word.StartsWith(text, StringComparison.Ordinal);
}
