using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Mammoth.Log.Types;

/// <summary>
/// PostgreSQL binary values (a type's send format, as in binary COPY and pgoutput binary mode)
/// to the text PostgreSQL itself prints, and key text back to binary.
/// </summary>
/// <remarks>
/// The text is what a server prints with DateStyle ISO, TimeZone UTC, IntervalStyle postgres,
/// extra_float_digits 1 (shortest round-trip floats) and bytea_output hex.
/// </remarks>
public static partial class PgBinaryText
{
    /// <summary>
    /// Appends PostgreSQL's text for <paramref name="value"/> of type <paramref name="typeOid"/>
    /// (not NULL: callers print NULL themselves). Types it does not know are written as <c>\x</c>
    /// and the bytes in hex, and the result is false.
    /// </summary>
    /// <returns>True when the type (and, for arrays, the element type) was known.</returns>
    /// <exception cref="FormatException">The bytes are not a valid value of a known type.</exception>
    public static bool Format(uint typeOid, ReadOnlySpan<byte> value, StringBuilder output)
    {
        ArgumentNullException.ThrowIfNull(output);
        uint element = PgTypeOid.ElementOf(typeOid);
        if (element != 0)
            return FormatArray(value, output);
        return FormatScalar(typeOid, value, output);
    }

    /// <summary>True if <see cref="Format"/> knows <paramref name="typeOid"/> (a scalar or an array of one).</summary>
    public static bool IsKnownType(uint typeOid) => IsKnownScalar(typeOid) || PgTypeOid.ElementOf(typeOid) != 0;

    private static bool IsKnownScalar(uint typeOid) => typeOid switch
    {
        PgTypeOid.Bool or PgTypeOid.Bytea or PgTypeOid.Char or PgTypeOid.Name or PgTypeOid.Int8 or PgTypeOid.Int2
        or PgTypeOid.Int4 or PgTypeOid.Text or PgTypeOid.Oid or PgTypeOid.Tid or PgTypeOid.Xid or PgTypeOid.Cid
        or PgTypeOid.Json or PgTypeOid.Xml or PgTypeOid.Cidr or PgTypeOid.Float4 or PgTypeOid.Float8 or PgTypeOid.Unknown
        or PgTypeOid.MacAddr8 or PgTypeOid.MacAddr or PgTypeOid.Inet or PgTypeOid.Bpchar or PgTypeOid.Varchar
        or PgTypeOid.Date or PgTypeOid.Time or PgTypeOid.Timestamp or PgTypeOid.TimestampTz or PgTypeOid.Interval
        or PgTypeOid.TimeTz or PgTypeOid.Bit or PgTypeOid.Varbit or PgTypeOid.Numeric or PgTypeOid.Uuid
        or PgTypeOid.PgLsn or PgTypeOid.Jsonb or PgTypeOid.JsonPath or PgTypeOid.Xid8 => true,
        _ => false,
    };

    private static bool FormatScalar(uint typeOid, ReadOnlySpan<byte> value, StringBuilder output)
    {
        switch (typeOid)
        {
            case PgTypeOid.Bool:
                ExpectLength(value, 1, "boolean");
                output.Append(value[0] != 0 ? 't' : 'f');
                return true;
            case PgTypeOid.Int2:
                ExpectLength(value, 2, "smallint");
                AppendInvariant(output, BinaryPrimitives.ReadInt16BigEndian(value));
                return true;
            case PgTypeOid.Int4:
                ExpectLength(value, 4, "integer");
                AppendInvariant(output, BinaryPrimitives.ReadInt32BigEndian(value));
                return true;
            case PgTypeOid.Int8:
                ExpectLength(value, 8, "bigint");
                AppendInvariant(output, BinaryPrimitives.ReadInt64BigEndian(value));
                return true;
            case PgTypeOid.Oid or PgTypeOid.Xid or PgTypeOid.Cid:
                ExpectLength(value, 4, "oid");
                AppendInvariant(output, BinaryPrimitives.ReadUInt32BigEndian(value));
                return true;
            case PgTypeOid.Xid8:
                ExpectLength(value, 8, "xid8");
                AppendInvariant(output, BinaryPrimitives.ReadUInt64BigEndian(value));
                return true;
            case PgTypeOid.Tid:
                ExpectLength(value, 6, "tid");
                output.Append('(');
                AppendInvariant(output, BinaryPrimitives.ReadUInt32BigEndian(value));
                output.Append(',');
                AppendInvariant(output, BinaryPrimitives.ReadUInt16BigEndian(value[4..]));
                output.Append(')');
                return true;
            case PgTypeOid.PgLsn:
                ExpectLength(value, 8, "pg_lsn");
                ulong lsn = BinaryPrimitives.ReadUInt64BigEndian(value);
                AppendInvariant(output, (uint)(lsn >> 32), "X");
                output.Append('/');
                AppendInvariant(output, (uint)lsn, "X");
                return true;
            case PgTypeOid.Float4:
                ExpectLength(value, 4, "real");
                AppendFloat4(output, BinaryPrimitives.ReadSingleBigEndian(value));
                return true;
            case PgTypeOid.Float8:
                ExpectLength(value, 8, "double precision");
                AppendFloat8(output, BinaryPrimitives.ReadDoubleBigEndian(value));
                return true;
            case PgTypeOid.Numeric:
                AppendNumeric(output, value);
                return true;
            case PgTypeOid.Text or PgTypeOid.Varchar or PgTypeOid.Bpchar or PgTypeOid.Name or PgTypeOid.Json
                or PgTypeOid.Xml or PgTypeOid.Unknown:
                AppendUtf8(output, value);
                return true;
            case PgTypeOid.Jsonb or PgTypeOid.JsonPath:
                if (value.Length < 1 || value[0] != 1)
                    ThrowFormat(typeOid == PgTypeOid.Jsonb ? "jsonb" : "jsonpath", "must start with version byte 1");
                AppendUtf8(output, value[1..]);
                return true;
            case PgTypeOid.Char:
                AppendChar(output, value);
                return true;
            case PgTypeOid.Bytea:
                output.Append("\\x");
                AppendHex(output, value);
                return true;
            case PgTypeOid.Uuid:
                AppendUuid(output, value);
                return true;
            case PgTypeOid.Date:
                ExpectLength(value, 4, "date");
                AppendDate(output, BinaryPrimitives.ReadInt32BigEndian(value));
                return true;
            case PgTypeOid.Time:
                ExpectLength(value, 8, "time");
                AppendTime(output, BinaryPrimitives.ReadInt64BigEndian(value));
                return true;
            case PgTypeOid.TimeTz:
                ExpectLength(value, 12, "time with time zone");
                AppendTime(output, BinaryPrimitives.ReadInt64BigEndian(value));
                AppendZone(output, BinaryPrimitives.ReadInt32BigEndian(value[8..]));
                return true;
            case PgTypeOid.Timestamp:
                ExpectLength(value, 8, "timestamp");
                AppendTimestamp(output, BinaryPrimitives.ReadInt64BigEndian(value), withZone: false);
                return true;
            case PgTypeOid.TimestampTz:
                ExpectLength(value, 8, "timestamp with time zone");
                AppendTimestamp(output, BinaryPrimitives.ReadInt64BigEndian(value), withZone: true);
                return true;
            case PgTypeOid.Interval:
                ExpectLength(value, 16, "interval");
                AppendInterval(output, BinaryPrimitives.ReadInt64BigEndian(value),
                    BinaryPrimitives.ReadInt32BigEndian(value[8..]), BinaryPrimitives.ReadInt32BigEndian(value[12..]));
                return true;
            case PgTypeOid.Inet or PgTypeOid.Cidr:
                AppendInet(output, value, typeOid == PgTypeOid.Cidr);
                return true;
            case PgTypeOid.MacAddr:
                ExpectLength(value, 6, "macaddr");
                AppendMac(output, value);
                return true;
            case PgTypeOid.MacAddr8:
                ExpectLength(value, 8, "macaddr8");
                AppendMac(output, value);
                return true;
            case PgTypeOid.Bit or PgTypeOid.Varbit:
                AppendBits(output, value);
                return true;
            default:
                output.Append("\\x");
                AppendHex(output, value);
                return false;
        }
    }

    /// <summary>
    /// array_send: <c>ndim i32 | has-null i32 | element oid u32 | ndim × (size i32, lower bound i32)
    /// | elements (length i32, -1 = NULL, then bytes)</c>, printed as array_out does.
    /// </summary>
    private static bool FormatArray(ReadOnlySpan<byte> value, StringBuilder output)
    {
        const int MaxDimensions = 6; // MAXDIM
        if (value.Length < 12)
            ThrowFormat("array", "is shorter than its 12-byte header");
        int ndim = BinaryPrimitives.ReadInt32BigEndian(value);
        uint elementOid = BinaryPrimitives.ReadUInt32BigEndian(value[8..]);
        if (ndim < 0 || ndim > MaxDimensions)
            ThrowFormat("array", $"has {ndim} dimensions");
        if (value.Length < 12 + 8 * ndim)
            ThrowFormat("array", "ends inside its dimensions");

        Span<int> dims = stackalloc int[MaxDimensions];
        Span<int> lowerBounds = stackalloc int[MaxDimensions];
        long count = ndim == 0 ? 0 : 1;
        bool defaultBounds = true;
        for (int d = 0; d < ndim; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(value[(12 + 8 * d)..]);
            lowerBounds[d] = BinaryPrimitives.ReadInt32BigEndian(value[(16 + 8 * d)..]);
            if (dims[d] < 0)
                ThrowFormat("array", $"has a dimension of size {dims[d]}");
            count *= dims[d];
            if (count > int.MaxValue)
                ThrowFormat("array", "has too many elements");
            defaultBounds &= lowerBounds[d] == 1;
        }
        if (count == 0)
        {
            output.Append("{}");
            return true;
        }

        if (!defaultBounds)
        {
            for (int d = 0; d < ndim; d++)
            {
                output.Append('[');
                AppendInvariant(output, lowerBounds[d]);
                output.Append(':');
                AppendInvariant(output, (long)lowerBounds[d] + dims[d] - 1);
                output.Append(']');
            }
            output.Append('=');
        }

        bool known = true;
        var element = RentScratch();
        try
        {
            Span<int> index = stackalloc int[MaxDimensions];
            int position = 12 + 8 * ndim;
            output.Append('{', ndim);
            for (long k = 0; ; k++)
            {
                if (value.Length - position < 4)
                    ThrowFormat("array", "ends inside an element");
                int length = BinaryPrimitives.ReadInt32BigEndian(value[position..]);
                position += 4;
                if (length == -1)
                {
                    output.Append("NULL");
                }
                else
                {
                    if (length < 0 || value.Length - position < length)
                        ThrowFormat("array", "has an element longer than the value");
                    element.Clear();
                    // Elements are never arrays themselves; FormatScalar keeps this non-recursive.
                    known &= FormatScalar(elementOid, value.Slice(position, length), element);
                    AppendArrayElement(output, element);
                    position += length;
                }

                // Advance the index odometer, closing a brace for every dimension that wraps.
                int d = ndim - 1;
                for (; d >= 0; d--)
                {
                    if (++index[d] < dims[d])
                        break;
                    index[d] = 0;
                    output.Append('}');
                }
                if (d < 0)
                    break;
                output.Append(',');
                output.Append('{', ndim - 1 - d);
            }
            if (position != value.Length)
                ThrowFormat("array", $"has {value.Length - position} bytes after its last element");
        }
        finally
        {
            ReturnScratch(element);
        }
        return known;
    }

    /// <summary>array_out's quoting: quote empty, "NULL" (any case), and anything holding
    /// <c>" \ { } ,</c> or white space; backslash-escape <c>"</c> and <c>\</c> inside quotes.</summary>
    private static void AppendArrayElement(StringBuilder output, StringBuilder element)
    {
        bool quote = element.Length == 0 || IsNullWord(element);
        if (!quote)
        {
            foreach (var chunk in element.GetChunks())
            {
                foreach (char c in chunk.Span)
                {
                    if (c is '"' or '\\' or '{' or '}' or ',' or ' ' or '\t' or '\n' or '\r' or '\v' or '\f')
                    {
                        quote = true;
                        break;
                    }
                }
                if (quote)
                    break;
            }
        }
        if (!quote)
        {
            output.Append(element);
            return;
        }
        output.Append('"');
        foreach (var chunk in element.GetChunks())
        {
            foreach (char c in chunk.Span)
            {
                if (c is '"' or '\\')
                    output.Append('\\');
                output.Append(c);
            }
        }
        output.Append('"');
    }

    private static bool IsNullWord(StringBuilder element) =>
        element.Length == 4
        && (element[0] | 0x20) == 'n' && (element[1] | 0x20) == 'u' && (element[2] | 0x20) == 'l' && (element[3] | 0x20) == 'l';

    [ThreadStatic]
    private static StringBuilder? t_scratch;

    private static StringBuilder RentScratch()
    {
        var scratch = t_scratch ?? new StringBuilder(64);
        t_scratch = null;
        return scratch;
    }

    private static void ReturnScratch(StringBuilder scratch)
    {
        if (scratch.Capacity <= 4096)
            t_scratch = scratch;
    }

    /// <summary>charout: one byte as itself, a high-bit byte as \ooo, byte 0 as nothing.</summary>
    private static void AppendChar(StringBuilder output, ReadOnlySpan<byte> value)
    {
        if (value.Length > 1)
            ThrowFormat("\"char\"", $"has {value.Length} bytes");
        if (value.Length == 0 || value[0] == 0)
            return;
        byte b = value[0];
        if (b >= 0x80)
        {
            output.Append('\\');
            output.Append((char)('0' + (b >> 6)));
            output.Append((char)('0' + ((b >> 3) & 7)));
            output.Append((char)('0' + (b & 7)));
        }
        else
        {
            output.Append((char)b);
        }
    }

    private static void AppendUtf8(StringBuilder output, ReadOnlySpan<byte> value)
    {
        const int StackChars = 256;
        if (value.Length <= StackChars)
        {
            Span<char> chars = stackalloc char[StackChars];
            int n = Encoding.UTF8.GetChars(value, chars);
            output.Append(chars[..n]);
            return;
        }
        char[] rented = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(value.Length));
        try
        {
            int n = Encoding.UTF8.GetChars(value, rented);
            output.Append(rented, 0, n);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    private static void AppendHex(StringBuilder output, ReadOnlySpan<byte> value)
    {
        Span<char> chars = stackalloc char[256];
        while (!value.IsEmpty)
        {
            var part = value[..Math.Min(value.Length, chars.Length / 2)];
            Convert.TryToHexStringLower(part, chars, out int written);
            output.Append(chars[..written]);
            value = value[part.Length..];
        }
    }

    private static void AppendUuid(StringBuilder output, ReadOnlySpan<byte> value)
    {
        ExpectLength(value, 16, "uuid");
        AppendHex(output, value[..4]);
        output.Append('-');
        AppendHex(output, value[4..6]);
        output.Append('-');
        AppendHex(output, value[6..8]);
        output.Append('-');
        AppendHex(output, value[8..10]);
        output.Append('-');
        AppendHex(output, value[10..]);
    }

    /// <summary>bit and varbit: bit length i32, then the bits, most significant first.</summary>
    private static void AppendBits(StringBuilder output, ReadOnlySpan<byte> value)
    {
        if (value.Length < 4)
            ThrowFormat("bit", "is shorter than its length word");
        int bits = BinaryPrimitives.ReadInt32BigEndian(value);
        if (bits < 0 || (bits + 7) / 8 != value.Length - 4)
            ThrowFormat("bit", $"says {bits} bits but has {value.Length - 4} bytes");
        for (int i = 0; i < bits; i++)
            output.Append((value[4 + i / 8] & (0x80 >> (i % 8))) != 0 ? '1' : '0');
    }

    private static void AppendMac(StringBuilder output, ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            if (i > 0)
                output.Append(':');
            AppendHex(output, value.Slice(i, 1));
        }
    }

    internal static void AppendInvariant<T>(StringBuilder output, T value, string? format = null) where T : ISpanFormattable
    {
        Span<char> chars = stackalloc char[32];
        if (!value.TryFormat(chars, out int written, format, CultureInfo.InvariantCulture))
            throw new InvalidOperationException("A number did not fit 32 characters.");
        output.Append(chars[..written]);
    }

    private static void ExpectLength(ReadOnlySpan<byte> value, int length, string type)
    {
        if (value.Length != length)
            ThrowFormat(type, $"has {value.Length} bytes, not {length}");
    }

    [DoesNotReturn]
    internal static void ThrowFormat(string type, string problem) =>
        throw new FormatException($"Binary {type} value {problem}.");
}
