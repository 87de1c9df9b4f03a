using System.Buffers.Binary;

namespace Mammoth.Log.Types;

/// <summary>
/// One validated binary-COPY tuple: <c>field count i16, then per field length i32 (-1 = NULL) and bytes</c>.
/// Enumerate it with <c>foreach</c> to get its fields in order.
/// </summary>
public readonly ref struct CopyTuple
{
    internal CopyTuple(ReadOnlySpan<byte> raw, int fieldCount)
    {
        Raw = raw;
        FieldCount = fieldCount;
    }

    /// <summary>The tuple's bytes as they appear in the stream, field count included.</summary>
    public ReadOnlySpan<byte> Raw { get; }

    /// <summary>Number of fields.</summary>
    public int FieldCount { get; }

    /// <summary>The field at <paramref name="index"/> (walks the tuple: O(index)).</summary>
    public CopyField this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, FieldCount);
            var enumerator = GetEnumerator();
            for (int i = 0; i <= index; i++)
                enumerator.MoveNext();
            return enumerator.Current;
        }
    }

    public Enumerator GetEnumerator() => new(Raw);

    /// <summary>Walks the fields of a tuple that <see cref="CopyBinaryReader"/> has validated.</summary>
    public ref struct Enumerator
    {
        private readonly ReadOnlySpan<byte> _raw;
        private int _position;
        private CopyField _current;

        internal Enumerator(ReadOnlySpan<byte> raw)
        {
            _raw = raw;
            _position = 2;
            _current = default;
        }

        public readonly CopyField Current => _current;

        public bool MoveNext()
        {
            if (_position >= _raw.Length)
                return false;
            int length = BinaryPrimitives.ReadInt32BigEndian(_raw[_position..]);
            _position += 4;
            if (length < 0)
            {
                _current = new CopyField(default, isNull: true);
                return true;
            }
            _current = new CopyField(_raw.Slice(_position, length), isNull: false);
            _position += length;
            return true;
        }
    }
}
