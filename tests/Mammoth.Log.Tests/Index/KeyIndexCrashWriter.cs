using System.Buffers.Binary;
using Mammoth.Log.Index;

namespace Mammoth.Log.Tests.Index;

/// <summary>
/// The child process of the crash test: applies a deterministic stream of "records" to a key index
/// while another thread checkpoints in a loop, until the test SIGKILLs it. Because every row follows
/// from its recno, the test can recompute what the index must hold as of any recno.
/// </summary>
/// <remarks>
/// Protocol on stdout, one line each, flushed:
/// <c>open R Recovery</c> after Open; <c>upto N</c> before any record above the previous bound is
/// written (N bounds every recno the index may hold); <c>ckpt R</c> after a checkpoint completed
/// that holds at least recno R.
/// </remarks>
internal static class KeyIndexCrashWriter
{
    public const string HelperName = "keyindex-crash-writer";
    public const int Keys = 20_000;
    public const int RowsPerRecord = 6;
    private const int Announce = 2_000;

    public static KeyIndexOptions Options(string directory) => new()
    {
        Directory = directory,
        MemorySizeBytes = 4L << 20,
        PageSizeBits = 16,
        SegmentSizeBits = 22,
        IndexBuckets = 1 << 12,
        ReaderSessions = 2,
    };

    public static int KeyIdOf(long recno, int row)
    {
        var x = (ulong)(recno * RowsPerRecord + row) * 0x9E3779B97F4A7C15UL;
        return (int)((x >> 33) % Keys);
    }

    public static uint TableOf(int keyId) => (uint)(keyId % 3) + 1;

    /// <summary>4 bytes of key id, then 0–36 filler bytes: keys of varied length, unique per id.</summary>
    public static byte[] KeyBytes(int keyId)
    {
        var key = new byte[4 + keyId % 37];
        BinaryPrimitives.WriteInt32BigEndian(key, keyId);
        key.AsSpan(4).Fill((byte)keyId);
        return key;
    }

    public static KeyLocation LocationOf(long recno, int row) => new(recno, (uint)(row * 100), (byte)(1 + (recno + row) % 5));

    public static int Run(string[] args)
    {
        var keys = new byte[Keys][];
        for (var k = 0; k < Keys; k++)
            keys[k] = KeyBytes(k);

        using var index = KeyIndex.Open(Options(args[0]));
        Console.WriteLine($"open {index.IndexedThroughRecno} {index.Recovery}");

        var checkpointer = new Thread(() =>
        {
            while (true)
            {
                var atLeast = index.IndexedThroughRecno;
                index.CheckpointAsync().AsTask().GetAwaiter().GetResult();
                Console.WriteLine($"ckpt {atLeast}");
                Thread.Sleep(5);
            }
        }) { IsBackground = true };
        checkpointer.Start();

        var recno = index.IndexedThroughRecno + 1;
        var bound = recno - 1;
        while (true)
        {
            if (recno > bound)
            {
                bound += Announce;
                Console.WriteLine($"upto {bound}");
            }
            for (var row = 0; row < RowsPerRecord; row++)
            {
                var keyId = KeyIdOf(recno, row);
                index.Upsert(TableOf(keyId), keys[keyId], LocationOf(recno, row));
            }
            index.MarkIndexed(recno);
            if (recno % 200 == 0)
                Thread.Sleep(1); // keep the log from growing faster than the test needs
            recno++;
        }
    }
}
