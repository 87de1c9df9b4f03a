using Mammoth.Log.Index;
using Mammoth.Log.Inspection;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;
using Xunit;

namespace Mammoth.Log.Tests.Index;

public class KeyIndexerTests
{
    private static async Task AppendAsync(TxLog log, SyntheticWorkload work, long from, long to, int keys)
    {
        if (log.LastRecno < log.FirstRecno)
            log.Append(work.RelationRecord());
        for (long n = from; n <= to; n++)
            log.Append(work.DataRecord(1 + n % keys, (ulong)n));
        await log.FlushAsync();
    }

    /// <summary>Latest recno per (table, id) by brute force over the log.</summary>
    private static Dictionary<(uint, long), long> Expected(TxLog log)
    {
        var map = new Dictionary<(uint, long), long>();
        using TxLogReader r = log.OpenReader(log.FirstRecno);
        while (r.TryRead(out LogRecord rec) == ReadStatus.Ok)
        {
            if (rec.Kind != RecordKind.Data)
                continue;
            foreach (Section s in PayloadReader.Sections(rec.Payload))
            {
                TupleReader t = s.GetTuples();
                while (t.MoveNextTuple())
                {
                    t.TryReadField(out ReadOnlySpan<byte> id, out _);
                    map[(s.TableId, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(id))] = rec.Recno;
                }
            }
        }
        return map;
    }

    private static void AssertAgrees(KeyIndexer indexer, TxLog log)
    {
        Dictionary<(uint, long), long> expected = Expected(log);
        Assert.NotEmpty(expected);
        Span<byte> key = stackalloc byte[12];
        foreach (((uint table, long id), long recno) in expected)
        {
            SyntheticWorkload.KeyOf(id, key);
            Assert.True(indexer.Index.TryGet(table, key, out KeyLocation loc), $"key {id} of table {table} missing");
            Assert.Equal(recno, loc.Recno);
            Assert.Equal((byte)ChangeOp.Insert, loc.Op);
            // The offset points at that row inside the record's payload.
            using TxLogReader r = log.OpenReader(loc.Recno);
            Assert.Equal(ReadStatus.Ok, r.TryRead(out LogRecord rec));
            Assert.True(rec.Payload[(int)loc.Offset..][2..(2 + 12)].SequenceEqual(key));
        }
        // A key that never existed is not found.
        SyntheticWorkload.KeyOf(-5, key);
        Assert.False(indexer.Index.TryGet(SyntheticWorkload.TableId(0), key, out _));
    }

    [Fact]
    public async Task The_index_agrees_with_the_log_after_a_restart_without_a_final_checkpoint()
    {
        using var dir = new TempDir();
        using var work = new SyntheticWorkload(300, tables: 3);
        long checkpointed;
        using (var log = TxLog.Open(new TxLogOptions { Path = dir.Path, SegmentSize = 1 << 20, Preallocation = SegmentPreallocation.Sparse }))
        {
            await AppendAsync(log, work, 2, 3000, keys: 500);
            using (KeyIndexer indexer = KeyIndexer.Open(dir.Path))
            {
                indexer.CatchUp(log);
                await indexer.CheckpointAsync();
                checkpointed = indexer.Index.IndexedThroughRecno;
                await AppendAsync(log, work, 3001, 6000, keys: 500);
                indexer.CatchUp(log);
                AssertAgrees(indexer, log);
                // Closed without a checkpoint: what came after the checkpoint must be replayed.
            }
        }
        using (var log = TxLog.Open(new TxLogOptions { Path = dir.Path, SegmentSize = 1 << 20 }))
        using (KeyIndexer indexer = KeyIndexer.Open(dir.Path))
        {
            Assert.Equal(checkpointed, indexer.Index.IndexedThroughRecno);
            Assert.Equal(3, indexer.Relations.Count); // known from the saved relations, not from a replay
            Assert.Equal(6000 - checkpointed, indexer.CatchUp(log));
            AssertAgrees(indexer, log);
        }
    }

    [Fact]
    public async Task Updates_deletes_key_changes_and_truncates_are_indexed()
    {
        using var dir = new TempDir();
        using var log = TxLog.Open(new TxLogOptions { Path = dir.Path, SegmentSize = 1 << 20, Preallocation = SegmentPreallocation.Sparse });
        using var b = new RecordBuilder();
        var rel = new RelationInfo(7, "public", "t", [new ColumnInfo("k", 23, -1, "integer", true), new ColumnInfo("v", 25, -1, "text", false)]);
        b.Begin(RecordKind.Relation);
        RelationInfo.WriteAll(b, [rel]);
        log.Append(b.Finish());
        void Int(int v) => System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b.AddField(4), v);
        b.Begin(RecordKind.Data);
        b.BeginSection(7, ChangeOp.Insert, SlaveSet.All, 2);
        b.BeginTuple(2); Int(1); b.AddField("a"u8);
        b.BeginTuple(2); Int(2); b.AddField("b"u8);
        b.EndSection();
        log.Append(b.Finish());                       // 2: insert 1, 2
        b.Begin(RecordKind.Data);
        b.BeginSection(7, ChangeOp.Update, SlaveSet.All, 1, [0b01]); // only k present (v unchanged TOAST, say)
        b.BeginTuple(1); Int(2);
        b.EndSection();
        b.BeginSection(7, ChangeOp.UpdateKey, SlaveSet.All, 3);
        b.BeginTuple(3); Int(1); Int(10); b.AddField("a2"u8);  // key 1 -> 10
        b.EndSection();
        log.Append(b.Finish());                       // 3
        b.Begin(RecordKind.Data);
        b.BeginSection(7, ChangeOp.Delete, SlaveSet.All, 1);
        b.BeginTuple(1); Int(2);
        b.EndSection();
        b.BeginSection(7, ChangeOp.Truncate, SlaveSet.All, 0);
        b.EndSection();
        log.Append(b.Finish());                       // 4
        await log.FlushAsync();

        using KeyIndexer indexer = KeyIndexer.Open(dir.Path);
        Assert.Equal(4, indexer.CatchUp(log));
        KeyLocation Get(int k)
        {
            Assert.True(indexer.Index.TryGet(7, KeyIndexer.EncodeKey(rel, [k.ToString()]), out KeyLocation l), $"key {k}");
            return l;
        }
        Assert.Equal((3L, (byte)ChangeOp.UpdateKey), (Get(1).Recno, Get(1).Op));   // moved away
        Assert.Equal((3L, (byte)ChangeOp.UpdateKey), (Get(10).Recno, Get(10).Op)); // moved here
        Assert.Equal((4L, (byte)ChangeOp.Delete), (Get(2).Recno, Get(2).Op));
        Assert.True(indexer.Index.TryGet(7, [], out KeyLocation trunc));
        Assert.Equal((4L, (byte)ChangeOp.Truncate), (trunc.Recno, trunc.Op));
        Assert.Contains("give 1 comma-separated value", Assert.Throws<ArgumentException>(() => KeyIndexer.EncodeKey(rel, ["1", "2"])).Message);
    }
}
