using System.Buffers;
using Mammoth.Log;
using Mammoth.Log.Records;

namespace Mammoth.Net.Hub;

/// <summary>What a slave receives for one record.</summary>
internal enum FilterVerdict
{
    /// <summary>Every section is for this slave (or the record has no sections): send the stored bytes.</summary>
    AsIs,
    /// <summary>Nothing is for this slave: send an EMPTY record with the same recno.</summary>
    Empty,
    /// <summary>Some sections are: send a copy holding only those.</summary>
    Filtered,
}

/// <summary>
/// Per-slave table sets: a slave receives only the sections whose slave set contains it. Rows of a table
/// enabled for slave 0 only never cross the network to slave 1; a record with nothing for a slave becomes a
/// small EMPTY record so that the slave's recno sequence has no gaps. Data and TABLE_DUMP_BEGIN/CHUNK/END
/// records are filtered by section; DUMP_START/DUMP_END go as they are to the slaves their marker names and
/// as EMPTY to the others; every other kind goes to every slave.
/// </summary>
internal static class SlaveFilter
{
    public static FilterVerdict Classify(RecordKind kind, ReadOnlySpan<byte> payload, int slave)
    {
        if (kind is RecordKind.DumpStart or RecordKind.DumpEnd)
        {
            // A full dump frames its tables for its targets only: a slave already in sync skips a dump meant
            // for another. A payload that is not a marker goes out as is: the slave halts on it with a clear
            // error instead of silently missing a dump.
            return !DumpMarker.TryRead(payload, out DumpMarker m) || m.Slaves.Contains(slave) ? FilterVerdict.AsIs : FilterVerdict.Empty;
        }
        if (kind is not (RecordKind.Data or RecordKind.TableDumpBegin or RecordKind.TableDumpChunk or RecordKind.TableDumpEnd))
            return FilterVerdict.AsIs;
        int mine = 0, others = 0;
        foreach (Section s in PayloadReader.Sections(payload))
        {
            if (s.Slaves.Contains(slave))
                mine++;
            else
                others++;
        }
        return others == 0 ? FilterVerdict.AsIs : mine == 0 ? FilterVerdict.Empty : FilterVerdict.Filtered;
    }

    /// <summary>Writes the EMPTY stand-in of <paramref name="record"/> (header only, same recno, epoch, LSN, flags).</summary>
    public static int WriteEmpty(ReadOnlySpan<byte> record, Span<byte> destination)
    {
        RecordHeader h = RecordHeader.Read(record);
        h.Kind = RecordKind.Empty;
        h.PayloadLength = 0;
        h.PayloadCrc = Crc32C.Compute([]);
        h.Seal();
        h.Write(destination);
        return RecordHeader.Size;
    }

    /// <summary>Writes a copy of <paramref name="record"/> holding only the sections for <paramref name="slave"/>.</summary>
    public static int WriteFiltered(ReadOnlySpan<byte> record, int slave, Span<byte> destination)
    {
        RecordHeader h = RecordHeader.Read(record);
        ReadOnlySpan<byte> payload = record[RecordHeader.Size..];
        int o = RecordHeader.Size;
        foreach (Section s in PayloadReader.Sections(payload))
        {
            if (!s.Slaves.Contains(slave))
                continue;
            ReadOnlySpan<byte> whole = payload.Slice(s.Offset, s.Header.TotalLength);
            whole.CopyTo(destination[o..]);
            o += whole.Length;
        }
        h.PayloadLength = o - RecordHeader.Size;
        h.PayloadCrc = Crc32C.Compute(destination[RecordHeader.Size..o]);
        h.Seal();
        h.Write(destination);
        return o;
    }
}

/// <summary>
/// One batch of records for a slave: runs of stored bytes (views of the mapped txlog) and EMPTY/filtered
/// stand-ins written into one pooled buffer. Pooled per server (Microsoft.Extensions.ObjectPool).
/// </summary>
internal sealed class SlaveBatch
{
    private readonly byte[] _own = new byte[64 * 1024];
    private readonly List<byte[]> _rented = [];
    private byte[] _scratch;
    private int _scratchUsed;

    public SlaveBatch() => _scratch = _own;
    private ReadOnlyMemory<byte> _run;

    public List<ReadOnlyMemory<byte>> Pieces { get; } = new(16);
    public int Bytes { get; private set; }
    public int Records { get; private set; }
    public long LastRecno { get; private set; }

    /// <summary>Adds stored bytes, extending the current run when they follow it in the same mapping.</summary>
    public void AddStored(ReadOnlyMemory<byte> bytes, long recno)
    {
        if (!_run.IsEmpty && Mammoth.Log.Storage.LogMemory.TryConcat(_run, bytes, out ReadOnlyMemory<byte> joined))
            _run = joined;
        else
        {
            FlushRun();
            _run = bytes;
        }
        Account(bytes.Length, recno);
    }

    /// <summary>Room for a stand-in of up to <paramref name="max"/> bytes; then <see cref="CommitScratch"/>.</summary>
    public Span<byte> Scratch(int max)
    {
        if (_scratch.Length - _scratchUsed < max)
        {
            // Grow by starting a new buffer; earlier pieces keep referencing the old one.
            FlushRun();
            _scratch = ArrayPool<byte>.Shared.Rent(Math.Max(max, 64 * 1024));
            _scratchUsed = 0;
            _rented.Add(_scratch);
        }
        return _scratch.AsSpan(_scratchUsed, max);
    }

    public void CommitScratch(int length, long recno)
    {
        FlushRun();
        Pieces.Add(_scratch.AsMemory(_scratchUsed, length));
        _scratchUsed += length;
        Account(length, recno);
    }

    private void Account(int length, long recno)
    {
        Bytes += length;
        Records++;
        LastRecno = recno;
    }

    /// <summary>Pieces ready to send (closes the open run).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Seal()
    {
        FlushRun();
        return Pieces;
    }

    private void FlushRun()
    {
        if (!_run.IsEmpty)
        {
            Pieces.Add(_run);
            _run = default;
        }
    }

    public void Reset()
    {
        Pieces.Clear();
        _run = default;
        _scratchUsed = 0;
        Bytes = 0;
        Records = 0;
        foreach (byte[] b in _rented)
            ArrayPool<byte>.Shared.Return(b);
        _rented.Clear();
        _scratch = _own;
    }
}
