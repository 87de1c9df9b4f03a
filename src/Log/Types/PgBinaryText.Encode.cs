using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Mammoth.Log.Types;

// Key text to binary (the reverse of Format for the types a primary key is usually made of).
public static partial class PgBinaryText
{
    /// <summary>
    /// Writes the binary send form of <paramref name="text"/> read as type <paramref name="typeOid"/>
    /// (the value bytes only, without a length word), as the server would store it. Supported:
    /// bool, int2, int4, int8, oid, text, varchar, bpchar, name, uuid, numeric, date, timestamp,
    /// timestamptz. A timestamptz without a zone is taken as UTC.
    /// </summary>
    /// <returns>False with a PostgreSQL-style <paramref name="error"/> when the text is not a valid value or the type is not supported; nothing is written then.</returns>
    public static bool TryEncodeKey(uint typeOid, string text, IBufferWriter<byte> output, out string? error) =>
        TryEncodeKey(typeOid, -1, text, output, out error);

    /// <summary>
    /// As <see cref="TryEncodeKey(uint, string, IBufferWriter{byte}, out string?)"/>, applying the
    /// column's type modifier as the server does on input: bpchar(n) pads with spaces to n
    /// characters, varchar(n) drops excess trailing spaces, numeric(p,s) rounds to s decimals.
    /// </summary>
    public static bool TryEncodeKey(uint typeOid, int typeModifier, string text, IBufferWriter<byte> output, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        error = null;
        var s = text.AsSpan();
        switch (typeOid)
        {
            case PgTypeOid.Bool:
                if (!TryParseBool(s.Trim(WhiteSpace), out bool b))
                    return Fail(out error, $"invalid input syntax for type boolean: \"{text}\"");
                output.GetSpan(1)[0] = b ? (byte)1 : (byte)0;
                output.Advance(1);
                return true;
            case PgTypeOid.Int2:
                if (!TryParseInteger(s, short.MinValue, short.MaxValue, "smallint", text, out long i2, out error))
                    return false;
                BinaryPrimitives.WriteInt16BigEndian(output.GetSpan(2), (short)i2);
                output.Advance(2);
                return true;
            case PgTypeOid.Int4:
                if (!TryParseInteger(s, int.MinValue, int.MaxValue, "integer", text, out long i4, out error))
                    return false;
                BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), (int)i4);
                output.Advance(4);
                return true;
            case PgTypeOid.Int8:
                if (!TryParseInteger(s, long.MinValue, long.MaxValue, "bigint", text, out long i8, out error))
                    return false;
                BinaryPrimitives.WriteInt64BigEndian(output.GetSpan(8), i8);
                output.Advance(8);
                return true;
            case PgTypeOid.Oid:
                // oidin accepts negative numbers down to INT_MIN and wraps them, as strtoul does.
                if (!TryParseInteger(s, int.MinValue, uint.MaxValue, "oid", text, out long oid, out error))
                    return false;
                BinaryPrimitives.WriteUInt32BigEndian(output.GetSpan(4), unchecked((uint)oid));
                output.Advance(4);
                return true;
            case PgTypeOid.Text:
                WriteUtf8(output, s);
                return true;
            case PgTypeOid.Varchar:
                return TryEncodeVarchar(s, typeModifier, output, out error);
            case PgTypeOid.Bpchar:
                return TryEncodeBpchar(s, typeModifier, output, out error);
            case PgTypeOid.Name:
                WriteName(output, s);
                return true;
            case PgTypeOid.Uuid:
                return TryEncodeUuid(s, text, output, out error);
            case PgTypeOid.Numeric:
                return TryEncodeNumeric(s, typeModifier, text, output, out error);
            case PgTypeOid.Date:
                return TryEncodeDate(s, text, output, out error);
            case PgTypeOid.Timestamp:
                return TryEncodeTimestamp(s, withZone: false, text, output, out error);
            case PgTypeOid.TimestampTz:
                return TryEncodeTimestamp(s, withZone: true, text, output, out error);
            default:
                return Fail(out error, $"type oid {typeOid} is not a supported key type");
        }
    }

    private const string WhiteSpace = " \t\n\r\v\f";

    private static bool Fail(out string? error, string message)
    {
        error = message;
        return false;
    }

    /// <summary>parse_bool_with_len: unique prefixes of true/false/yes/no, on/off (two letters at least), 1/0.</summary>
    private static bool TryParseBool(ReadOnlySpan<char> s, out bool value)
    {
        value = false;
        if (s.IsEmpty)
            return false;
        static bool PrefixOf(ReadOnlySpan<char> s, string word, int minimum) =>
            s.Length >= minimum && s.Length <= word.Length && word.AsSpan(0, s.Length).Equals(s, StringComparison.OrdinalIgnoreCase);
        switch (char.ToLowerInvariant(s[0]))
        {
            case 't' when PrefixOf(s, "true", 1):
            case 'y' when PrefixOf(s, "yes", 1):
            case 'o' when PrefixOf(s, "on", 2):
            case '1' when s.Length == 1:
                value = true;
                return true;
            case 'f' when PrefixOf(s, "false", 1):
            case 'n' when PrefixOf(s, "no", 1):
            case 'o' when PrefixOf(s, "off", 2):
            case '0' when s.Length == 1:
                value = false;
                return true;
            default:
                return false;
        }
    }

    /// <summary>pg_strtoint*: optional white space, sign, decimal digits, optional white space.</summary>
    private static bool TryParseInteger(ReadOnlySpan<char> s, long min, long max, string typeName, string text, out long value, out string? error)
    {
        value = 0;
        error = null;
        var t = s.Trim(WhiteSpace);
        bool negative = false;
        if (!t.IsEmpty && (t[0] == '-' || t[0] == '+'))
        {
            negative = t[0] == '-';
            t = t[1..];
        }
        if (t.IsEmpty)
            return Fail(out error, $"invalid input syntax for type {typeName}: \"{text}\"");
        // Accumulate negatively so long.MinValue fits.
        long accumulated = 0;
        bool overflow = false;
        foreach (char c in t)
        {
            if (!char.IsAsciiDigit(c))
                return Fail(out error, $"invalid input syntax for type {typeName}: \"{text}\"");
            if (!overflow)
            {
                if (accumulated < (long.MinValue + (c - '0')) / 10)
                    overflow = true;
                else
                    accumulated = accumulated * 10 - (c - '0');
            }
        }
        if (!negative)
        {
            if (accumulated == long.MinValue)
                overflow = true;
            else
                accumulated = -accumulated;
        }
        if (overflow || accumulated < min || accumulated > max)
            return Fail(out error, $"value \"{text}\" is out of range for type {typeName}");
        value = accumulated;
        return true;
    }

    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> s)
    {
        int length = Encoding.UTF8.GetByteCount(s);
        int written = Encoding.UTF8.GetBytes(s, output.GetSpan(length));
        output.Advance(written);
    }

    /// <summary>namein: at most NAMEDATALEN-1 (63) bytes, cut on a character boundary.</summary>
    private static void WriteName(IBufferWriter<byte> output, ReadOnlySpan<char> s)
    {
        const int MaxBytes = 63;
        int bytes = 0;
        int chars = 0;
        while (chars < s.Length)
        {
            int step = char.IsHighSurrogate(s[chars]) && chars + 1 < s.Length && char.IsLowSurrogate(s[chars + 1]) ? 2 : 1;
            int size = Encoding.UTF8.GetByteCount(s.Slice(chars, step));
            if (bytes + size > MaxBytes)
                break;
            bytes += size;
            chars += step;
        }
        WriteUtf8(output, s[..chars]);
    }

    private static int CharacterCount(ReadOnlySpan<char> s)
    {
        int count = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (!(char.IsLowSurrogate(s[i]) && i > 0 && char.IsHighSurrogate(s[i - 1])))
                count++;
        }
        return count;
    }

    private static int CharIndexOfCharacter(ReadOnlySpan<char> s, int characters)
    {
        int index = 0;
        for (int n = 0; n < characters && index < s.Length; n++)
            index += char.IsHighSurrogate(s[index]) && index + 1 < s.Length && char.IsLowSurrogate(s[index + 1]) ? 2 : 1;
        return index;
    }

    private static bool TryEncodeVarchar(ReadOnlySpan<char> s, int typeModifier, IBufferWriter<byte> output, out string? error)
    {
        error = null;
        int max = typeModifier - 4;
        if (typeModifier >= 4 && CharacterCount(s) > max)
        {
            int cut = CharIndexOfCharacter(s, max);
            if (s[cut..].TrimStart(' ').Length != 0)
                return Fail(out error, $"value too long for type character varying({max})");
            s = s[..cut];
        }
        WriteUtf8(output, s);
        return true;
    }

    private static bool TryEncodeBpchar(ReadOnlySpan<char> s, int typeModifier, IBufferWriter<byte> output, out string? error)
    {
        error = null;
        if (typeModifier < 4)
        {
            WriteUtf8(output, s);
            return true;
        }
        int length = typeModifier - 4;
        int count = CharacterCount(s);
        if (count > length)
        {
            int cut = CharIndexOfCharacter(s, length);
            if (s[cut..].TrimStart(' ').Length != 0)
                return Fail(out error, $"value too long for type character({length})");
            WriteUtf8(output, s[..cut]);
            return true;
        }
        WriteUtf8(output, s);
        int pad = length - count;
        output.GetSpan(pad)[..pad].Fill((byte)' ');
        output.Advance(pad);
        return true;
    }

    /// <summary>string_to_uuid: 32 hex digits, optionally in braces, a '-' allowed after any group of four.</summary>
    private static bool TryEncodeUuid(ReadOnlySpan<char> s, string text, IBufferWriter<byte> output, out string? error)
    {
        error = null;
        Span<byte> bytes = stackalloc byte[16];
        int p = 0;
        bool braces = p < s.Length && s[p] == '{';
        if (braces)
            p++;
        for (int i = 0; i < 16; i++)
        {
            if (s.Length - p < 2 || !char.IsAsciiHexDigit(s[p]) || !char.IsAsciiHexDigit(s[p + 1]))
                return Fail(out error, $"invalid input syntax for type uuid: \"{text}\"");
            bytes[i] = (byte)(HexValue(s[p]) << 4 | HexValue(s[p + 1]));
            p += 2;
            if (p < s.Length && s[p] == '-' && i % 2 == 1 && i < 15)
                p++;
        }
        if (braces)
        {
            if (p >= s.Length || s[p] != '}')
                return Fail(out error, $"invalid input syntax for type uuid: \"{text}\"");
            p++;
        }
        if (p != s.Length)
            return Fail(out error, $"invalid input syntax for type uuid: \"{text}\"");
        output.Write(bytes);
        return true;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>
    /// numeric_in: [sign] digits [. digits] [e [sign] digits], NaN, [±]Infinity. The display scale
    /// is the number of fraction digits typed (less the exponent), or the column's scale.
    /// </summary>
    private static bool TryEncodeNumeric(ReadOnlySpan<char> s, int typeModifier, string text, IBufferWriter<byte> output, out string? error)
    {
        error = null;
        var t = s.Trim(WhiteSpace);
        if (t.Equals("NaN", StringComparison.OrdinalIgnoreCase))
            return WriteNumericSpecial(output, NumericNaN);
        if (t.Equals("Infinity", StringComparison.OrdinalIgnoreCase) || t.Equals("+Infinity", StringComparison.OrdinalIgnoreCase))
            return WriteNumericSpecial(output, NumericPositiveInfinity, typeModifier, out error);
        if (t.Equals("-Infinity", StringComparison.OrdinalIgnoreCase))
            return WriteNumericSpecial(output, NumericNegativeInfinity, typeModifier, out error);

        bool negative = false;
        if (!t.IsEmpty && (t[0] == '+' || t[0] == '-'))
        {
            negative = t[0] == '-';
            t = t[1..];
        }
        // Digits of the value without its decimal point; the point sits after `integerDigits` of them.
        var digits = new StringBuilder(t.Length + 8);
        int integerDigits = -1;
        int p = 0;
        bool any = false;
        for (; p < t.Length; p++)
        {
            char c = t[p];
            if (char.IsAsciiDigit(c))
            {
                digits.Append(c);
                any = true;
            }
            else if (c == '.' && integerDigits < 0)
            {
                integerDigits = digits.Length;
            }
            else
            {
                break;
            }
        }
        if (!any)
            return Fail(out error, $"invalid input syntax for type numeric: \"{text}\"");
        if (integerDigits < 0)
            integerDigits = digits.Length;
        int fractionDigits = digits.Length - integerDigits;
        long exponent = 0;
        if (p < t.Length && (t[p] == 'e' || t[p] == 'E'))
        {
            p++;
            int start = p;
            if (p < t.Length && (t[p] == '+' || t[p] == '-'))
                p++;
            int digitsStart = p;
            while (p < t.Length && char.IsAsciiDigit(t[p]))
                p++;
            if (p == digitsStart || !long.TryParse(t[start..p], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent)
                || Math.Abs(exponent) > 1000)
                return Fail(out error, $"invalid input syntax for type numeric: \"{text}\"");
        }
        if (p != t.Length)
            return Fail(out error, $"invalid input syntax for type numeric: \"{text}\"");

        int dscale = (int)Math.Max(0, fractionDigits - exponent);
        int point = (int)(integerDigits + exponent);
        // Lay the digits out so the point falls inside: pad zeros left and right as needed.
        if (point < 0)
        {
            digits.Insert(0, "0", -point);
            point = 0;
        }
        if (point > digits.Length)
            digits.Append('0', point - digits.Length);
        // Fraction digits beyond the display scale are zeros from a positive exponent shift; drop them.
        int fractionLength = digits.Length - point;
        if (fractionLength > dscale)
            digits.Length = point + dscale;

        if (typeModifier >= 4)
        {
            int precision = ((typeModifier - 4) >> 16) & 0xFFFF;
            int scale = (((typeModifier - 4) & 0x7FF) ^ 1024) - 1024;
            if (scale < 0)
                return Fail(out error, "numeric keys with a negative scale are not supported");
            if (!RoundNumeric(digits, ref point, scale))
                return Fail(out error, $"invalid input syntax for type numeric: \"{text}\"");
            dscale = scale;
            int significantInteger = 0;
            for (int i = 0; i < point; i++)
            {
                if (digits[i] != '0')
                {
                    significantInteger = point - i;
                    break;
                }
            }
            if (significantInteger > precision - scale)
                return Fail(out error, $"numeric field overflow: a field with precision {precision}, scale {scale} must round to an absolute value less than 10^{precision - scale}");
        }

        // Base-10000 groups: the integer part padded on the left, the fraction on the right.
        int leftPad = (4 - point % 4) % 4;
        digits.Insert(0, "0", leftPad);
        point += leftPad;
        int rightPad = (4 - (digits.Length - point) % 4) % 4;
        digits.Append('0', rightPad);
        int groups = digits.Length / 4;
        int weight = point / 4 - 1;
        int first = 0;
        int last = groups;
        while (first < last && IsZeroGroup(digits, first))
            first++;
        while (last > first && IsZeroGroup(digits, last - 1))
            last--;
        int ndigits = last - first;
        weight -= first;
        ushort sign = negative ? NumericNegative : NumericPositive;
        if (ndigits == 0)
        {
            weight = 0;
            sign = NumericPositive;
        }
        if (weight > short.MaxValue || weight < short.MinValue || dscale > 0x3FFF)
            return Fail(out error, $"value overflows numeric format: \"{text}\"");

        var span = output.GetSpan(8 + 2 * ndigits);
        BinaryPrimitives.WriteInt16BigEndian(span, (short)ndigits);
        BinaryPrimitives.WriteInt16BigEndian(span[2..], (short)weight);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], sign);
        BinaryPrimitives.WriteInt16BigEndian(span[6..], (short)dscale);
        for (int g = 0; g < ndigits; g++)
        {
            int at = (first + g) * 4;
            int value = (digits[at] - '0') * 1000 + (digits[at + 1] - '0') * 100 + (digits[at + 2] - '0') * 10 + (digits[at + 3] - '0');
            BinaryPrimitives.WriteInt16BigEndian(span[(8 + 2 * g)..], (short)value);
        }
        output.Advance(8 + 2 * ndigits);
        return true;
    }

    private static bool IsZeroGroup(StringBuilder digits, int group) =>
        digits[group * 4] == '0' && digits[group * 4 + 1] == '0' && digits[group * 4 + 2] == '0' && digits[group * 4 + 3] == '0';

    /// <summary>round_var: round half away from zero to <paramref name="scale"/> fraction digits, then pad to it.</summary>
    private static bool RoundNumeric(StringBuilder digits, ref int point, int scale)
    {
        int keep = point + scale;
        if (digits.Length > keep)
        {
            bool up = digits[keep] >= '5';
            digits.Length = keep;
            if (up)
            {
                int i = keep - 1;
                for (; i >= 0; i--)
                {
                    if (digits[i] == '9')
                    {
                        digits[i] = '0';
                        continue;
                    }
                    digits[i]++;
                    break;
                }
                if (i < 0)
                {
                    digits.Insert(0, '1');
                    point++;
                }
            }
        }
        digits.Append('0', point + scale - digits.Length);
        return true;
    }

    private static bool WriteNumericSpecial(IBufferWriter<byte> output, ushort sign)
    {
        // numeric_send reads the display scale of a special value through the short-header mask
        // (0x1F80), so the 0x1000 bit of the infinity headers (0xD000, 0xF000) comes out as dscale 32.
        var span = output.GetSpan(8);
        BinaryPrimitives.WriteInt16BigEndian(span, 0);
        BinaryPrimitives.WriteInt16BigEndian(span[2..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], sign);
        BinaryPrimitives.WriteInt16BigEndian(span[6..], (short)((sign & 0x1F80) >> 7));
        output.Advance(8);
        return true;
    }

    private static bool WriteNumericSpecial(IBufferWriter<byte> output, ushort sign, int typeModifier, out string? error)
    {
        error = null;
        if (typeModifier >= 4)
            return Fail(out error, "numeric field overflow: a numeric column with a precision cannot hold infinity");
        return WriteNumericSpecial(output, sign);
    }

    private static bool TryEncodeDate(ReadOnlySpan<char> s, string text, IBufferWriter<byte> output, out string? error)
    {
        error = null;
        var t = s.Trim(WhiteSpace);
        int days;
        if (t.Equals("infinity", StringComparison.OrdinalIgnoreCase) || t.Equals("+infinity", StringComparison.OrdinalIgnoreCase))
            days = int.MaxValue;
        else if (t.Equals("-infinity", StringComparison.OrdinalIgnoreCase))
            days = int.MinValue;
        else if (t.Equals("epoch", StringComparison.OrdinalIgnoreCase))
            days = PgCalendar.UnixEpochJulianDay - PgCalendar.PostgresEpochJulianDay;
        else
        {
            int p = 0;
            if (!TryParseDate(t, ref p, out int year, out int month, out int day) || !TryParseEra(t, ref p, out bool bc) || p != t.Length)
                return Fail(out error, $"invalid input syntax for type date: \"{text}\"");
            if (!ResolveYear(bc, ref year) || !IsValidDate(year, month, day))
                return Fail(out error, $"date/time field value out of range: \"{text}\"");
            int julian = PgCalendar.DateToJulian(year, month, day);
            if (!IsValidJulian(year, month, day) || julian >= PgCalendar.DateEndJulianDay)
                return Fail(out error, $"date out of range: \"{text}\"");
            days = julian - PgCalendar.PostgresEpochJulianDay;
        }
        BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), days);
        output.Advance(4);
        return true;
    }

    private static bool TryEncodeTimestamp(ReadOnlySpan<char> s, bool withZone, string text, IBufferWriter<byte> output, out string? error)
    {
        error = null;
        string typeName = withZone ? "timestamp with time zone" : "timestamp";
        var t = s.Trim(WhiteSpace);
        long microseconds;
        if (t.Equals("infinity", StringComparison.OrdinalIgnoreCase) || t.Equals("+infinity", StringComparison.OrdinalIgnoreCase))
            microseconds = long.MaxValue;
        else if (t.Equals("-infinity", StringComparison.OrdinalIgnoreCase))
            microseconds = long.MinValue;
        else if (t.Equals("epoch", StringComparison.OrdinalIgnoreCase))
            microseconds = (PgCalendar.UnixEpochJulianDay - PgCalendar.PostgresEpochJulianDay) * PgCalendar.MicrosecondsPerDay;
        else
        {
            int p = 0;
            if (!TryParseDate(t, ref p, out int year, out int month, out int day))
                return Fail(out error, $"invalid input syntax for type {typeName}: \"{text}\"");
            long timeOfDay = 0;
            int zoneSeconds = 0; // east of UTC
            if (p < t.Length && (t[p] == ' ' || t[p] == 'T' || t[p] == 't'))
            {
                int q = p + 1;
                while (q < t.Length && t[q] == ' ')
                    q++;
                if (q < t.Length && char.IsAsciiDigit(t[q]))
                {
                    p = q;
                    if (!TryParseTime(t, ref p, out timeOfDay))
                        return Fail(out error, $"invalid input syntax for type {typeName}: \"{text}\"");
                }
            }
            if (!TryParseZone(t, ref p, out zoneSeconds) || !TryParseEra(t, ref p, out bool bc) || p != t.Length)
                return Fail(out error, $"invalid input syntax for type {typeName}: \"{text}\"");
            if (!ResolveYear(bc, ref year) || !IsValidDate(year, month, day) || timeOfDay < 0)
                return Fail(out error, $"date/time field value out of range: \"{text}\"");
            if (!IsValidJulian(year, month, day))
                return Fail(out error, $"timestamp out of range: \"{text}\"");
            long julian = PgCalendar.DateToJulian(year, month, day);
            microseconds = (julian - PgCalendar.PostgresEpochJulianDay) * PgCalendar.MicrosecondsPerDay + timeOfDay;
            // A timestamp without time zone ignores a zone in its input, as the server does.
            if (withZone)
                microseconds -= zoneSeconds * PgCalendar.MicrosecondsPerSecond;
            if (microseconds < PgCalendar.MinTimestamp || microseconds >= PgCalendar.EndTimestamp)
                return Fail(out error, $"timestamp out of range: \"{text}\"");
        }
        BinaryPrimitives.WriteInt64BigEndian(output.GetSpan(8), microseconds);
        output.Advance(8);
        return true;
    }

    /// <summary>ISO date "YYY…-M-D"; the year is returned as written (see <see cref="ResolveYear"/>).</summary>
    private static bool TryParseDate(ReadOnlySpan<char> t, ref int p, out int year, out int month, out int day)
    {
        month = day = 0;
        return TryParseDigits(t, ref p, 3, 9, out year) && Expect(t, ref p, '-')
            && TryParseDigits(t, ref p, 1, 2, out month) && Expect(t, ref p, '-')
            && TryParseDigits(t, ref p, 1, 2, out day);
    }

    /// <summary>H[H]:MM[:SS[.fraction]] to microseconds since midnight (24:00:00 allowed, seconds up to 60).</summary>
    private static bool TryParseTime(ReadOnlySpan<char> t, ref int p, out long microseconds)
    {
        microseconds = 0;
        int second = 0;
        long fraction = 0;
        if (!TryParseDigits(t, ref p, 1, 2, out int hour) || !Expect(t, ref p, ':') || !TryParseDigits(t, ref p, 2, 2, out int minute))
            return false;
        if (p < t.Length && t[p] == ':')
        {
            p++;
            if (!TryParseDigits(t, ref p, 2, 2, out second))
                return false;
            if (p < t.Length && t[p] == '.')
            {
                int start = ++p;
                while (p < t.Length && char.IsAsciiDigit(t[p]))
                    p++;
                var digits = t[start..p];
                if (digits.IsEmpty)
                    return false;
                if (digits.Length <= 6)
                {
                    fraction = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
                    for (int i = digits.Length; i < 6; i++)
                        fraction *= 10;
                }
                else
                {
                    // ParseFractionalSecond: rint(strtod(".ddd…") * 1000000).
                    double value = double.Parse(string.Concat("0.", digits), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
                    fraction = (long)Math.Round(value * 1_000_000, MidpointRounding.ToEven);
                }
            }
        }
        if (hour > 24 || minute > 59 || second > 60 || (hour == 24 && (minute > 0 || second > 0 || fraction > 0)))
        {
            microseconds = -1;
            return true;
        }
        microseconds = ((hour * 60L + minute) * 60 + second) * PgCalendar.MicrosecondsPerSecond + fraction;
        return true;
    }

    /// <summary>Optional zone: Z, UTC, GMT, or ±HH[[:]MM[[:]SS]]; <paramref name="secondsEast"/> of UTC.</summary>
    private static bool TryParseZone(ReadOnlySpan<char> t, ref int p, out int secondsEast)
    {
        secondsEast = 0;
        int q = p;
        while (q < t.Length && t[q] == ' ')
            q++;
        if (q >= t.Length)
            return true;
        var rest = t[q..];
        if (rest.StartsWith("Z", StringComparison.OrdinalIgnoreCase) && (rest.Length == 1 || rest[1] == ' '))
        {
            p = q + 1;
            return true;
        }
        if (rest.StartsWith("UTC", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("GMT", StringComparison.OrdinalIgnoreCase))
        {
            p = q + 3;
            return true;
        }
        if (rest[0] != '+' && rest[0] != '-')
            return true; // not a zone: maybe " BC"
        int sign = rest[0] == '-' ? -1 : 1;
        q++;
        int start = q;
        while (q < t.Length && (char.IsAsciiDigit(t[q]) || t[q] == ':'))
            q++;
        var zone = t[start..q];
        int hours, minutes = 0, seconds = 0;
        if (zone.Contains(':'))
        {
            int z = 0;
            if (!TryParseDigits(zone, ref z, 1, 2, out hours))
                return false;
            if (z < zone.Length && (!Expect(zone, ref z, ':') || !TryParseDigits(zone, ref z, 2, 2, out minutes)))
                return false;
            if (z < zone.Length && (!Expect(zone, ref z, ':') || !TryParseDigits(zone, ref z, 2, 2, out seconds)))
                return false;
            if (z != zone.Length)
                return false;
        }
        else
        {
            switch (zone.Length)
            {
                case 1 or 2:
                    hours = int.Parse(zone, CultureInfo.InvariantCulture);
                    break;
                case 4:
                    hours = int.Parse(zone[..2], CultureInfo.InvariantCulture);
                    minutes = int.Parse(zone[2..], CultureInfo.InvariantCulture);
                    break;
                case 6:
                    hours = int.Parse(zone[..2], CultureInfo.InvariantCulture);
                    minutes = int.Parse(zone[2..4], CultureInfo.InvariantCulture);
                    seconds = int.Parse(zone[4..], CultureInfo.InvariantCulture);
                    break;
                default:
                    return false;
            }
        }
        if (hours > 15 || minutes > 59 || seconds > 59)
            return false;
        secondsEast = sign * (hours * 3600 + minutes * 60 + seconds);
        p = q;
        return true;
    }

    /// <summary>
    /// A BC year Y (not 0) is astronomical year 1 - Y; an AD year must not be 0. Years are written
    /// with three digits or more: the server reads "01-02-03" by DateStyle's field order, which a
    /// key lookup should not guess.
    /// </summary>
    private static bool ResolveYear(bool bc, ref int year)
    {
        if (year <= 0)
            return false;
        if (bc)
            year = 1 - year;
        return true;
    }

    /// <summary>Optional " BC" or " AD" after the date or time.</summary>
    private static bool TryParseEra(ReadOnlySpan<char> t, ref int p, out bool bc)
    {
        bc = false;
        int q = p;
        while (q < t.Length && t[q] == ' ')
            q++;
        if (q == p || t.Length - q < 2)
            return true;
        var era = t.Slice(q, 2);
        if (era.Equals("BC", StringComparison.OrdinalIgnoreCase))
            bc = true;
        else if (!era.Equals("AD", StringComparison.OrdinalIgnoreCase))
            return true;
        p = q + 2;
        return true;
    }

    /// <summary>Month and day exist in astronomical <paramref name="year"/> (1 BC = 0, a leap year).</summary>
    private static bool IsValidDate(int year, int month, int day) =>
        month is >= 1 and <= 12 && day >= 1 && day <= PgCalendar.DaysInMonth(year, month);

    /// <summary>IS_VALID_JULIAN: on or after 4714-11-24 BC (astronomical -4713).</summary>
    private static bool IsValidJulian(int year, int month, int day) =>
        year > -4713 || (year == -4713 && (month > 11 || (month == 11 && day >= 24)));

    private static bool TryParseDigits(ReadOnlySpan<char> t, ref int p, int minDigits, int maxDigits, out int value)
    {
        value = 0;
        int start = p;
        while (p < t.Length && char.IsAsciiDigit(t[p]) && p - start < maxDigits)
        {
            value = value * 10 + (t[p] - '0');
            p++;
        }
        return p - start >= minDigits && (p >= t.Length || !char.IsAsciiDigit(t[p]));
    }

    private static bool Expect(ReadOnlySpan<char> t, ref int p, char c)
    {
        if (p < t.Length && t[p] == c)
        {
            p++;
            return true;
        }
        return false;
    }
}
