using Mammoth.Log.Records;

namespace Mammoth.CrashChild;

/// <summary>The deterministic content of record n (shared with the tests through a linked file).</summary>
public static class CrashRecords
{
    public static void Build(RecordBuilder b, long recno, int seed)
    {
        var r = new Random(unchecked((int)(recno * 1_000_003 + seed)));
        int size = r.Next(8) == 0 ? r.Next(50_000, 300_000) : r.Next(0, 3000);
        b.Begin(RecordKind.Data);
        b.BeginSection((uint)(recno % 7), ChangeOp.Insert, SlaveSet.All, 1);
        b.BeginTuple(1);
        r.NextBytes(b.AddField(size));
        b.EndSection();
    }
}
