using Mammoth.Net.Configuration;

namespace Mammoth.Net.Tests;

/// <summary>One setting of every kind, for testing the reader apart from the real files.</summary>
internal static class TestSchema
{
    public static ConfigSchema Instance { get; } = new(
    [
        new("flag", SettingKind.Bool, "off", "A boolean."),
        new("count", SettingKind.Int, "5", "An integer.") { Min = 1, Max = 64 },
        new("ratio", SettingKind.Real, "0.5", "A real.") { Min = 0, Max = 1 },
        new("name", SettingKind.String, "", "A string."),
        new("level", SettingKind.Enum, "LOG", "An enum.") { EnumValues = ["LOG", "DEBUG1"], ValueWord = "log level" },
        new("buffer", SettingKind.Size, "64MB", "A size.") { Min = 1024 },
        new("timeout", SettingKind.Time, "15s", "A time.") { Min = 0, Max = 86400 },
        new("items", SettingKind.List, "", "A list."),
        new("big", SettingKind.Int, "0", "An unbounded integer."),
    ]);
}
