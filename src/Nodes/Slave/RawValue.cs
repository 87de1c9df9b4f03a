namespace Mammoth.Nodes.Slave;

/// <summary>
/// A parameter value that is already in PostgreSQL's binary format (a field of a COPY tuple), sent as is
/// with the type named by the parameter's DataTypeName. See <see cref="RawValueResolverFactory"/>.
/// </summary>
/// <remarks>A struct over the record buffer: setting it on a reused parameter allocates nothing.</remarks>
internal readonly struct RawValue
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly bool _isNull;

    public RawValue(ReadOnlyMemory<byte> bytes)
    {
        _bytes = bytes;
        _isNull = false;
    }

    private RawValue(bool isNull)
    {
        _bytes = default;
        _isNull = isNull;
    }

    public static RawValue Null => new(isNull: true);

    public bool IsNull => _isNull;

    public ReadOnlyMemory<byte> Bytes => _bytes;
}
