using System.Diagnostics;
using Mammoth.Log.Index;
using Mammoth.Log.Inspection;
using Mammoth.Log.Storage;

namespace Mammoth.Tools.TxLog;

internal static partial class TxLogCommands
{
    private const string GenUsage = "txlog gen PATH --records N --size BYTES [--tables K] [--keys K] [--flush-bytes B] [--no-index]";

    private static int Gen(string[] args)
    {
        var cl = CommandLine.Parse("txlog gen", args, ["--no-index", "--quiet"], ["--records", "--size", "--tables", "--flush-bytes", "--segment-size", "--keys"]);
        string path = PathArg(cl, GenUsage);
        long records = cl.GetLong("--records", -1, 1);
        if (records < 0)
            throw new UsageException($"give the number of records with --records N; usage: {GenUsage}");
        int size = (int)cl.GetLong("--size", 1024, SyntheticWorkload.MinRecordSize, 256L << 20);
        int tables = (int)cl.GetLong("--tables", 1, 1, 100_000);
        int flushBytes = (int)cl.GetLong("--flush-bytes", 1 << 20, 0, 1L << 30);
        long segmentSize = cl.GetLong("--segment-size", 64L << 20, 64 << 10, 1L << 30);
        bool quiet = cl.Has("--quiet");
        long keys = cl.GetLong("--keys", 0, 0);

        using var log = Log.Storage.TxLog.Open(new TxLogOptions
        {
            Path = path,
            FlushBytes = flushBytes,
            SegmentSize = segmentSize,
            Report = m => Console.Error.WriteLine($"txlog: {m}"),
        });
        using var work = new SyntheticWorkload(size, tables);
        var progress = new ProgressLine("gen", !quiet && ProgressLine.TerminalAttached);
        var sw = Stopwatch.StartNew();
        long firstRecno = log.NextRecno;
        long bytes = 0;
        long toWrite = records;
        // A fresh log starts with the RELATION record that describes the synthetic tables (it counts as one of N).
        if (log.LastRecno < log.FirstRecno)
        {
            ReadOnlySpan<byte> rel = work.RelationRecord();
            log.Append(rel);
            bytes += rel.Length;
            toWrite--;
        }
        long id = log.NextRecno;
        for (long i = 0; i < toWrite; i++, id++)
        {
            // --keys K: rows cycle through ids 1..K, so later records change earlier rows.
            ReadOnlySpan<byte> rec = work.DataRecord(keys > 0 ? 1 + id % keys : id, (ulong)id);
            log.Append(rec);
            bytes += rec.Length;
            if ((i & 1023) == 0)
                progress.Report(i, toWrite, $"{bytes / (1 << 20)} MiB");
        }
        log.FlushAsync().AsTask().GetAwaiter().GetResult(); // a tool's Main: nothing else runs on this thread
        progress.Done();
        string indexNote = "";
        if (!cl.Has("--no-index"))
        {
            // As the MCP does: the key index follows the durable log.
            using var indexer = KeyIndexer.Open(log.Path, m => Console.Error.WriteLine($"txlog: {m}"));
            long indexed = indexer.CatchUp(log);
            indexer.CheckpointAsync().AsTask().GetAwaiter().GetResult();
            indexNote = $"; key index through {indexer.Index.IndexedThroughRecno} ({indexed} records indexed)";
        }
        double secs = sw.Elapsed.TotalSeconds;
        Console.WriteLine(
            $"appended {records} records ({firstRecno}..{log.LastRecno}) of {size} bytes to {Path.GetFullPath(path)} in {secs:0.00} s: " +
            $"{records / secs:0} records/s, {bytes / secs / (1 << 20):0.0} MiB/s; durable through {log.DurableRecno}{indexNote}");
        return 0;
    }
}
