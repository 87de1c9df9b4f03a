using System.Buffers.Binary;

namespace Mammoth.Log.Storage;

/// <summary>
/// Sparse recno → offset map of one segment: an entry every few KiB, appended by the single appender,
/// searched by any number of readers without a lock.
/// </summary>
/// <remarks>
/// Readers see a consistent prefix: an entry is written before the count that covers it is published
/// (Volatile.Write), and a grown array keeps the old entries, so a reader holding the previous array
/// still searches valid data.
/// </remarks>
internal sealed class SparseIndex
{
    private Entry[] _entries = new Entry[64];
    private int _count;
    private long _lastOffset = long.MinValue;

    internal readonly record struct Entry(long Recno, long Offset);

    public int Count => Volatile.Read(ref _count);

    /// <summary>Adds an entry if the record at <paramref name="offset"/> is at least <paramref name="interval"/> bytes past the last one.</summary>
    public void MaybeAdd(long recno, long offset, int interval)
    {
        if (offset - _lastOffset < interval)
            return;
        Add(recno, offset);
    }

    public void Add(long recno, long offset)
    {
        int n = _count;
        Entry[] e = _entries;
        if (n == e.Length)
        {
            var bigger = new Entry[n * 2];
            Array.Copy(e, bigger, n);
            _entries = e = bigger;
        }
        e[n] = new Entry(recno, offset);
        _lastOffset = offset;
        Volatile.Write(ref _count, n + 1);
    }

    /// <summary>The entry with the greatest recno ≤ <paramref name="recno"/>, or false when there is none.</summary>
    public bool TryFind(long recno, out Entry entry)
    {
        int n = Volatile.Read(ref _count);
        Entry[] e = Volatile.Read(ref _entries);
        int lo = 0, hi = Math.Min(n, e.Length) - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (e[mid].Recno <= recno)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        entry = found >= 0 ? e[found] : default;
        return found >= 0;
    }

    /// <summary>The entries published so far (a copy).</summary>
    public Entry[] Entries() => Volatile.Read(ref _entries).AsSpan(0, Count).ToArray();

    // ---- sidecar file <base>.idx ----------------------------------------------------------------
    //  0 "MMIX" u32 | 4 version u16 | 6 reserved u16 | 8 base u64 | 16 last recno u64 | 24 data end u64
    // 32 count u32 | 36 entries: count × (recno u64, offset u64) | crc32c u32 of everything before it
    private const uint SidecarMagic = 0x4D4D_4958;
    private const int SidecarHeader = 36;

    public byte[] ToSidecar(long baseRecno, long lastRecno, long dataEnd)
    {
        int n = Count;
        var b = new byte[SidecarHeader + n * 16 + 4];
        BinaryPrimitives.WriteUInt32BigEndian(b, SidecarMagic);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), 1);
        BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(8), baseRecno);
        BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(16), lastRecno);
        BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(24), dataEnd);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(32), n);
        for (int i = 0; i < n; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(SidecarHeader + i * 16), _entries[i].Recno);
            BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(SidecarHeader + i * 16 + 8), _entries[i].Offset);
        }
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(b.Length - 4), Crc32C.Compute(b.AsSpan(0, b.Length - 4)));
        return b;
    }

    public static bool TryFromSidecar(ReadOnlySpan<byte> b, long baseRecno, out SparseIndex index, out long lastRecno, out long dataEnd)
    {
        index = new SparseIndex();
        lastRecno = dataEnd = 0;
        if (b.Length < SidecarHeader + 4 || BinaryPrimitives.ReadUInt32BigEndian(b) != SidecarMagic)
            return false;
        int n = BinaryPrimitives.ReadInt32BigEndian(b[32..]);
        if (n < 0 || b.Length != SidecarHeader + (long)n * 16 + 4)
            return false;
        if (BinaryPrimitives.ReadUInt32BigEndian(b[^4..]) != Crc32C.Compute(b[..^4]))
            return false;
        if (BinaryPrimitives.ReadInt64BigEndian(b[8..]) != baseRecno)
            return false;
        lastRecno = BinaryPrimitives.ReadInt64BigEndian(b[16..]);
        dataEnd = BinaryPrimitives.ReadInt64BigEndian(b[24..]);
        for (int i = 0; i < n; i++)
            index.Add(BinaryPrimitives.ReadInt64BigEndian(b[(SidecarHeader + i * 16)..]), BinaryPrimitives.ReadInt64BigEndian(b[(SidecarHeader + i * 16 + 8)..]));
        return true;
    }
}
