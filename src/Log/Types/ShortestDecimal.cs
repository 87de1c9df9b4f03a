using System.Globalization;
using System.Numerics;

namespace Mammoth.Log.Types;

/// <summary>
/// The shortest decimal that reads back as the same float, as PostgreSQL's Ryu-based output picks
/// it (float4out/float8out with extra_float_digits &gt; 0).
/// </summary>
/// <remarks>
/// PostgreSQL's Ryu never accepts a representation lying exactly halfway to a neighbouring float
/// (it does not rely on the reader rounding ties to even), while .NET's shortest round-trip text
/// does. So .NET's digit count is only where the search starts; the search is exact (BigInteger):
/// the fewest digits with a value strictly inside the rounding interval, and of those the one
/// nearest the float (ties to even).
/// </remarks>
internal static class ShortestDecimal
{
    /// <summary>Digits (no leading or trailing zeros) of |<paramref name="value"/>| and the decimal exponent of the first.</summary>
    public static int Format(double value, Span<char> digits, out int decimalExponent)
    {
        ulong bits = (ulong)BitConverter.DoubleToInt64Bits(value) & ~(1UL << 63);
        int biased = (int)(bits >> 52);
        ulong fraction = bits & ((1UL << 52) - 1);
        ulong mantissa = biased == 0 ? fraction : fraction | (1UL << 52);
        int exponent = biased == 0 ? -1074 : biased - 1075;
        Span<char> net = stackalloc char[40];
        Math.Abs(value).TryFormat(net, out int written, "R", CultureInfo.InvariantCulture);
        return Search(mantissa, exponent, fraction == 0 && biased > 1, Math.Abs(value), CountDigits(net[..written]), digits, out decimalExponent);
    }

    /// <summary>As <see cref="Format(double, Span{char}, out int)"/> for float4.</summary>
    public static int Format(float value, Span<char> digits, out int decimalExponent)
    {
        uint bits = (uint)BitConverter.SingleToInt32Bits(value) & ~(1U << 31);
        int biased = (int)(bits >> 23);
        uint fraction = bits & ((1U << 23) - 1);
        ulong mantissa = biased == 0 ? fraction : fraction | (1U << 23);
        int exponent = biased == 0 ? -149 : biased - 150;
        Span<char> net = stackalloc char[40];
        MathF.Abs(value).TryFormat(net, out int written, "R", CultureInfo.InvariantCulture);
        return Search(mantissa, exponent, fraction == 0 && biased > 1, MathF.Abs(value), CountDigits(net[..written]), digits, out decimalExponent);
    }

    /// <summary>Significant digits in .NET's round-trip text ("1.25E-05" → 3).</summary>
    private static int CountDigits(ReadOnlySpan<char> text)
    {
        int e = text.IndexOfAny('E', 'e');
        if (e >= 0)
            text = text[..e];
        int first = -1, last = -1;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is >= '1' and <= '9')
            {
                if (first < 0)
                    first = i;
                last = i;
            }
        }
        if (first < 0)
            return 1;
        int count = last - first + 1;
        int point = text.IndexOf('.');
        if (point > first && point < last)
            count--;
        return count;
    }

    private static int Search(ulong mantissa, int exponent, bool lowerGapIsHalf, double approximate, int startLength, Span<char> digits, out int decimalExponent)
    {
        // value = m·2^e; its rounding interval is (m - ½)·2^e … (m + ½)·2^e, except that below a power
        // of two the gap to the previous float is half as wide. Everything ×4 to stay integral.
        BigInteger v = new BigInteger(mantissa) << 2;
        BigInteger high = v + 2;
        BigInteger low = lowerGapIsHalf ? v - 1 : v - 2;
        BigInteger denominator = BigInteger.One;
        int shift = exponent - 2;
        if (shift >= 0)
        {
            v <<= shift;
            high <<= shift;
            low <<= shift;
        }
        else
        {
            denominator <<= -shift;
        }

        // k = floor(log10(value)), estimated then made exact.
        int k = (int)Math.Floor(Math.Log10(approximate));
        while (Compare(v, denominator, k + 1) >= 0)
            k++;
        while (Compare(v, denominator, k) < 0)
            k--;

        for (int length = Math.Max(1, startLength); ; length++)
        {
            int q = k - length + 1; // candidates are D·10^q
            BigInteger scale = BigInteger.Pow(10, Math.Abs(q));
            BigInteger d = q >= 0 ? denominator * scale : denominator;
            BigInteger lowN = q >= 0 ? low : low * scale;
            BigInteger highN = q >= 0 ? high : high * scale;
            BigInteger vN = q >= 0 ? v : v * scale;
            BigInteger smallest = BigInteger.Divide(lowN, d) + 1;     // first D with D·10^q > low
            BigInteger largest = BigInteger.Divide(highN - 1, d);     // last D with D·10^q < high
            if (smallest > largest)
                continue;
            BigInteger nearest = BigInteger.DivRem(vN, d, out BigInteger remainder);
            int half = (remainder * 2).CompareTo(d);
            if (half > 0 || (half == 0 && !nearest.IsEven))
                nearest += 1;
            if (nearest < smallest)
                nearest = smallest;
            else if (nearest > largest)
                nearest = largest;

            Span<char> text = stackalloc char[48];
            nearest.TryFormat(text, out int written, default, CultureInfo.InvariantCulture);
            decimalExponent = q + written - 1;
            while (written > 1 && text[written - 1] == '0')
                written--;
            text[..written].CopyTo(digits);
            return written;
        }
    }

    /// <summary>Sign of n/d - 10^k.</summary>
    private static int Compare(BigInteger n, BigInteger d, int k) =>
        k >= 0 ? n.CompareTo(d * BigInteger.Pow(10, k)) : (n * BigInteger.Pow(10, -k)).CompareTo(d);
}
