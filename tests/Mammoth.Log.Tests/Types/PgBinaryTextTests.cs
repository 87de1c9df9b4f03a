using System.Buffers;
using System.Text;
using Mammoth.Log.Types;
using Xunit;

namespace Mammoth.Log.Tests.Types;

/// <summary>Cases the server comparison cannot reach: unknown types, corrupt bytes, rejected key text.</summary>
public sealed class PgBinaryTextTests
{
    private static string Format(uint oid, byte[] value, out bool known)
    {
        var text = new StringBuilder();
        known = PgBinaryText.Format(oid, value, text);
        return text.ToString();
    }

    [Fact]
    public void Unknown_type_is_raw_hex_and_reported()
    {
        Assert.Equal("\\x00ff10", Format(600 /* point */, [0x00, 0xFF, 0x10], out bool known));
        Assert.False(known);
        Assert.False(PgBinaryText.IsKnownType(600));
        Assert.True(PgBinaryText.IsKnownType(PgTypeOid.Int4));
        Assert.True(PgBinaryText.IsKnownType(1007 /* int4[] */));
    }

    [Fact]
    public void Array_of_unknown_elements_is_hex_quoted_and_reported()
    {
        // int4[]-shaped array whose element oid is point: one dimension, two elements, one NULL.
        byte[] array = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 2, 0x58, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0xAB, 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.Equal("{\"\\\\xab\",NULL}", Format(1007, array, out bool known));
        Assert.False(known);
    }

    [Theory]
    [InlineData(PgTypeOid.Int4, new byte[] { 1, 2, 3 })]
    [InlineData(PgTypeOid.Numeric, new byte[] { 0, 2, 0, 0, 0, 0, 0, 0, 0, 1 })]
    [InlineData(PgTypeOid.Numeric, new byte[] { 0, 1, 0, 0, 0x12, 0x34, 0, 0, 0, 1 })]
    [InlineData(PgTypeOid.Numeric, new byte[] { 0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10 })]
    [InlineData(PgTypeOid.Jsonb, new byte[] { 2, (byte)'1' })]
    [InlineData(PgTypeOid.Uuid, new byte[] { 1 })]
    [InlineData(PgTypeOid.Inet, new byte[] { 2, 33, 0, 4, 1, 2, 3, 4 })]
    [InlineData(1007u, new byte[] { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1 })]
    [InlineData(1007u, new byte[] { 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 23 })]
    public void Corrupt_values_throw_FormatException(uint oid, byte[] value) =>
        Assert.Throws<FormatException>(() => PgBinaryText.Format(oid, value, new StringBuilder()));

    [Theory]
    [InlineData(PgTypeOid.Bpchar, 12 + 4, "abcdefghijklmn", "value too long for type character(12)")]
    [InlineData(PgTypeOid.Varchar, 3 + 4, "abcd", "value too long for type character varying(3)")]
    [InlineData(PgTypeOid.Date, -1, "01-02-03", "invalid input syntax for type date: \"01-02-03\"")]
    [InlineData(PgTypeOid.Int4, -1, "12x", "invalid input syntax for type integer: \"12x\"")]
    [InlineData(PgTypeOid.Int2, -1, "40000", "value \"40000\" is out of range for type smallint")]
    [InlineData(PgTypeOid.Float8, -1, "1.5", "type oid 701 is not a supported key type")]
    [InlineData(PgTypeOid.Numeric, (5 << 16 | 2) + 4, "1234.5", "numeric field overflow: a field with precision 5, scale 2 must round to an absolute value less than 10^3")]
    public void Bad_key_text_is_rejected_with_a_message_and_writes_nothing(uint oid, int typeModifier, string text, string message)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.False(PgBinaryText.TryEncodeKey(oid, typeModifier, text, output, out string? error));
        Assert.Equal(message, error);
        Assert.Equal(0, output.WrittenCount);
    }

    [Theory]
    [InlineData(PgTypeOid.Bpchar, 5 + 4, "ab", "6162202020")]
    [InlineData(PgTypeOid.Bpchar, 3 + 4, "ab    ", "616220")]
    [InlineData(PgTypeOid.Varchar, 3 + 4, "ab    ", "616220")]
    [InlineData(PgTypeOid.Int8, -1, "-9223372036854775808", "8000000000000000")]
    [InlineData(PgTypeOid.Numeric, -1, "0.00", "0000000000000002")]
    [InlineData(PgTypeOid.Numeric, -1, "-12345.678", "0003000140000003000109291A7C")]
    public void Key_text_encodes_as_the_server_stores_it(uint oid, int typeModifier, string text, string hex)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.True(PgBinaryText.TryEncodeKey(oid, typeModifier, text, output, out string? error), error);
        Assert.Equal(hex, Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void Numeric_rounding_can_overflow_the_precision()
    {
        // numeric(5,2) rounds 999.995 half away from zero to 1000.00: one integer digit too many.
        var output = new ArrayBufferWriter<byte>();
        Assert.False(PgBinaryText.TryEncodeKey(PgTypeOid.Numeric, (5 << 16 | 2) + 4, "999.995", output, out string? error));
        Assert.StartsWith("numeric field overflow", error, StringComparison.Ordinal);
        Assert.True(PgBinaryText.TryEncodeKey(PgTypeOid.Numeric, (5 << 16 | 2) + 4, "999.994", output, out error), error);
        Assert.Equal("000200000000000203E726AC", Convert.ToHexString(output.WrittenSpan));
    }
}
