using System.Globalization;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace Mammoth.Log.Storage;

/// <summary>
/// One segment file <c>&lt;base recno, 20 digits&gt;.seg</c>: written with pwrite by the appender, read
/// through a read-only mapping of the whole file by everyone else (the page cache keeps both coherent).
/// </summary>
/// <remarks>
/// Reference counted: the log holds one reference while the segment is part of it, every reader holds one
/// while positioned in it. Recycling removes the segment from the log, deletes the file and drops the log's
/// reference; the mapping goes away when the last reader leaves, so bytes handed out stay valid meanwhile.
/// </remarks>
internal sealed unsafe class Segment
{
    private readonly SafeFileHandle _handle;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _pointer;
    private readonly MappedMemory _memory;
    private int _refs = 1;
    private long _dataEnd;
    private long _lastRecno;
    private volatile bool _sealed;

    public string Path { get; }
    /// <summary>The file name, computed once: every record a reader hands out carries it.</summary>
    public string FileName { get; }
    public long BaseRecno { get; }
    public long Capacity { get; }
    public SparseIndex Index { get; }
    public SafeFileHandle Handle => _handle;

    /// <summary>Offset just past the last record written to the file.</summary>
    public long DataEnd { get => Volatile.Read(ref _dataEnd); set => Volatile.Write(ref _dataEnd, value); }

    /// <summary>Recno of the last record written to this segment (BaseRecno - 1 when empty).</summary>
    public long LastRecno { get => Volatile.Read(ref _lastRecno); set => Volatile.Write(ref _lastRecno, value); }

    /// <summary>No record will be added: the appender has moved to the next segment.</summary>
    public bool IsSealed => _sealed;

    public void Seal() => _sealed = true;

    /// <summary>Recycled: no longer part of the log (readers that hold it may finish with it).</summary>
    public bool Removed { get; private set; }

    public void MarkRemoved() => Removed = true;

    /// <summary>Bytes of records held: what the queue-size limits count.</summary>
    public long DataBytes => Math.Max(0, DataEnd - SegmentHeader.Size);

    private Segment(string path, long baseRecno, SafeFileHandle handle, bool writable, SparseIndex index)
    {
        Path = path;
        FileName = System.IO.Path.GetFileName(path);
        BaseRecno = baseRecno;
        _handle = handle;
        Index = index;
        Capacity = RandomAccess.GetLength(handle);
        if (Capacity > int.MaxValue)
            throw new TxLogException($"segment {path} is larger than 2 GiB; it was not written by MammothFast.");
        _map = MemoryMappedFile.CreateFromFile(handle, null, Capacity, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, Capacity, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + _view.PointerOffset;
        _memory = new MappedMemory(_pointer, (int)Capacity);
        _dataEnd = SegmentHeader.Size;
        _lastRecno = baseRecno - 1;
        _ = writable;
    }

    public static string FileNameFor(long baseRecno) => baseRecno.ToString("D20", CultureInfo.InvariantCulture) + ".seg";

    public static bool TryParseFileName(string fileName, out long baseRecno)
    {
        baseRecno = 0;
        return fileName.Length == 24 && fileName.EndsWith(".seg", StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out baseRecno);
    }

    /// <summary>Opens an existing segment file.</summary>
    public static Segment Open(string path, long baseRecno, bool writable)
    {
        SafeFileHandle h = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            return new Segment(path, baseRecno, h, writable, new SparseIndex());
        }
        catch
        {
            h.Dispose();
            throw;
        }
    }

    /// <summary>The whole file as a span (read-only mapping).</summary>
    public ReadOnlySpan<byte> Bytes => new(_pointer, (int)Capacity);

    public ReadOnlySpan<byte> Slice(long offset, int length) => new(_pointer + offset, length);

    public ReadOnlyMemory<byte> SliceMemory(long offset, int length) => _memory.Memory.Slice((int)offset, length);

    public bool TryAcquire()
    {
        int r = Volatile.Read(ref _refs);
        while (r > 0)
        {
            int seen = Interlocked.CompareExchange(ref _refs, r + 1, r);
            if (seen == r)
                return true;
            r = seen;
        }
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            ((IDisposable)_memory).Dispose();
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _map.Dispose();
            _handle.Dispose();
        }
    }

    public override string ToString() => FileName;
}
