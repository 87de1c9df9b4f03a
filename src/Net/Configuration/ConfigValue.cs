namespace Mammoth.Net.Configuration;

/// <summary>A setting's value after reading: from the file (with its line) or the default (no line).</summary>
/// <param name="Definition">The setting.</param>
/// <param name="Value">
/// bool for Bool, long for Int and Size (bytes), double for Real, string for String and Enum (the
/// canonical word), TimeSpan for Time, IReadOnlyList&lt;string&gt; for List; null when unset without default.
/// </param>
/// <param name="Text">The value as written (quotes removed), or the default's text.</param>
/// <param name="Line">The line that set it; null for a default.</param>
internal sealed record ConfigValue(SettingDefinition Definition, object? Value, string? Text, int? Line)
{
    public bool SameValueAs(ConfigValue other) => (Value, other.Value) switch
    {
        (IReadOnlyList<string> a, IReadOnlyList<string> b) => a.SequenceEqual(b, StringComparer.Ordinal),
        var (a, b) => Equals(a, b),
    };
}
