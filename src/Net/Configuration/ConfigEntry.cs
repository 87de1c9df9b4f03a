namespace Mammoth.Net.Configuration;

/// <summary>One <c>name = value</c> line as read from the file, before the schema has looked at it.</summary>
/// <param name="Name">The name in lower case.</param>
/// <param name="WrittenName">The name as written, for messages.</param>
/// <param name="Value">The value with quotes and escapes removed.</param>
/// <param name="Line">The 1-based line number.</param>
internal readonly record struct ConfigEntry(string Name, string WrittenName, string Value, int Line);
