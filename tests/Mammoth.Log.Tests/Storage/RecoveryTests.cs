using Mammoth.Log.Inspection;
using Mammoth.Log.Records;
using Mammoth.Log.Storage;
using Xunit;
using static Mammoth.Log.Tests.Storage.TxLogTests;

namespace Mammoth.Log.Tests.Storage;

public class RecoveryTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static async Task<string> WriteLog(TempDir dir, int records, long segmentSize = 64 * 1024)
    {
        using var b = new RecordBuilder();
        using var log = TxLog.Open(Options(dir.Path, segmentSize: segmentSize));
        for (long n = 1; n <= records; n++)
            log.Append(Make(b, n));
        await log.FlushAsync();
        return log.GetSegments()[^1].FileName;
    }

    [Fact]
    public async Task A_torn_tail_is_cut_off_reported_and_never_served()
    {
        using var dir = new TempDir();
        string tail = await WriteLog(dir, 300);
        string tailPath = dir.Sub(tail);
        long lastGood;
        long cutAt;
        using (var log = TxLog.Open(Options(dir.Path)))
        {
            lastGood = log.LastRecno - 1;
            SegmentInfo s = log.GetSegments()[^1];
            // Tear the last record: keep its header and half its payload, zero the rest.
            using TxLogReader r = log.OpenReader(log.LastRecno);
            Assert.Equal(ReadStatus.Ok, r.TryRead(out LogRecord last));
            cutAt = last.Offset + last.Length / 2;
            _ = s;
        }
        using (var fs = new FileStream(tailPath, FileMode.Open, FileAccess.Write))
        {
            fs.Position = cutAt;
            fs.Write(new byte[4096]);
        }
        VerifyReport before = TxLogVerifier.Verify(dir.Path);
        Assert.False(before.Clean);
        Assert.True(before.FirstProblem!.TornTail);
        Assert.Equal(lastGood + 1, before.FirstProblem.Recno);

        using (var log = TxLog.Open(Options(dir.Path)))
        {
            Assert.Equal(lastGood, log.LastRecno);
            Assert.True(log.Recovery.BytesDropped > 0);
            Assert.Contains("dropped", log.Recovery.Message);
            using TxLogReader r = log.OpenReader(lastGood);
            Assert.Equal(ReadStatus.Ok, r.TryRead(out _));
            Assert.Equal(ReadStatus.NotYet, r.TryRead(out _));
            // The log goes on from the cut: the next record takes the torn one's recno.
            using var b = new RecordBuilder();
            Assert.Equal(lastGood + 1, log.Append(Make(b, lastGood + 1)));
            await log.FlushAsync();
        }
        Assert.True(TxLogVerifier.Verify(dir.Path).Clean);
    }

    [Fact]
    public async Task A_flipped_byte_anywhere_is_detected_by_verify_and_by_readers()
    {
        using var dir = new TempDir();
        await WriteLog(dir, 200);
        string[] segs = Directory.GetFiles(dir.Path, "*.seg").Order().ToArray();
        var rnd = new Random(7);
        for (int trial = 0; trial < 60; trial++)
        {
            string seg = segs[rnd.Next(segs.Length)];
            long len = new FileInfo(seg).Length;
            // Half the trials hit the used part of the file, the rest anywhere (header, records, zero tail).
            long dataEnd = TxLogVerifier.Verify(dir.Path).Bytes;
            long pos = trial % 2 == 0 ? rnd.NextInt64(0, Math.Min(len, Math.Max(65, dataEnd / segs.Length))) : rnd.NextInt64(0, len);
            byte original = Flip(seg, pos, 0x5A);
            VerifyReport rep = TxLogVerifier.Verify(dir.Path);
            Assert.False(rep.Clean, $"flip at {Path.GetFileName(seg)}:{pos} went unnoticed");
            Flip(seg, pos, 0x5A);
            Assert.Equal(original, ReadByte(seg, pos));
        }
        Assert.True(TxLogVerifier.Verify(dir.Path).Clean);

        // A reader never serves a record whose payload CRC fails.
        using (var log = TxLog.Open(Options(dir.Path)))
        {
            using TxLogReader r = log.OpenReader(10);
            Assert.Equal(ReadStatus.Ok, r.TryRead(out LogRecord rec10));
            Assert.Equal(ReadStatus.Ok, r.TryRead(out LogRecord rec11));
            string seg = dir.Sub(rec11.Segment);
            long pos = rec11.Offset + RecordHeader.Size + 20;
            Flip(seg, pos, 1);
            r.Seek(11);
            Assert.Equal(ReadStatus.Damaged, r.TryRead(out _));
            Assert.Contains("record 11", r.Problem);
            Flip(seg, pos, 1);
            _ = rec10;
        }
    }

    [Fact]
    public async Task Killing_an_appender_at_random_points_loses_no_durable_record_and_serves_no_torn_one()
    {
        using var dir = new TempDir();
        string child = Path.Combine(AppContext.BaseDirectory, "Mammoth.CrashChild.dll");
        var rnd = new Random(12345);
        long lastDurableSeen = 0;
        long dropped = 0;
        for (int round = 0; round < 10; round++)
        {
            int seed = 99;
            using var p = new System.Diagnostics.Process
            {
                StartInfo = new System.Diagnostics.ProcessStartInfo("dotnet", [child, "append", dir.Path, seed.ToString(), (256 * 1024).ToString(), rnd.Next(0, 3) switch { 0 => "0", 1 => "8192", _ => "65536" }, round % 2 == 1 ? rnd.Next(0, 40).ToString() : "-1"])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                },
            };
            p.Start();
            long durable = lastDurableSeen; // what earlier rounds made durable stays durable
            DateTime? until = null;
            Task<string> err = p.StandardError.ReadToEndAsync();
            while (until is null || DateTime.UtcNow < until)
            {
                string? line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
                if (line is null)
                    break;
                if (line.StartsWith("durable ", StringComparison.Ordinal))
                    durable = long.Parse(line[8..]);
                until ??= DateTime.UtcNow.AddMilliseconds(rnd.Next(20, 600)); // the child is up: kill it soon, anywhere
            }
            p.Kill();
            await p.WaitForExitAsync();
            string stderr = await err;
            Assert.True(stderr.Length == 0, "the child failed: " + stderr);
            lastDurableSeen = durable;

            using var log = TxLog.Open(Options(dir.Path, segmentSize: 256 * 1024));
            Assert.True(log.LastRecno >= durable, $"round {round}: durable {durable} but the log ends at {log.LastRecno}");
            dropped += log.Recovery.BytesDropped;
            output.WriteLine($"round {round}: durable {durable}, recovered through {log.LastRecno}, dropped {log.Recovery.BytesDropped} bytes");
            using TxLogReader r = log.OpenReader(log.FirstRecno);
            using var b = new RecordBuilder();
            for (long n = log.FirstRecno; n <= log.LastRecno; n++)
            {
                Assert.Equal(ReadStatus.Ok, r.TryRead(out LogRecord rec));
                Mammoth.CrashChild.CrashRecords.Build(b, n, seed);
                byte[] expected = b.Finish(epoch: 1, commitLsn: (ulong)n).ToArray();
                RecordHeader.StampRecno(expected, n);
                Assert.True(expected.AsSpan().SequenceEqual(rec.Bytes.Span), $"round {round}: record {n} differs");
            }
            Assert.Equal(ReadStatus.NotYet, r.TryRead(out _));
        }
        Assert.True(dropped > 0, "no round tore a write: the test did not exercise recovery");
        Assert.True(TxLogVerifier.Verify(dir.Path).Clean);
    }

    private static byte Flip(string path, long pos, byte mask)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Position = pos;
        int b = fs.ReadByte();
        fs.Position = pos;
        fs.WriteByte((byte)(b ^ mask));
        return (byte)b;
    }

    private static byte ReadByte(string path, long pos)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);
        fs.Position = pos;
        return (byte)fs.ReadByte();
    }
}
