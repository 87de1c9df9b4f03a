using Mammoth.Log.Records;
using Mammoth.CrashChild;
using Mammoth.Log.Storage;

// Modes:
//   append PATH SEED SEGMENT_SIZE FLUSH_BYTES   append records forever; after each durable flush print "durable N"
// Record n's payload is a pure function of (n's content seed) so the parent can check every byte.
if (args.Length < 1)
    return 2;
switch (args[0])
{
    case "append":
        return Append(args[1], int.Parse(args[2]), long.Parse(args[3]), int.Parse(args[4]), args.Length > 5 ? int.Parse(args[5]) : -1);
    default:
        return 2;
}

// tearAfter >= 0: the buffer write after that many flushes writes only part of its bytes, then the
// process SIGKILLs itself — a kill in the middle of a write, which a plain kill from outside rarely hits.
static int Append(string path, int seed, long segmentSize, int flushBytes, int tearAfter)
{
    using var log = TxLog.Open(new TxLogOptions { Path = path, SegmentSize = segmentSize, FlushBytes = flushBytes });
    var tearRandom = new Random(seed + tearAfter);
    int writes = 0;
    if (tearAfter >= 0)
        log.TearWrite = length => writes++ == tearAfter ? tearRandom.Next(1, length) : -1;
    using var builder = new RecordBuilder();
    var rnd = new Random(seed);
    Console.Out.Flush();
    var stdout = Console.Out;
    while (true)
    {
        int batch = rnd.Next(1, 50);
        for (int i = 0; i < batch; i++)
        {
            long recno = log.NextRecno;
            CrashRecords.Build(builder, recno, seed);
            log.Append(builder.Finish(epoch: 1, commitLsn: (ulong)recno));
        }
        log.FlushAsync().AsTask().Wait();
        stdout.WriteLine($"durable {log.DurableRecno}");
        stdout.Flush();
    }
}

