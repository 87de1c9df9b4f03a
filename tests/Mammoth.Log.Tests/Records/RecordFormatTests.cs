using System.Buffers.Binary;
using System.Text;
using Mammoth.Log.Records;
using Xunit;

namespace Mammoth.Log.Tests.Records;

public class RecordFormatTests
{
    [Fact]
    public void Crc32C_matches_the_standard_check_value_and_all_lengths_agree_with_the_bytewise_definition()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        var rnd = new Random(1);
        foreach (int len in new[] { 0, 1, 7, 8, 9, 255, 767, 768, 769, 1536, 5000, 70_001 })
        {
            var data = new byte[len];
            rnd.NextBytes(data);
            Assert.Equal(Bitwise(data), Crc32C.Compute(data));
            // Appending in two pieces gives the same result.
            int cut = len / 3;
            Assert.Equal(Crc32C.Compute(data), ~Crc32C.Append(Crc32C.Append(~0u, data.AsSpan(0, cut)), data.AsSpan(cut)));
        }

        static uint Bitwise(byte[] d)
        {
            uint crc = ~0u;
            foreach (byte b in d)
            {
                crc ^= b;
                for (int k = 0; k < 8; k++)
                    crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
            return ~crc;
        }
    }

    [Fact]
    public void Header_is_56_bytes_big_endian_with_fields_at_the_drawn_offsets()
    {
        RecordHeader h = RecordHeader.Create(RecordKind.Data, RecordFlags.Continued);
        h.PayloadLength = 0x01020304;
        h.PayloadCrc = 0xA1B2C3D4;
        h.Recno = 0x1122334455667788;
        h.CommitLsn = 0x0000_0001_0000_00FF;
        h.CommitTime = -5;
        h.Epoch = 7;
        h.Xid = 0xDEADBEEF;
        h.Seal();
        var b = new byte[RecordHeader.Size];
        h.Write(b);
        Assert.Equal(56, RecordHeader.Size);
        Assert.Equal(0x4D4D, BinaryPrimitives.ReadUInt16BigEndian(b));
        Assert.Equal(1, b[2]);
        Assert.Equal((byte)RecordKind.Data, b[3]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(4)));
        Assert.Equal(0x01020304u, BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(8)));
        Assert.Equal(0xA1B2C3D4u, BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(12)));
        Assert.Equal(0x1122334455667788, BinaryPrimitives.ReadInt64BigEndian(b.AsSpan(16)));
        Assert.Equal(0x0000_0001_0000_00FFul, BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(24)));
        Assert.Equal(-5, BinaryPrimitives.ReadInt64BigEndian(b.AsSpan(32)));
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(40)));
        Assert.Equal(0xDEADBEEFu, BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(44)));
        Assert.Equal(Crc32C.Compute(b.AsSpan(0, 52)), BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(52)));

        RecordHeader back = RecordHeader.Read(b);
        Assert.Equal(h.Recno, back.Recno);
        Assert.True(back.IsValid(int.MaxValue));
        b[20] ^= 1;
        Assert.False(RecordHeader.Read(b).IsValid(int.MaxValue));
    }

    public static IEnumerable<object[]> AllKinds() => Enum.GetValues<RecordKind>().Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void Every_record_kind_round_trips_through_the_builder(RecordKind kind)
    {
        using var b = new RecordBuilder(64);
        b.Begin(kind, RecordFlags.Continued);
        if (kind == RecordKind.Relation)
        {
            RelationInfo.WriteAll(b, [Sample()]);
        }
        else if (kind is RecordKind.Data or RecordKind.TableDumpChunk)
        {
            WriteSections(b);
        }
        else
        {
            b.Write(Encoding.UTF8.GetBytes($"payload of {kind}"));
        }
        byte[] rec = b.Finish(epoch: 3, commitLsn: 0xABCDEF, xid: 42, commitTime: 777, recno: 9).ToArray();

        RecordHeader h = RecordHeader.Read(rec);
        Assert.True(h.IsValid(int.MaxValue));
        Assert.Equal(kind, h.Kind);
        Assert.Equal(RecordFlags.Continued, h.Flags);
        Assert.Equal(3u, h.Epoch);
        Assert.Equal(0xABCDEFul, h.CommitLsn);
        Assert.Equal(42u, h.Xid);
        Assert.Equal(777, h.CommitTime);
        Assert.Equal(9, h.Recno);
        Assert.Equal(rec.Length - RecordHeader.Size, h.PayloadLength);
        ReadOnlySpan<byte> payload = rec.AsSpan(RecordHeader.Size);
        Assert.Equal(h.PayloadCrc, Crc32C.Compute(payload));

        if (kind == RecordKind.Relation)
        {
            RelationInfo r = Assert.Single(RelationInfo.ReadAll(payload));
            Assert.Equal(Sample().TableId, r.TableId);
            Assert.Equal(Sample().Columns, r.Columns);
            Assert.Equal([0, 2], r.KeyColumns);
            Assert.Equal("\"My Schema\".\"Tab\"\"le\"", r.QualifiedName);
        }
        else if (kind is RecordKind.Data or RecordKind.TableDumpChunk)
        {
            Assert.Null(PayloadReader.Validate(payload));
            CheckSections(payload);
        }
        else
        {
            Assert.Equal($"payload of {kind}", Encoding.UTF8.GetString(payload));
        }
    }

    private static RelationInfo Sample() => new(16384, "My Schema", "Tab\"le",
    [
        new ColumnInfo("id", 20, -1, "bigint", true),
        new ColumnInfo("name", 25, -1, "text", false),
        new ColumnInfo("k2", 2950, -1, "uuid", true),
    ]);

    private static void WriteSections(RecordBuilder b)
    {
        b.BeginSection(1, ChangeOp.Insert, SlaveSet.All, 2);
        for (int i = 0; i < 3; i++)
        {
            b.BeginTuple(2);
            BinaryPrimitives.WriteInt64BigEndian(b.AddField(8), i);
            b.AddNull();
        }
        b.EndSection();
        b.BeginSection(2, ChangeOp.Update, SlaveSet.Of(0, 5, 63), 1, [0b101]);
        b.BeginTuple(1);
        b.AddField("hello"u8);
        b.EndSection();
        b.BeginSection(3, ChangeOp.Truncate, SlaveSet.Of(1), 0);
        b.EndSection();
    }

    private static void CheckSections(ReadOnlySpan<byte> payload)
    {
        var seen = new List<(uint, ChangeOp, string, int)>();
        foreach (Section s in PayloadReader.Sections(payload))
        {
            seen.Add((s.TableId, s.Op, s.Slaves.ToString(), s.RowCount));
            TupleReader t = s.GetTuples();
            int rows = 0;
            while (t.MoveNextTuple())
            {
                Assert.True(t.TryReadField(out ReadOnlySpan<byte> v, out bool isNull));
                if (s.TableId == 1)
                {
                    Assert.Equal(rows, BinaryPrimitives.ReadInt64BigEndian(v));
                    Assert.True(t.TryReadField(out _, out isNull));
                    Assert.True(isNull);
                }
                else
                {
                    Assert.Equal("hello", Encoding.UTF8.GetString(v));
                    Assert.True(s.HasColumn(0) && !s.HasColumn(1) && s.HasColumn(2) && !s.HasColumn(9));
                }
                rows++;
            }
            Assert.Equal(s.RowCount, rows);
        }
        Assert.Equal([(1u, ChangeOp.Insert, "all", 3), (2u, ChangeOp.Update, "0,5,63", 1), (3u, ChangeOp.Truncate, "1", 0)], seen);
    }

    [Fact]
    public void Validation_rejects_truncated_and_inconsistent_payloads()
    {
        using var b = new RecordBuilder();
        b.Begin(RecordKind.Data);
        WriteSections(b);
        byte[] rec = b.Finish().ToArray();
        byte[] payload = rec[RecordHeader.Size..];
        Assert.Null(PayloadReader.Validate(payload));
        for (int cut = 1; cut < payload.Length; cut++)
        {
            // Every proper prefix either ends cleanly between sections or is reported.
            string? problem = PayloadReader.Validate(payload.AsSpan(0, cut));
            bool atBoundary = cut is 0;
            if (!atBoundary && problem is null)
            {
                // Allowed only when the prefix is a whole number of sections.
                int consumed = 0;
                foreach (Section s in PayloadReader.Sections(payload.AsSpan(0, cut)))
                    consumed = s.Offset + s.Header.TotalLength;
                Assert.Equal(cut, consumed);
            }
        }
        byte[] wrongCount = (byte[])payload.Clone();
        BinaryPrimitives.WriteInt32BigEndian(wrongCount.AsSpan(16), 4);
        Assert.Contains("header says 4 rows, found 3", PayloadReader.Validate(wrongCount));
        byte[] badOp = (byte[])payload.Clone();
        badOp[4] = 99;
        Assert.Contains("unknown operation", PayloadReader.Validate(badOp));
    }

    [Fact]
    public void Builder_reuses_its_buffer_without_allocating_per_record()
    {
        using var b = new RecordBuilder(4096);
        for (int i = 0; i < 100; i++)
            Build(b, i); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
            Build(b, i);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Build(RecordBuilder b, long i)
        {
            b.Begin(RecordKind.Data);
            b.BeginSection(1, ChangeOp.Insert, SlaveSet.All, 1);
            b.BeginTuple(1);
            BinaryPrimitives.WriteInt64BigEndian(b.AddField(8), i);
            b.EndSection();
            b.Finish();
        }
    }
}
