namespace Mammoth.Net.Configuration;

/// <summary>Every setting of one file, validated one by one against its schema, with the lines that set them.</summary>
internal sealed class ConfigValues
{
    private readonly Dictionary<string, ConfigValue> _values;
    private readonly List<string> _warnings;

    public ConfigValues(ConfigSchema schema, string fileName, Dictionary<string, ConfigValue> values, List<string> warnings)
    {
        Schema = schema;
        FileName = fileName;
        _values = values;
        _warnings = warnings;
    }

    public ConfigSchema Schema { get; }

    public string FileName { get; }

    /// <summary>Things worth a WARNING line that do not stop the program (a setting given twice, …).</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    public ConfigValue this[string name] => _values[name];

    public bool IsSet(string name) => _values[name].Line is not null;

    public int? LineOf(string name) => _values[name].Line;

    public bool GetBool(string name) => (bool)_values[name].Value!;

    public long? GetInt(string name) => (long?)_values[name].Value;

    public double? GetReal(string name) => (double?)_values[name].Value;

    public long GetSize(string name) => (long)_values[name].Value!;

    public TimeSpan GetTime(string name) => (TimeSpan)_values[name].Value!;

    /// <summary>The string, or "" when unset.</summary>
    public string GetString(string name) => (string?)_values[name].Value ?? "";

    /// <summary>The canonical word, or null when unset.</summary>
    public string? GetEnum(string name) => (string?)_values[name].Value;

    public IReadOnlyList<string> GetList(string name) => (IReadOnlyList<string>?)_values[name].Value ?? [];

    public void AddWarning(string name, string problem) =>
        _warnings.Add(ConfigException.Where(FileName, LineOf(name)) + ": " + problem);

    /// <summary>An error about <paramref name="name"/>, located at the line that set it when there is one.</summary>
    public ConfigException Error(string name, string problem) => new(FileName, LineOf(name), name, problem);

    /// <summary>The settings whose values differ, in schema order; only the ones SIGHUP cannot apply when asked.</summary>
    public static IReadOnlyList<string> Changed(ConfigValues before, ConfigValues after, bool notReloadableOnly)
    {
        var changed = new List<string>();
        foreach (var definition in before.Schema.Definitions)
        {
            if (notReloadableOnly && definition.Reloadable)
            {
                continue;
            }
            if (!before[definition.Name].SameValueAs(after[definition.Name]))
            {
                changed.Add(definition.Name);
            }
        }
        return changed;
    }
}
