using System.Diagnostics;
using System.Globalization;
using Mammoth.Log.Inspection;
using Mammoth.Log.Storage;

namespace Mammoth.Tools.TxLog;

/// <summary>The txlog sub-commands: argument handling and output; the work is in Mammoth.Log.</summary>
internal static partial class TxLogCommands
{
    public const string Usage = """
        txlog: inspect and exercise a MammothFast transaction log (the MCP's queue, mcp_txlog_path).

        Usage:
          txlog stat PATH                      base, first and last recno; segments; bytes
          txlog verify PATH                    check every record; exit 1 and name the first bad one
          txlog dump PATH [--from N] [--to M] [--rows]
                                               records as text; --rows decodes row values
          txlog lookup PATH --table T --key K  the latest change the log holds for that row
                                               (T: table id or schema.name; K: key value, comma-separated
                                               for a composite key)
          txlog gen PATH --records N --size BYTES [--tables K] [--flush-bytes B] [--no-index]
                                               append N synthetic records of BYTES bytes each, durably
          txlog recover PATH                   open the log as the MCP would: cut a torn tail, report it

        Options:
          -h, --help                           this text
        Exit status: 0 success, 1 damage found, 2 bad arguments or path.
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        string command = args[0];
        string[] rest = args[1..];
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        return command switch
        {
            "stat" => Stat(rest),
            "verify" => Verify(rest),
            "dump" => Dump(rest),
            "lookup" => Lookup(rest),
            "gen" => Gen(rest),
            "recover" => Recover(rest),
            _ => throw new UsageException($"unknown command \"{command}\"; the commands are stat, verify, dump, lookup, gen and recover (see `txlog --help`)."),
        };
    }

    private static string PathArg(CommandLine cl, string usage)
    {
        if (cl.Positional.Count == 0)
            throw new UsageException($"give the txlog folder; usage: {usage}");
        cl.ExpectPositional(1, usage);
        return cl.Positional[0];
    }

    /// <summary>Opens an existing log for reading, even while the MCP has it open.</summary>
    private static Log.Storage.TxLog OpenReadOnly(string path) =>
        Log.Storage.TxLog.Open(new TxLogOptions { Path = path, ReadOnly = true, OpenExistingOnly = true, VerifyOnRead = false });

    private static int Stat(string[] args)
    {
        var cl = CommandLine.Parse("txlog stat", args, [], []);
        string path = PathArg(cl, "txlog stat PATH");
        using var log = OpenReadOnly(path);
        IReadOnlyList<SegmentInfo> segs = log.GetSegments();
        long first = log.FirstRecno, last = log.LastRecno;
        Console.WriteLine($"txlog {Path.GetFullPath(path)}");
        Console.WriteLine($"base recno:   {first}");
        Console.WriteLine($"first recno:  {(last >= first ? first : first)}");
        Console.WriteLine($"last recno:   {last}");
        Console.WriteLine($"records:      {Math.Max(0, last - first + 1)}");
        Console.WriteLine($"segments:     {segs.Count}");
        Console.WriteLine($"record bytes: {log.DataBytes} ({Human(log.DataBytes)})");
        Console.WriteLine($"file bytes:   {log.FileBytes} ({Human(log.FileBytes)})");
        if (log.Recovery.Message is not null)
            Console.WriteLine($"note:         {log.Recovery.Message}");
        foreach (SegmentInfo s in segs)
        {
            string range = s.LastRecno >= s.BaseRecno ? $"{s.BaseRecno}..{s.LastRecno}" : "(empty)";
            Console.WriteLine($"  {s.FileName}  recnos {range,-24} {s.DataBytes,12} record bytes {s.FileBytes,12} file bytes {(s.Sealed ? "sealed" : "active")}");
        }
        return 0;
    }

    private static int Verify(string[] args)
    {
        var cl = CommandLine.Parse("txlog verify", args, [], []);
        string path = PathArg(cl, "txlog verify PATH");
        var progress = new ProgressLine("verify", ProgressLine.TerminalAttached);
        var sw = Stopwatch.StartNew();
        VerifyReport r = TxLogVerifier.Verify(path, (done, total) => progress.Report(done, total));
        progress.Done();
        foreach (string w in r.Warnings)
            Console.WriteLine($"warning: {w}");
        string range = r.GoodRecords > 0 && r.Clean ? $" ({r.FirstRecno}..{r.LastGoodRecno})" : "";
        Console.WriteLine($"{r.GoodRecords} good records{range} in {r.Segments} segments, {r.Bytes} bytes, checked in {sw.Elapsed.TotalSeconds:0.00} s");
        if (r.FirstProblem is { } p)
        {
            string hint = p.TornTail ? " (a torn tail: `txlog recover` or the next MCP start cuts it off)" : "";
            Console.WriteLine($"bad record: recno {p.Recno}, segment {p.Segment}, offset {p.Offset}: {p.Problem}{hint}");
            return 1;
        }
        return 0;
    }

    private static int Recover(string[] args)
    {
        var cl = CommandLine.Parse("txlog recover", args, [], []);
        string path = PathArg(cl, "txlog recover PATH");
        using var log = Log.Storage.TxLog.Open(new TxLogOptions { Path = path, OpenExistingOnly = true });
        Console.WriteLine(log.Recovery.Message ?? $"txlog is clean: records {log.FirstRecno}..{log.LastRecno}, nothing dropped");
        return 0;
    }

    private static string Human(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes + " B",
    };
}
