namespace Mammoth.Log.Types;

/// <summary>One field of a <see cref="CopyTuple"/>: NULL, or the type's binary send bytes.</summary>
public readonly ref struct CopyField
{
    internal CopyField(ReadOnlySpan<byte> value, bool isNull)
    {
        Value = value;
        IsNull = isNull;
    }

    /// <summary>True for SQL NULL (length -1 in the stream); <see cref="Value"/> is then empty.</summary>
    public bool IsNull { get; }

    /// <summary>The value's bytes (empty for NULL and for a zero-length value).</summary>
    public ReadOnlySpan<byte> Value { get; }
}
