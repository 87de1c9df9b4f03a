using System.Buffers;

namespace Mammoth.Log.Storage;

/// <summary>
/// Exposes a mapped region as <see cref="Memory{T}"/> so records can go to a socket straight from the
/// mapping. The owner (a <see cref="Segment"/>) keeps the mapping alive; the memory is valid while the
/// caller holds a lease on that segment.
/// </summary>
internal sealed unsafe class MappedMemory(byte* pointer, int length) : MemoryManager<byte>
{
    private byte* _pointer = pointer;
    private readonly int _length = length;

    public override Span<byte> GetSpan() => new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length);
        return new MemoryHandle(_pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing) => _pointer = null;
}
