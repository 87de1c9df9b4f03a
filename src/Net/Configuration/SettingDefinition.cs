namespace Mammoth.Net.Configuration;

/// <summary>One setting of a configuration file: its name, how its value is read, and what it is for.</summary>
internal sealed class SettingDefinition
{
    public SettingDefinition(string name, SettingKind kind, string? defaultText, string description)
    {
        Name = name;
        Kind = kind;
        DefaultText = defaultText;
        Description = description;
    }

    /// <summary>The lower-case name, exactly as the guide spells it.</summary>
    public string Name { get; }

    public SettingKind Kind { get; }

    /// <summary>The default, written as it would be in the file; null when the setting has no default (unset).</summary>
    public string? DefaultText { get; }

    /// <summary>One line for docs and tools.</summary>
    public string Description { get; }

    /// <summary>Whether a running process applies a new value on SIGHUP; otherwise a change needs a restart.</summary>
    public bool Reloadable { get; init; }

    /// <summary>The file must set this setting (to a non-empty value, for strings).</summary>
    public bool Required { get; init; }

    /// <summary>Lower bound in the kind's unit: the number for Int and Real, bytes for Size, seconds for Time.</summary>
    public double? Min { get; init; }

    /// <summary>Upper bound, in the same unit as <see cref="Min"/>.</summary>
    public double? Max { get; init; }

    /// <summary>The accepted words of an Enum setting, in their canonical spelling.</summary>
    public IReadOnlyList<string> EnumValues { get; init; } = [];

    /// <summary>How to fix a bad value, e.g. "use a TCP port between 1 and 65535"; a generic one is built when null.</summary>
    public string? Hint { get; init; }

    /// <summary>What the value is, for "is not a valid …" (e.g. "log level"); the kind's word when null.</summary>
    public string? ValueWord { get; init; }

    /// <summary>An example value as it would be written, used when a required setting is missing.</summary>
    public string? Example { get; init; }
}
