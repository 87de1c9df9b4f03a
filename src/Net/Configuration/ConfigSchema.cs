using System.Globalization;
using Mammoth.Net.Diagnostics;

namespace Mammoth.Net.Configuration;

/// <summary>
/// The settings one kind of file may hold, and the reading of such a file: syntax, names, then each
/// value by its kind. Cross-setting rules belong to the typed settings class built on top.
/// </summary>
internal sealed class ConfigSchema
{
    private readonly Dictionary<string, SettingDefinition> _byName;
    private readonly Func<string, string?> _wrongFileHint;

    /// <param name="definitions">The settings, in the order docs list them.</param>
    /// <param name="wrongFileHint">
    /// For an unknown name, an explanation when it belongs to another file (e.g. a replication_* setting in
    /// mcp_server.conf), or null.
    /// </param>
    public ConfigSchema(IReadOnlyList<SettingDefinition> definitions, Func<string, string?>? wrongFileHint = null)
    {
        Definitions = definitions;
        _byName = definitions.ToDictionary(d => d.Name, StringComparer.Ordinal);
        _wrongFileHint = wrongFileHint ?? (_ => null);
        // Defaults go through the same reader as the file, so a bad default fails every test at once.
        foreach (var definition in definitions)
        {
            if (definition.DefaultText is { } text)
            {
                Convert(definition, text, null, "(defaults)");
            }
        }
    }

    public IReadOnlyList<SettingDefinition> Definitions { get; }

    public SettingDefinition? Find(string name) => _byName.GetValueOrDefault(name.ToLowerInvariant());

    /// <summary>Reads the file at <paramref name="path"/>; messages name it as given.</summary>
    /// <exception cref="ConfigException">The file cannot be read, or holds a mistake.</exception>
    public ConfigValues Load(string path)
    {
        string text;
        try
        {
            if (Directory.Exists(path))
            {
                throw new ConfigException($"cannot read configuration file \"{path}\": Is a directory.");
            }
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigException($"cannot read configuration file \"{path}\": {IoErrors.Describe(ex)}.", ex);
        }
        return Parse(text, path);
    }

    /// <summary>Reads configuration text; <paramref name="fileName"/> is only used in messages.</summary>
    /// <exception cref="ConfigException">The text holds a mistake.</exception>
    public ConfigValues Parse(string text, string fileName)
    {
        var winners = new Dictionary<string, ConfigEntry>(StringComparer.Ordinal);
        var warnings = new List<string>();
        foreach (var entry in ConfigLexer.Read(text, fileName))
        {
            var definition = Find(entry.Name) ?? throw UnknownSetting(entry, fileName);
            if (winners.TryGetValue(definition.Name, out var earlier))
            {
                // Last one wins, as in PostgreSQL; say so, since the earlier line is silently dead.
                warnings.Add($"{fileName} line {earlier.Line}: {definition.Name} is set again on line {entry.Line}, which wins.");
            }
            winners[definition.Name] = entry;
        }

        var values = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        foreach (var entry in winners.Values.OrderBy(e => e.Line))
        {
            values[entry.Name] = Convert(_byName[entry.Name], entry.Value, entry.Line, fileName);
        }
        foreach (var definition in Definitions)
        {
            if (!values.ContainsKey(definition.Name))
            {
                values[definition.Name] = definition.DefaultText is { } defaultText
                    ? Convert(definition, defaultText, null, fileName)
                    : new ConfigValue(definition, null, null, null);
            }
            var value = values[definition.Name];
            if (!definition.Required)
            {
                continue;
            }
            if (value.Line is null)
            {
                throw new ConfigException(fileName, null, definition.Name,
                    $"{definition.Name} is not set; add a line such as {definition.Name} = {definition.Example ?? "..."}.");
            }
            if (value.Value is string { Length: 0 })
            {
                throw new ConfigException(fileName, value.Line, definition.Name,
                    $"{definition.Name} is empty; set it, for example {definition.Name} = {definition.Example ?? "..."}.");
            }
        }
        return new ConfigValues(this, fileName, values, warnings);
    }

    private ConfigException UnknownSetting(ConfigEntry entry, string fileName)
    {
        var problem = $"unknown setting \"{entry.WrittenName}\"";
        if (EditDistance.Suggest(entry.Name, Definitions.Select(d => d.Name)) is { } suggestion)
        {
            problem += $"; did you mean \"{suggestion}\"?";
        }
        else if (_wrongFileHint(entry.Name) is { } hint)
        {
            problem += "; " + hint + ".";
        }
        else
        {
            problem += "; check its spelling against docs/configuration.md or remove the line.";
        }
        return new ConfigException(fileName, entry.Line, entry.Name, problem);
    }

    private static ConfigValue Convert(SettingDefinition definition, string text, int? line, string fileName)
    {
        object? value = definition.Kind switch
        {
            SettingKind.Bool => ValueParsers.TryParseBool(text, out var b) ? b : null,
            SettingKind.Int => ValueParsers.TryParseInteger(text, out var l) ? l : null,
            SettingKind.Real => ValueParsers.TryParseReal(text, out var r) ? r : null,
            SettingKind.String => text,
            SettingKind.Enum => definition.EnumValues.FirstOrDefault(e => e.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase)),
            SettingKind.Size => ParseWithUnit(definition, text, line, fileName, ValueParsers.SizeUnits, 1),
            SettingKind.Time => ParseWithUnit(definition, text, line, fileName, ValueParsers.TimeUnits, TimeSpan.TicksPerSecond) is long ticks
                ? TimeSpan.FromTicks(ticks)
                : null,
            SettingKind.List => SplitList(definition, text, line, fileName),
            _ => throw new InvalidOperationException($"setting kind {definition.Kind} is not handled"),
        };
        if (value is null)
        {
            throw Invalid(definition, text, line, fileName, "is not a valid " + ValueWord(definition));
        }

        var number = value switch
        {
            long n => (double?)n,
            double d => d,
            TimeSpan t => t.TotalSeconds,
            _ => null,
        };
        if (number is { } x && (x < definition.Min || x > definition.Max))
        {
            throw Invalid(definition, text, line, fileName, "is out of range");
        }
        return new ConfigValue(definition, value, text, line);
    }

    private static long? ParseWithUnit(SettingDefinition definition, string text, int? line, string fileName, (string Unit, long Factor)[] units, long bareFactor)
    {
        switch (ValueParsers.TryParseWithUnit(text, units, bareFactor, out var value, out var unit))
        {
            case UnitParse.Ok:
                return value;
            case UnitParse.BadUnit:
                var names = string.Join(", ", units[..^1].Select(u => u.Unit)) + " or " + units[^1].Unit;
                throw new ConfigException(fileName, line, definition.Name,
                    $"{definition.Name} = '{Quote(text)}' has an unknown unit \"{unit}\"; use {names} (units are case-sensitive).");
            case UnitParse.OutOfRange:
                throw Invalid(definition, text, line, fileName, "is out of range");
            default:
                return null;
        }
    }

    private static List<string>? SplitList(SettingDefinition definition, string text, int? line, string fileName)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        var items = text.Split(',').Select(item => item.Trim()).ToList();
        if (items.Any(item => item.Length == 0))
        {
            throw new ConfigException(fileName, line, definition.Name,
                $"{definition.Name} = '{Quote(text)}' has an empty item; separate the items with single commas.");
        }
        return items;
    }

    private static ConfigException Invalid(SettingDefinition definition, string text, int? line, string fileName, string what) =>
        new(fileName, line, definition.Name, $"{definition.Name} = '{Quote(text)}' {what}; {Hint(definition)}.");

    private static string ValueWord(SettingDefinition definition) => definition.ValueWord ?? definition.Kind switch
    {
        SettingKind.Bool => "boolean",
        SettingKind.Int => "integer",
        SettingKind.Real => "number",
        SettingKind.Size => "size",
        SettingKind.Time => "time",
        _ => "value",
    };

    /// <summary>How to write a good value, for the second half of an error sentence.</summary>
    internal static string Hint(SettingDefinition definition)
    {
        if (definition.Hint is { } hint)
        {
            return hint;
        }
        var range = RangeText(definition);
        return definition.Kind switch
        {
            SettingKind.Bool => "use on or off",
            SettingKind.Int => "use an integer" + range,
            SettingKind.Real => "use a number" + range,
            SettingKind.Size => "use a size" + (range.Length > 0 ? range : " such as 64MB") + " (units B, kB, MB, GB, TB)",
            SettingKind.Time => "use a time" + (range.Length > 0 ? range : " such as 15s") + " (units us, ms, s, min, h, d; a bare number means seconds)",
            SettingKind.Enum => "use one of " + string.Join(", ", definition.EnumValues),
            _ => "check the value against docs/configuration.md",
        };
    }

    /// <summary>" between 1 and 64", " of at least 1MB", or "" — in the kind's own units.</summary>
    internal static string RangeText(SettingDefinition definition)
    {
        string Format(double v) => definition.Kind switch
        {
            SettingKind.Size => ValueParsers.FormatSize((long)v),
            SettingKind.Time => ValueParsers.FormatTime(TimeSpan.FromSeconds(v)),
            _ => v.ToString(CultureInfo.InvariantCulture),
        };
        return (definition.Min, definition.Max) switch
        {
            ({ } min, { } max) => $" between {Format(min)} and {Format(max)}",
            ({ } min, null) => $" of at least {Format(min)}",
            (null, { } max) => $" of at most {Format(max)}",
            _ => "",
        };
    }

    /// <summary>The value as it would be written inside single quotes.</summary>
    internal static string Quote(string text) => text.Replace("'", "''", StringComparison.Ordinal);
}
