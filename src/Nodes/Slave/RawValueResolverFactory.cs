using Npgsql.Internal;
using Npgsql.Internal.Postgres;

namespace Mammoth.Nodes.Slave;

#pragma warning disable NPG9001 // Npgsql's converter API is marked experimental; it is the only way to send pre-encoded binary values.

/// <summary>
/// Lets Npgsql send <see cref="RawValue"/> parameters: the bytes go out unchanged, in binary format, as
/// the PostgreSQL type the parameter's DataTypeName names. The values of a record are the master's binary
/// send() output (byte-identical to COPY binary, see docs/dev/npgsql-pgoutput.md §3), so a prepared
/// statement can take them without decoding: numeric NaN, infinities, arrays with the master's element
/// OIDs and composites all reach the server's recv() functions exactly as COPY would hand them over.
/// </summary>
internal sealed class RawValueResolverFactory : PgTypeInfoResolverFactory
{
    public override IPgTypeInfoResolver CreateResolver() => new Resolver();

    public override IPgTypeInfoResolver? CreateArrayResolver() => null;

    private sealed class Resolver : IPgTypeInfoResolver
    {
        private static readonly RawValueConverter s_converter = new();

        public PgTypeInfo? GetTypeInfo(Type? type, DataTypeName? dataTypeName, PgSerializerOptions options) =>
            type == typeof(RawValue) && dataTypeName is { } name ? new PgTypeInfo(options, s_converter, name, null) : null;
    }

    private sealed class RawValueConverter : PgStreamingConverter<RawValue>
    {
        public RawValueConverter() : base(customDbNullPredicate: true)
        {
        }

        protected override bool IsDbNullValue(RawValue value, ref object? writeState) => value.IsNull;

        public override RawValue Read(PgReader reader) => throw new NotSupportedException("RawValue is for parameters only");

        public override ValueTask<RawValue> ReadAsync(PgReader reader, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("RawValue is for parameters only");

        public override Size GetSize(SizeContext context, RawValue value, ref object? writeState) => value.Bytes.Length;

        public override void Write(PgWriter writer, RawValue value) => writer.WriteBytes(value.Bytes.Span);

        public override ValueTask WriteAsync(PgWriter writer, RawValue value, CancellationToken cancellationToken = default) =>
            writer.WriteBytesAsync(value.Bytes, cancellationToken);
    }
}
