using System.Buffers;
using System.Buffers.Binary;
using System.Threading.Channels;
using Mammoth.Log.Records;
using Npgsql;

namespace Mammoth.Nodes.Master;

/// <summary>Whole binary-COPY tuples of one piece of a table, in a pooled buffer: <c>Buffer[Offset..Offset+Length)</c>.</summary>
internal sealed class DumpChunk(byte[] buffer, int offset, int length, int rows)
{
    public byte[] Buffer { get; } = buffer;
    public ReadOnlySpan<byte> Tuples => Buffer.AsSpan(offset, length);
    public int Length => length;
    public int Rows => rows;

    public void Return() => ArrayPool<byte>.Shared.Return(Buffer);
}

/// <summary>
/// One COPY of a dump: a whole table, or one block range of it (<c>ctid</c> range: a TID range scan reads
/// just those pages). Its chunks queue in a small bounded channel: a reader ahead of the shipper waits there.
/// </summary>
internal sealed class DumpPiece(RelationInfo rel, string copySql, int part, int parts)
{
    /// <summary>Chunks queued per piece (about 1 MiB each): what a reader may run ahead of the shipper.</summary>
    private const int Queue = 4;

    public RelationInfo Relation { get; } = rel;
    public string CopySql { get; } = copySql;
    public int Part { get; } = part;
    public int Parts { get; } = parts;
    public Channel<DumpChunk> Chunks { get; } = Channel.CreateBounded<DumpChunk>(new BoundedChannelOptions(Queue)
    {
        SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
    });

    public override string ToString() => Parts == 1 ? Relation.ToString() : $"{Relation} (part {Part + 1} of {Parts})";
}

/// <summary>
/// Reads the pieces of a dump on several connections that imported the same snapshot, each piece into its
/// own queue; the shipper takes the queues in piece order (docs/dumps.md, "Parallel dumps"). Readers take
/// pieces in that same order, so the piece the shipper waits on is always being read: no deadlock, and the
/// memory ahead of the shipper is bounded by readers × queue × chunk size.
/// </summary>
internal sealed class DumpReader : IAsyncDisposable
{
    private readonly IReadOnlyList<DumpPiece> _pieces;
    private readonly int _chunkBytes;
    private readonly CancellationTokenSource _cts;
    private readonly Task[] _readers;
    private int _next = -1;

    public DumpReader(IReadOnlyList<NpgsqlConnection> connections, IReadOnlyList<DumpPiece> pieces, int chunkBytes, CancellationToken ct)
    {
        _pieces = pieces;
        _chunkBytes = chunkBytes;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _readers = new Task[Math.Min(connections.Count, Math.Max(pieces.Count, 1))];
        for (int i = 0; i < _readers.Length; i++)
        {
            NpgsqlConnection c = connections[i];
            _readers[i] = Task.Run(() => ReadLoopAsync(c, _cts.Token));
        }
    }

    public int Readers => _readers.Length;

    private async Task ReadLoopAsync(NpgsqlConnection c, CancellationToken ct)
    {
        int i;
        while ((i = Interlocked.Increment(ref _next)) < _pieces.Count)
        {
            DumpPiece piece = _pieces[i];
            try
            {
                await ReadPieceAsync(c, piece, _chunkBytes, ct).ConfigureAwait(false);
                piece.Chunks.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                piece.Chunks.Writer.TryComplete(ex); // the shipper sees it when it reaches this piece
                // The connection may be mid-COPY: the pieces after this one fail in turn rather than wait.
                while ((i = Interlocked.Increment(ref _next)) < _pieces.Count)
                    _pieces[i].Chunks.Writer.TryComplete(new IOException($"not read: {piece} failed before it", ex));
                return;
            }
        }
    }

    /// <summary>
    /// COPY … TO STDOUT (FORMAT binary) read straight into pooled chunk buffers, cut at tuple boundaries once a
    /// chunk holds <paramref name="chunkBytes"/>; the partial tuple at the end moves to the next buffer.
    /// </summary>
    private static async Task ReadPieceAsync(NpgsqlConnection c, DumpPiece piece, int chunkBytes, CancellationToken ct)
    {
        RelationInfo rel = piece.Relation;
        int columns = rel.Columns.Count;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunkBytes + 256 * 1024);
        try
        {
            await using Stream copy = await c.BeginRawBinaryCopyAsync(piece.CopySql, ct).ConfigureAwait(false);
            int first = -1;   // where this buffer's first tuple starts (-1: the COPY header is not parsed yet)
            int start = 0;    // end of the whole tuples found so far in buffer
            int have = 0;     // bytes in buffer
            int rows = 0;     // whole tuples in buffer[first..start)
            bool trailer = false;
            while (!trailer)
            {
                if (have == buffer.Length)
                {
                    // One tuple larger than the buffer: grow it.
                    byte[] bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    Buffer.BlockCopy(buffer, 0, bigger, 0, have);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                int n = await copy.ReadAsync(buffer.AsMemory(have), ct).ConfigureAwait(false);
                if (n == 0)
                    throw new IOException($"the COPY of {piece} ended without its trailer");
                have += n;
                if (first < 0)
                {
                    if (have < CopyHeaderFixed)
                        continue;
                    int ext = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(15));
                    if (have < CopyHeaderFixed + ext)
                        continue;
                    first = start = CopyHeaderFixed + ext;
                }
                while (true)
                {
                    int len = TupleLength(buffer.AsSpan(start, have - start), columns, piece, out bool isTrailer);
                    if (len < 0)
                        break;
                    if (isTrailer)
                    {
                        trailer = true;
                        break;
                    }
                    start += len;
                    rows++;
                }
                if (start - first >= chunkBytes || (trailer && rows > 0))
                {
                    byte[] next = trailer ? buffer : ArrayPool<byte>.Shared.Rent(Math.Max(chunkBytes + 256 * 1024, have - start));
                    int tail = have - start;
                    if (!trailer)
                        Buffer.BlockCopy(buffer, start, next, 0, tail);
                    var chunk = new DumpChunk(buffer, first, start - first, rows);
                    try
                    {
                        await piece.Chunks.Writer.WriteAsync(chunk, ct).ConfigureAwait(false);
                    }
                    catch
                    {
                        if (!trailer)
                            ArrayPool<byte>.Shared.Return(next);
                        throw; // buffer is returned below
                    }
                    if (trailer)
                    {
                        buffer = null!; // handed over
                        break;
                    }
                    buffer = next;
                    first = start = rows = 0;
                    have = tail;
                }
            }
            // Drain to the end of the COPY (after the trailer) so the connection is ready for the next piece.
            byte[] drain = buffer ?? ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                while (await copy.ReadAsync(drain, ct).ConfigureAwait(false) > 0)
                {
                }
            }
            finally
            {
                if (buffer is null)
                    ArrayPool<byte>.Shared.Return(drain);
            }
        }
        finally
        {
            if (buffer is not null)
                ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private const int CopyHeaderFixed = 19; // "PGCOPY\n\377\r\n\0", flags int32, extension length int32

    /// <summary>Length of the complete tuple at the start of <paramref name="s"/>, or -1 when it is not all there.</summary>
    private static int TupleLength(ReadOnlySpan<byte> s, int expectedFields, DumpPiece piece, out bool isTrailer)
    {
        isTrailer = false;
        if (s.Length < 2)
            return -1;
        short fields = BinaryPrimitives.ReadInt16BigEndian(s);
        if (fields == -1)
        {
            isTrailer = true;
            return 2;
        }
        if (fields != expectedFields)
            throw new IOException($"the COPY of {piece} sent a row of {fields} fields, expected {expectedFields}");
        int o = 2;
        for (int f = 0; f < fields; f++)
        {
            if (s.Length - o < 4)
                return -1;
            int len = BinaryPrimitives.ReadInt32BigEndian(s[o..]);
            o += 4;
            if (len > 0)
            {
                if (s.Length - o < len)
                    return -1;
                o += len;
            }
        }
        return o;
    }

    /// <summary>Stops the readers and returns every buffer still queued.</summary>
    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_readers).ConfigureAwait(false);
        }
        catch
        {
            // Their failures reached the shipper through the queues, or nobody waits for them any more.
        }
        foreach (DumpPiece p in _pieces)
        {
            p.Chunks.Writer.TryComplete();
            while (p.Chunks.Reader.TryRead(out DumpChunk? c))
                c.Return();
        }
        _cts.Dispose();
    }
}
