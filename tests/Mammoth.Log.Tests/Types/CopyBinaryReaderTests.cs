using System.Buffers;
using Mammoth.Log.Types;
using Xunit;

namespace Mammoth.Log.Tests.Types;

public sealed class CopyBinaryReaderTests
{
    /// <summary>Header, (1, NULL, "ab"), (), trailer.</summary>
    private static byte[] Stream()
    {
        var writer = new ArrayBufferWriter<byte>();
        CopyBinaryFormat.WriteHeader(writer);
        CopyBinaryFormat.WriteFieldCount(writer, 3);
        CopyBinaryFormat.WriteField(writer, [0, 0, 0, 1]);
        CopyBinaryFormat.WriteNull(writer);
        CopyBinaryFormat.WriteField(writer, "ab"u8);
        CopyBinaryFormat.WriteFieldCount(writer, 0);
        CopyBinaryFormat.WriteTrailer(writer);
        return writer.WrittenSpan.ToArray();
    }

    [Fact]
    public void Reads_header_tuples_fields_and_trailer()
    {
        var bytes = Stream();
        var reader = new CopyBinaryReader(bytes);
        Assert.Equal(CopyBinaryStatus.Done, reader.ReadHeader());
        Assert.Equal(19, reader.Consumed);

        Assert.Equal(CopyBinaryStatus.Done, reader.ReadTuple(out var tuple));
        Assert.Equal(3, tuple.FieldCount);
        Assert.Equal(2 + 4 + 4 + 4 + 4 + 2, tuple.Raw.Length);
        var fields = new List<string>();
        foreach (var field in tuple)
            fields.Add(field.IsNull ? "NULL" : Convert.ToHexString(field.Value));
        Assert.Equal(["00000001", "NULL", "6162"], fields);
        Assert.True(tuple[1].IsNull);
        Assert.Equal("ab"u8.ToArray(), tuple[2].Value.ToArray());

        Assert.Equal(CopyBinaryStatus.Done, reader.ReadTuple(out var empty));
        Assert.Equal(0, empty.FieldCount);
        Assert.Equal(CopyBinaryStatus.End, reader.ReadTuple(out _));
        Assert.Equal(bytes.Length, reader.Consumed);
        Assert.Equal(CopyBinaryStatus.NeedMoreData, reader.ReadTuple(out _));
    }

    [Fact]
    public void Every_truncation_asks_for_more_data_without_consuming()
    {
        var bytes = Stream();
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            var reader = new CopyBinaryReader(bytes.AsSpan(0, cut));
            var status = reader.ReadHeader();
            while (status == CopyBinaryStatus.Done)
                status = reader.ReadTuple(out _);
            Assert.Equal(CopyBinaryStatus.NeedMoreData, status);
            // The position stays at the start of the incomplete item: a header or a whole tuple.
            Assert.Contains(reader.Consumed, new[] { 0, 19, 39, 41 });
        }
    }

    [Fact]
    public void Rejects_bad_signature_oids_critical_flags_and_bad_lengths()
    {
        var bytes = Stream();
        var badSignature = (byte[])bytes.Clone();
        badSignature[0] = (byte)'X';
        Assert.Equal(CopyBinaryStatus.InvalidData, new CopyBinaryReader(badSignature).ReadHeader());
        Assert.Equal(CopyBinaryStatus.InvalidData, new CopyBinaryReader(badSignature.AsSpan(0, 3)).ReadHeader());

        var oids = (byte[])bytes.Clone();
        oids[13] = 1; // flags bit 16
        Assert.Equal(CopyBinaryStatus.InvalidData, new CopyBinaryReader(oids).ReadHeader());
        var critical = (byte[])bytes.Clone();
        critical[14] = 1; // flags bit 0
        Assert.Equal(CopyBinaryStatus.InvalidData, new CopyBinaryReader(critical).ReadHeader());

        var badLength = (byte[])bytes.Clone();
        badLength[19 + 2] = 0x80; // first field length negative, not -1
        var reader = new CopyBinaryReader(badLength);
        Assert.Equal(CopyBinaryStatus.Done, reader.ReadHeader());
        Assert.Equal(CopyBinaryStatus.InvalidData, reader.ReadTuple(out _));
        Assert.Equal(19, reader.Consumed);

        byte[] badCount = [0xFF, 0xFE];
        Assert.Equal(CopyBinaryStatus.InvalidData, new CopyBinaryReader(badCount).ReadTuple(out _));
    }

    [Fact]
    public void Skips_a_header_extension()
    {
        var writer = new ArrayBufferWriter<byte>();
        writer.Write(CopyBinaryFormat.Signature);
        writer.Write<byte>([0, 0, 0, 0, 0, 0, 0, 3, 9, 9, 9]);
        writer.Write(CopyBinaryFormat.Trailer);
        var reader = new CopyBinaryReader(writer.WrittenSpan);
        Assert.Equal(CopyBinaryStatus.Done, reader.ReadHeader());
        Assert.Equal(22, reader.Consumed);
        Assert.Equal(CopyBinaryStatus.End, reader.ReadTuple(out _));
    }

    [Fact]
    public void Reads_bare_tuples_as_txlog_sections_hold_them()
    {
        var bytes = Stream().AsSpan(19).ToArray();
        var reader = new CopyBinaryReader(bytes);
        Assert.Equal(CopyBinaryStatus.Done, reader.ReadTuple(out var tuple));
        Assert.Equal(3, tuple.FieldCount);
    }
}
