using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Mammoth.Net.Diagnostics;

/// <summary>
/// Formats <c>log.Write(level, $"…")</c> only when <paramref name="level"/> passes the log's filter, into a
/// pooled buffer, so a filtered-out DEBUG line costs one comparison and no allocation.
/// </summary>
[InterpolatedStringHandler]
public ref struct MammothLogInterpolatedStringHandler
{
    private char[]? _buffer;
    private int _length;

    public MammothLogInterpolatedStringHandler(int literalLength, int formattedCount, MammothLog log, PgLogLevel level, out bool shouldAppend)
    {
        _length = 0;
        if (!log.IsEnabled(level))
        {
            _buffer = null;
            shouldAppend = false;
            return;
        }
        _buffer = ArrayPool<char>.Shared.Rent(Math.Max(256, literalLength + formattedCount * 16));
        shouldAppend = true;
    }

    internal readonly bool HasText => _buffer is not null;

    /// <summary>The formatted text; valid until <see cref="Clear"/>.</summary>
    internal readonly ReadOnlySpan<char> Text => _buffer.AsSpan(0, _length);

    public void AppendLiteral(string value) => AppendSpan(value);

    public void AppendFormatted(string? value) => AppendSpan(value);

    public void AppendFormatted(ReadOnlySpan<char> value) => AppendSpan(value);

    public void AppendFormatted<T>(T value) => AppendFormatted(value, null);

    public void AppendFormatted<T>(T value, string? format)
    {
        if (_buffer is null)
        {
            return;
        }
        if (value is ISpanFormattable)
        {
            // The cast on a generic T is a constrained call for value types: no boxing.
            int written;
            while (!((ISpanFormattable)value).TryFormat(_buffer.AsSpan(_length), out written, format, CultureInfo.InvariantCulture))
            {
                Grow(_buffer.Length);
            }
            _length += written;
            return;
        }
        AppendSpan(value is IFormattable formattable
            ? formattable.ToString(format, CultureInfo.InvariantCulture)
            : value?.ToString());
    }

    /// <summary>Returns the buffer to the pool; the handler is empty afterwards.</summary>
    internal void Clear()
    {
        var buffer = _buffer;
        _buffer = null;
        _length = 0;
        if (buffer is not null)
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private void AppendSpan(ReadOnlySpan<char> value)
    {
        if (_buffer is null)
        {
            return;
        }
        if (_buffer.Length - _length < value.Length)
        {
            Grow(value.Length);
        }
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    private void Grow(int atLeast)
    {
        var bigger = ArrayPool<char>.Shared.Rent(Math.Max(_buffer!.Length * 2, _length + atLeast));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<char>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
