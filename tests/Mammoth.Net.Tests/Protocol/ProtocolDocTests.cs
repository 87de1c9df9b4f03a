using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Mammoth.Log;
using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Xunit;

namespace Mammoth.Net.Tests.Protocol;

/// <summary>
/// docs/protocol.md is what a client in another language is written from: its layout tables, type and code
/// numbers and hex examples are read from the file and checked against what the code writes.
/// </summary>
public partial class ProtocolDocTests
{
    private static readonly string[] Doc = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "docs", "protocol.md"));

    // ---- the layout tables ------------------------------------------------------------------------------

    [Fact]
    public void Hello_table_matches_the_code()
    {
        byte[] p = Payload(w => Messages.Write(w, new Hello(NodeRole.Slave, 3, true, 0x0102030405060708, "node-ü")));
        CheckLayout("### 4.1 HELLO", p, new()
        {
            ["magic"] = Be(0x4D4D5448, 4),
            ["version"] = Be(1, 2),
            ["role"] = [2],
            ["flags"] = [1],
            ["slave_no"] = Be(3, 2),
            ["system_id"] = Be(0x0102030405060708, 8),
            ["name"] = Str("node-ü"),
        });
    }

    [Fact]
    public void Handshake_tables_match_the_code()
    {
        byte[] nonce = Sequence(0, 32), other = Sequence(100, 32);
        CheckLayout("### 4.2 CHALLENGE", Payload(w => Messages.Write(w, new Challenge(nonce, true))), new()
        {
            ["server_nonce"] = nonce,
            ["tls_active"] = [1],
        });
        CheckLayout("### 4.3 AUTH", Payload(w => Messages.Write(w, new Auth(nonce, other))), new()
        {
            ["client_nonce"] = nonce,
            ["mac"] = other,
        });
        var id = Guid.Parse("01020304-0506-0708-090a-0b0c0d0e0f10");
        var welcome = new Welcome(other, 7, id, 11, 22, 6, 0x0A0B0C0D0E0F1011, 5, 21, SlaveSyncState.DUMP);
        CheckLayout("### 4.4 WELCOME", Payload(w => Messages.Write(w, welcome)), new()
        {
            ["proof"] = other,
            ["epoch"] = Be(7, 4),
            ["mcp_id"] = Sequence(1, 16), // RFC 4122 order: the text form's digits in order
            ["first_recno"] = Be(11, 8),
            ["last_recno"] = Be(22, 8),
            ["last_epoch"] = Be(6, 4),
            ["last_lsn"] = Be(0x0A0B0C0D0E0F1011, 8),
            ["last_seq"] = Be(5, 4),
            ["slave_ack"] = Be(21, 8),
            ["slave_state"] = [2],
        });
        CheckLayout("### 4.5 ERROR", Payload(w => Messages.Write(w, new ErrorMessage(ErrorCode.TooManySlaves, "too many"))), new()
        {
            ["code"] = Be(5, 2),
            ["message"] = Str("too many"),
        });
    }

    [Fact]
    public void Stream_tables_match_the_code()
    {
        CheckLayout("### 5.1 DURABLE", Payload(w => Messages.Write(w, new Durable(3, 0x0102030405060708, 9, 77))), new()
        {
            ["epoch"] = Be(3, 4),
            ["commit_lsn"] = Be(0x0102030405060708, 8),
            ["seq"] = Be(9, 4),
            ["recno"] = Be(77, 8),
        });
        CheckLayout("### 5.2 SUBSCRIBE", Payload(w => Messages.Write(w, new Subscribe(123, true, NeedsDump: true))), new()
        {
            ["next_recno"] = Be(123, 8),
            ["flags"] = [3],
        });
        CheckLayout("### 5.3 ACK", Payload(w => Messages.WriteAck(w, 456)), new() { ["recno"] = Be(456, 8) });
        CheckLayout("### 5.4 ECHO", Payload(w => Messages.WriteEcho(w, FrameType.EchoReply, 0x1122334455667788)), new() { ["token"] = Be(0x1122334455667788, 8) });
        CheckLayout("### 5.5 SLAVE_STATUS", Payload(w => Messages.Write(w, new SlaveStatus(55, true, "duplicate key"))), new()
        {
            ["applied_recno"] = Be(55, 8),
            ["halted"] = [1],
            ["error"] = Str("duplicate key"),
        });
        CheckLayout("### 5.6 STATE", Payload(w => Messages.Write(w, new StateChange(SlaveSyncState.DESYNC, 1000, "why"))), new()
        {
            ["state"] = [1],
            ["first_recno"] = Be(1000, 8),
            ["reason"] = Str("why"),
        });
        CheckLayout("### 5.7 REFRESH", Payload(w => Messages.WriteText(w, FrameType.Refresh, "MCP REFRESH")), new() { ["text"] = Str("MCP REFRESH") });
        CheckLayout("### 5.8 DUMP_REQUEST", Payload(w => Messages.Write(w, new DumpRequest(-1, "refresh"))), new()
        {
            ["slave_no"] = Be(0xFFFF, 2),
            ["reason"] = Str("refresh"),
        });
    }

    [Fact]
    public void Record_header_and_section_tables_match_the_code()
    {
        using var b = new RecordBuilder(256);
        b.Begin(RecordKind.Data, RecordFlags.Continued | RecordFlags.Synthetic);
        byte[] mask = [0b101];
        b.BeginSection(0x01020304, ChangeOp.UpdateKey, SlaveSet.Of(1, 5), 2, mask);
        b.BeginTuple(2);
        BinaryPrimitives.WriteInt32BigEndian(b.AddField(4), 42);
        b.AddNull();
        b.EndSection();
        byte[] record = b.Finish(epoch: 0x11223344, commitLsn: 0x0102030405060708, xid: 0x55667788, commitTime: 0x0A0B0C0D0E0F1011, recno: 0x2122232425262728, seq: 9).ToArray();
        byte[] payload = record[RecordHeader.Size..];

        CheckLayout("### 6.1 Record header", record[..RecordHeader.Size], new()
        {
            ["magic"] = Be(0x4D4D, 2),
            ["version"] = [1],
            ["kind"] = [(byte)RecordKind.Data],
            ["flags"] = Be(3, 2),
            ["reserved"] = Be(0, 2),
            ["payload_length"] = Be((ulong)payload.Length, 4),
            ["payload_crc"] = Be(Crc32C.Compute(payload), 4),
            ["recno"] = Be(0x2122232425262728, 8),
            ["commit_lsn"] = Be(0x0102030405060708, 8),
            ["commit_time"] = Be(0x0A0B0C0D0E0F1011, 8),
            ["epoch"] = Be(0x11223344, 4),
            ["xid"] = Be(0x55667788, 4),
            ["seq"] = Be(9, 4),
            ["header_crc"] = Be(Crc32C.Compute(record.AsSpan(0, 52)), 4),
        });

        byte[] rows = [0, 2, 0, 0, 0, 4, 0, 0, 0, 42, 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.Equal(SectionHeader.Size + mask.Length + rows.Length, payload.Length);
        Assert.Equal(rows, payload[(SectionHeader.Size + mask.Length)..]);
        CheckLayout("### 6.2 Payload of DATA", payload[..(SectionHeader.Size + mask.Length)], new()
        {
            ["table_id"] = Be(0x01020304, 4),
            ["op"] = [3],
            ["flags"] = [0],
            ["field_count"] = Be(2, 2),
            ["slave_set"] = Be((1 << 1) | (1 << 5), 8),
            ["row_count"] = Be(1, 4),
            ["rows_length"] = Be((ulong)rows.Length, 4),
            ["mask_length"] = Be(1, 2),
            ["column_mask"] = mask,
        }, n: mask.Length);

        // "every slave": flags bit 0 and a zero slave set.
        b.Begin(RecordKind.Data);
        b.BeginSection(1, ChangeOp.Insert, SlaveSet.All, 1);
        b.EndSection();
        byte[] all = b.Finish().ToArray();
        Assert.Equal(1, all[RecordHeader.Size + 5]);
        Assert.Equal(new byte[8], all[(RecordHeader.Size + 8)..(RecordHeader.Size + 16)]);
    }

    [Fact]
    public void Empty_and_filtered_stand_ins_keep_the_header_as_the_doc_says()
    {
        using var b = new RecordBuilder(256);
        b.Begin(RecordKind.Data, RecordFlags.Continued);
        for (int slave = 0; slave < 2; slave++)
        {
            b.BeginSection((uint)(10 + slave), ChangeOp.Insert, SlaveSet.Of(slave), 1);
            b.BeginTuple(1);
            BinaryPrimitives.WriteInt64BigEndian(b.AddField(8), slave);
            b.EndSection();
        }
        byte[] stored = b.Finish(epoch: 4, commitLsn: 0xABCDEF, xid: 77, commitTime: 123456789, recno: 1000, seq: 2).ToArray();
        RecordHeader s = RecordHeader.Read(stored);

        var empty = new byte[RecordHeader.Size];
        Assert.Equal(FilterVerdict.Empty, SlaveFilter.Classify(s.Kind, stored.AsSpan(RecordHeader.Size), 7));
        SlaveFilter.WriteEmpty(stored, empty);
        RecordHeader e = RecordHeader.Read(empty);
        Assert.True(e.IsValid(0));
        Assert.Equal((RecordKind.Empty, 0, 0u), (e.Kind, e.PayloadLength, e.PayloadCrc));
        Assert.Equal(Same(s), Same(e));

        var filtered = new byte[stored.Length];
        Assert.Equal(FilterVerdict.Filtered, SlaveFilter.Classify(s.Kind, stored.AsSpan(RecordHeader.Size), 1));
        int length = SlaveFilter.WriteFiltered(stored, 1, filtered);
        RecordHeader f = RecordHeader.Read(filtered);
        Assert.True(f.IsValid(int.MaxValue));
        Assert.Equal(RecordKind.Data, f.Kind);
        Assert.Equal(length - RecordHeader.Size, f.PayloadLength);
        Assert.Equal(Crc32C.Compute(filtered.AsSpan(RecordHeader.Size, f.PayloadLength)), f.PayloadCrc);
        Assert.Equal(Same(s), Same(f));
        // The slave's section, unchanged: the second of the stored payload.
        int firstSection = SectionHeader.Size + 2 + 4 + 8;
        Assert.Equal(stored.AsSpan(RecordHeader.Size + firstSection).ToArray(), filtered.AsSpan(RecordHeader.Size, f.PayloadLength).ToArray());

        static object Same(RecordHeader h) => (h.Magic, h.Version, h.Flags, h.Recno, h.CommitLsn, h.CommitTime, h.Epoch, h.Xid, h.Seq);
    }

    // ---- numbers: frame types, error codes, record kinds ---------------------------------------------------

    [Fact]
    public void Frame_type_table_lists_every_type_with_its_number()
    {
        var listed = Rows("Frame types (`FrameType`").ToDictionary(r => int.Parse(r[0], CultureInfo.InvariantCulture), r => r[1]);
        Assert.Equal(Enum.GetValues<FrameType>().Select(t => ((int)t, Upper(t.ToString()))).Order(), listed.Select(kv => (kv.Key, kv.Value)).Order());
        for (int t = 0; t < 256; t++)
            Assert.Equal(listed.ContainsKey(t), Frame.IsKnown((FrameType)t));
    }

    [Fact]
    public void Error_code_table_lists_every_code_with_its_number()
    {
        var listed = Rows("## 8. ERROR codes").Select(r => (int.Parse(r[0], CultureInfo.InvariantCulture), r[1])).Order();
        Assert.Equal(Enum.GetValues<ErrorCode>().Select(c => ((int)c, Upper(c.ToString()))).Order(), listed);
    }

    [Fact]
    public void Record_kinds_and_ops_are_numbered_as_in_the_code()
    {
        string kinds = Doc.SkipWhile(l => !l.StartsWith("Record kinds (`RecordKind`)", StringComparison.Ordinal)).Take(3).Aggregate((a, b) => a + " " + b);
        var listed = KindRegex().Matches(kinds).Select(m => (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value)).ToList();
        Assert.Equal(Enum.GetValues<RecordKind>().Select(k => ((int)k, Upper(k.ToString()))), listed);

        string ops = Doc.Single(l => l.StartsWith("| 4 | 1 | u8 | op |", StringComparison.Ordinal));
        var opList = KindRegex().Matches(ops).Select(m => (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value)).ToList();
        Assert.Equal(Enum.GetValues<ChangeOp>().Select(o => ((int)o, Upper(o.ToString()))), opList);
    }

    // ---- worked examples and test vectors ----------------------------------------------------------------

    [Fact]
    public void Hello_example_is_what_the_code_writes()
    {
        var w = new ArrayBufferWriter<byte>();
        Messages.Write(w, new Hello(NodeRole.Master, -1, false, 7_441_234_567_890_123_456, "pg-master"));
        Assert.Equal(Hex(Example("HELLO")), Hex(w.WrittenSpan.ToArray()));
    }

    [Fact]
    public void Records_example_is_what_the_code_writes()
    {
        using var b = new RecordBuilder(256);
        b.Begin(RecordKind.Data);
        b.BeginSection(16384, ChangeOp.Insert, SlaveSet.All, 2);
        b.BeginTuple(2);
        BinaryPrimitives.WriteInt32BigEndian(b.AddField(4), 42);
        b.AddField("hi"u8);
        b.EndSection();
        long commitTime = PgTime.FromDateTime(new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc));
        ReadOnlySpan<byte> record = b.Finish(epoch: 1, commitLsn: 0x1A2B3C8, xid: 750, commitTime: commitTime);
        var w = new ArrayBufferWriter<byte>();
        Frame.Write(w, FrameType.Records, record);
        Assert.Equal(Hex(Example("RECORDS")), Hex(w.WrittenSpan.ToArray()));
        Assert.Null(PayloadReader.Validate(record[RecordHeader.Size..]));
    }

    [Fact]
    public void Hmac_test_vectors_are_what_the_code_computes()
    {
        byte[] serverNonce = Sequence(0, 32), clientNonce = Sequence(32, 32);
        Assert.Equal(Hex(Example("client mac")), Hex(Authentication.ClientMac("secret", serverNonce, clientNonce, NodeRole.Slave, 3, 7_441_234_567_890_123_456)));
        Assert.Equal(Hex(Example("server proof")), Hex(Authentication.ServerProof("secret", serverNonce, clientNonce)));
    }

    [Fact]
    public void Crc_check_values_hold()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
        Assert.Contains(Doc, l => l.Contains("`0xE3069283`", StringComparison.Ordinal));
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    /// <summary>
    /// The table under the heading that starts with <paramref name="heading"/> must describe
    /// <paramref name="payload"/> exactly: rows in order, each starting where the previous ended, together
    /// covering every byte, each field holding the bytes of <paramref name="fields"/>. Sizes are numbers,
    /// "2+n" (a str of n bytes) or "n".
    /// </summary>
    private static void CheckLayout(string heading, byte[] payload, Dictionary<string, byte[]> fields, int n = -1)
    {
        List<string[]> rows = Rows(heading);
        Assert.True(rows.Count > 0, $"no table under \"{heading}\"");
        int expectedOffset = 0;
        var seen = new List<string>();
        foreach (string[] r in rows)
        {
            int offset = int.Parse(r[0], CultureInfo.InvariantCulture);
            string field = r[3].Trim('`');
            Assert.True(fields.TryGetValue(field, out byte[]? value), $"{heading}: the test has no value for field \"{field}\"");
            int size = r[1] switch
            {
                "2+n" => 2 + BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(offset)),
                "n" => n >= 0 ? n : throw new InvalidOperationException($"{heading}: size n needs a length"),
                var s => int.Parse(s, CultureInfo.InvariantCulture),
            };
            Assert.True(expectedOffset == offset, $"{heading}: field {field} is at offset {offset} in the doc, the previous field ends at {expectedOffset}");
            Assert.True(offset + size <= payload.Length, $"{heading}: field {field} runs past the {payload.Length} bytes the code writes");
            Assert.True(value.AsSpan().SequenceEqual(payload.AsSpan(offset, size)),
                $"{heading}: field {field} at offset {offset} size {size}: the code writes {Hex(payload.AsSpan(offset, size).ToArray())}, expected {Hex(value)}");
            expectedOffset = offset + size;
            seen.Add(field);
        }
        Assert.True(expectedOffset == payload.Length, $"{heading}: the table covers {expectedOffset} bytes, the code writes {payload.Length}");
        Assert.Equal(fields.Keys.Order(), seen.Order());
    }

    /// <summary>The cells of the first markdown table after the line starting with <paramref name="heading"/> (header row skipped).</summary>
    private static List<string[]> Rows(string heading)
    {
        int i = Array.FindIndex(Doc, l => l.StartsWith(heading, StringComparison.Ordinal));
        Assert.True(i >= 0, $"docs/protocol.md has no line starting with \"{heading}\"");
        while (!Doc[i].StartsWith('|'))
            i++;
        var rows = new List<string[]>();
        for (i += 2; i < Doc.Length && Doc[i].StartsWith('|'); i++)
            rows.Add(Doc[i].Trim('|').Split('|').Select(c => c.Trim()).ToArray());
        return rows;
    }

    /// <summary>The bytes of the hex block after <c>&lt;!-- example: name --&gt;</c>; text after '#' is a comment.</summary>
    private static byte[] Example(string name)
    {
        int i = Array.IndexOf(Doc, $"<!-- example: {name} -->");
        Assert.True(i >= 0, $"docs/protocol.md has no example \"{name}\"");
        Assert.Equal("```hex", Doc[i + 1]);
        var bytes = new List<byte>();
        for (i += 2; Doc[i] != "```"; i++)
        {
            string data = Doc[i].Split('#')[0];
            foreach (string token in data.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                bytes.Add(byte.Parse(token, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
        return [.. bytes];
    }

    private static byte[] Payload(Action<ArrayBufferWriter<byte>> write)
    {
        var w = new ArrayBufferWriter<byte>();
        write(w);
        byte[] frame = w.WrittenSpan.ToArray();
        Assert.Equal(frame.Length - Frame.HeaderSize, BinaryPrimitives.ReadInt32BigEndian(frame));
        return frame[Frame.HeaderSize..];
    }

    private static byte[] Be(ulong value, int size)
    {
        var b = new byte[size];
        for (int i = 0; i < size; i++)
            b[size - 1 - i] = (byte)(value >> (8 * i));
        return b;
    }

    private static byte[] Str(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        return [.. Be((ulong)utf8.Length, 2), .. utf8];
    }

    private static byte[] Sequence(int first, int count) => Enumerable.Range(first, count).Select(i => (byte)i).ToArray();

    private static string Hex(byte[] b) => Convert.ToHexString(b).ToLowerInvariant();

    /// <summary>TlsAccept → TLS_ACCEPT, UpdateKey → UPDATE_KEY.</summary>
    private static string Upper(string pascal) => UpperRegex().Replace(pascal, "$1_$2").ToUpperInvariant();

    [GeneratedRegex("([a-z0-9])([A-Z])")]
    private static partial Regex UpperRegex();

    [GeneratedRegex(@"(\d+) ([A-Z][A-Z_]+)\b")]
    private static partial Regex KindRegex();
}
