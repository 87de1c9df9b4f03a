using System.Buffers.Binary;
using System.Text;

namespace Mammoth.Log.Types;

// float4, float8 and numeric output.
public static partial class PgBinaryText
{
    // numeric sign words (numeric.c).
    internal const ushort NumericPositive = 0x0000;
    internal const ushort NumericNegative = 0x4000;
    internal const ushort NumericNaN = 0xC000;
    internal const ushort NumericPositiveInfinity = 0xD000;
    internal const ushort NumericNegativeInfinity = 0xF000;

    /// <summary>float8out with extra_float_digits &gt; 0: shortest round-trip digits (Ryu), fixed
    /// notation for decimal exponents -4..14, else d.ddde±XX.</summary>
    private static void AppendFloat8(StringBuilder output, double value)
    {
        if (!double.IsFinite(value) || value == 0)
        {
            AppendSpecial(output, double.IsNaN(value), double.IsInfinity(value), double.IsNegative(value));
            return;
        }
        Span<char> digits = stackalloc char[48];
        int count = ShortestDecimal.Format(value, digits, out int exponent);
        AppendFloatLayout(output, value < 0, digits[..count], exponent, fixedBelowExponent: 15);
    }

    /// <summary>float4out: as float8 with float's shortest digits and fixed notation for exponents -4..5.</summary>
    private static void AppendFloat4(StringBuilder output, float value)
    {
        if (!float.IsFinite(value) || value == 0)
        {
            AppendSpecial(output, float.IsNaN(value), float.IsInfinity(value), float.IsNegative(value));
            return;
        }
        Span<char> digits = stackalloc char[48];
        int count = ShortestDecimal.Format(value, digits, out int exponent);
        AppendFloatLayout(output, value < 0, digits[..count], exponent, fixedBelowExponent: 6);
    }

    private static void AppendSpecial(StringBuilder output, bool nan, bool infinity, bool negative)
    {
        if (nan)
            output.Append("NaN");
        else if (infinity)
            output.Append(negative ? "-Infinity" : "Infinity");
        else
            output.Append(negative ? "-0" : "0");
    }

    /// <summary>
    /// Ryu's to_chars in PostgreSQL: <paramref name="significant"/> digits whose first is worth
    /// 10^<paramref name="decimalExponent"/>, fixed-point when -4 &lt;= exponent &lt; the limit,
    /// else one digit, point, rest, "e", sign, at least two exponent digits.
    /// </summary>
    private static void AppendFloatLayout(StringBuilder output, bool negative, ReadOnlySpan<char> significant, int decimalExponent, int fixedBelowExponent)
    {
        if (negative)
            output.Append('-');
        int length = significant.Length;
        if (decimalExponent >= -4 && decimalExponent < fixedBelowExponent)
        {
            if (decimalExponent < 0)
            {
                output.Append("0.");
                output.Append('0', -decimalExponent - 1);
                output.Append(significant);
            }
            else if (decimalExponent >= length - 1)
            {
                output.Append(significant);
                output.Append('0', decimalExponent - (length - 1));
            }
            else
            {
                output.Append(significant[..(decimalExponent + 1)]);
                output.Append('.');
                output.Append(significant[(decimalExponent + 1)..]);
            }
            return;
        }

        output.Append(significant[0]);
        if (length > 1)
        {
            output.Append('.');
            output.Append(significant[1..]);
        }
        output.Append('e');
        output.Append(decimalExponent < 0 ? '-' : '+');
        int magnitude = Math.Abs(decimalExponent);
        if (magnitude < 10)
            output.Append('0');
        AppendInvariant(output, magnitude);
    }

    /// <summary>
    /// numeric_send: <c>ndigits i16 | weight i16 | sign u16 | dscale i16 | ndigits × digit i16</c>,
    /// base-10000 digits, the first worth 10000^weight. Printed as get_str_from_var does: integer
    /// part without leading zeros, then exactly dscale fraction digits.
    /// </summary>
    private static void AppendNumeric(StringBuilder output, ReadOnlySpan<byte> value)
    {
        if (value.Length < 8)
            ThrowFormat("numeric", "is shorter than its 8-byte header");
        int ndigits = BinaryPrimitives.ReadInt16BigEndian(value);
        int weight = BinaryPrimitives.ReadInt16BigEndian(value[2..]);
        ushort sign = BinaryPrimitives.ReadUInt16BigEndian(value[4..]);
        int dscale = BinaryPrimitives.ReadInt16BigEndian(value[6..]);
        if (ndigits < 0 || value.Length != 8 + 2 * ndigits)
            ThrowFormat("numeric", $"says {ndigits} digits but has {value.Length - 8} bytes of them");
        switch (sign)
        {
            case NumericNaN:
                output.Append("NaN");
                return;
            case NumericPositiveInfinity:
                output.Append("Infinity");
                return;
            case NumericNegativeInfinity:
                output.Append("-Infinity");
                return;
            case NumericPositive or NumericNegative:
                break;
            default:
                ThrowFormat("numeric", $"has sign word 0x{sign:X4}");
                break;
        }
        if (dscale < 0)
            ThrowFormat("numeric", $"has display scale {dscale}");

        var digits = value[8..];

        if (sign == NumericNegative)
            output.Append('-');
        Span<char> group = stackalloc char[4];
        if (weight < 0)
        {
            output.Append('0');
        }
        else
        {
            for (int i = 0; i <= weight; i++)
            {
                int d = NumericDigit(digits, i);
                if (i == 0)
                    AppendInvariant(output, d);
                else
                    AppendGroup(output, d, group, 4);
            }
        }
        if (dscale == 0)
            return;
        output.Append('.');
        // Fraction groups are worth 10000^-1, 10000^-2, …: array index weight + 1, weight + 2, …
        for (int printed = 0, index = weight + 1; printed < dscale; printed += 4, index++)
            AppendGroup(output, NumericDigit(digits, index), group, Math.Min(4, dscale - printed));
    }

    private static int NumericDigit(ReadOnlySpan<byte> digits, int index)
    {
        if (index < 0 || index >= digits.Length / 2)
            return 0;
        int d = BinaryPrimitives.ReadInt16BigEndian(digits[(2 * index)..]);
        if (d is < 0 or > 9999)
            ThrowFormat("numeric", $"has base-10000 digit {d}");
        return d;
    }

    private static void AppendGroup(StringBuilder output, int digit, Span<char> group, int take)
    {
        group[0] = (char)('0' + digit / 1000);
        group[1] = (char)('0' + digit / 100 % 10);
        group[2] = (char)('0' + digit / 10 % 10);
        group[3] = (char)('0' + digit % 10);
        output.Append(group[..take]);
    }
}
