namespace Mammoth.Net.Configuration;

/// <summary>The outcome of <see cref="ValueParsers.TryParseWithUnit"/>.</summary>
internal enum UnitParse
{
    Ok,
    BadNumber,
    BadUnit,
    OutOfRange,
}
