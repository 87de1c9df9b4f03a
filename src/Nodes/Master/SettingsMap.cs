using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Mammoth.Log.Records;

namespace Mammoth.Nodes.Master;

/// <summary>
/// The capture's copy of <c>mammoth.replicated_tables</c>: (schema, table) → slaves and enabled. Loaded at
/// start, then changed by the settings rows the stream delivers, at their place in commit order.
/// <see cref="Version"/> moves with every change so that per-relation routing can be cached.
/// </summary>
internal sealed class SettingsMap
{
    private readonly Dictionary<(string Schema, string Table), TableSetting> _tables = [];

    public int Version { get; private set; }

    public int Count => _tables.Count;

    public IEnumerable<KeyValuePair<(string Schema, string Table), TableSetting>> Entries => _tables;

    public bool TryGet(string schema, string table, out TableSetting setting) => _tables.TryGetValue((schema, table), out setting);

    public void Set(string schema, string table, TableSetting setting)
    {
        _tables[(schema, table)] = setting;
        Version++;
    }

    public void Remove(string schema, string table)
    {
        _tables.Remove((schema, table));
        Version++;
    }

    public void Clear()
    {
        _tables.Clear();
        Version++;
    }

    public SettingsMap Clone()
    {
        var copy = new SettingsMap();
        foreach (var (k, v) in _tables)
            copy._tables[k] = v;
        return copy;
    }

    public override string ToString() =>
        string.Join(", ", _tables.OrderBy(e => e.Key).Select(e => $"{e.Key.Schema}.{e.Key.Table}→{(e.Value.Enabled ? e.Value.Slaves.ToString() : "disabled")}"));

    // ---- JSON (persisted snapshots) ---------------------------------------------------------------

    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartArray();
        foreach (var ((schema, table), s) in _tables.OrderBy(e => e.Key))
        {
            w.WriteStartObject();
            w.WriteString("schema", schema);
            w.WriteString("table", table);
            if (s.Slaves.IsAll)
            {
                w.WriteNull("slaves");
            }
            else
            {
                w.WriteStartArray("slaves");
                for (int i = 0; i <= SlaveSet.MaxSlaveNumber; i++)
                {
                    if (s.Slaves.Contains(i))
                        w.WriteNumberValue(i);
                }
                w.WriteEndArray();
            }
            w.WriteBoolean("enabled", s.Enabled);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static SettingsMap ReadJson(JsonElement array)
    {
        var map = new SettingsMap();
        foreach (JsonElement e in array.EnumerateArray())
        {
            string schema = e.GetProperty("schema").GetString() ?? throw new FormatException("schema missing");
            string table = e.GetProperty("table").GetString() ?? throw new FormatException("table missing");
            JsonElement slaves = e.GetProperty("slaves");
            int[]? list = slaves.ValueKind == JsonValueKind.Null ? null : slaves.EnumerateArray().Select(x => x.GetInt32()).ToArray();
            map._tables[(schema, table)] = new TableSetting(TableSetting.SlavesFrom(list), e.GetProperty("enabled").GetBoolean());
        }
        return map;
    }

    // ---- binary values of replicated_tables columns, as pgoutput sends them -------------------------

    /// <summary>A <c>name</c> or <c>text</c> value: its UTF-8 bytes.</summary>
    public static string DecodeText(ReadOnlySpan<byte> value) => Encoding.UTF8.GetString(value);

    /// <summary>A <c>boolean</c>: one byte.</summary>
    public static bool DecodeBool(ReadOnlySpan<byte> value) => value.Length == 1 ? value[0] != 0 : throw new FormatException("boolean of unexpected length");

    /// <summary>
    /// A one-dimensional <c>integer[]</c> in binary form: ndim i32, has-nulls i32, element type oid, then per
    /// dimension (length i32, lower bound i32), then per element (length i32 or -1, value).
    /// </summary>
    public static int[] DecodeInt4Array(ReadOnlySpan<byte> value)
    {
        if (value.Length < 12)
            throw new FormatException("integer[] value is too short");
        int ndim = BinaryPrimitives.ReadInt32BigEndian(value);
        if (ndim == 0)
            return [];
        if (ndim != 1 || value.Length < 20)
            throw new FormatException($"integer[] with {ndim} dimensions where one was expected");
        int n = BinaryPrimitives.ReadInt32BigEndian(value[12..]);
        if (n < 0 || n > 4096)
            throw new FormatException("integer[] length out of range");
        var result = new List<int>(n);
        int o = 20;
        for (int i = 0; i < n; i++)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(value[o..]);
            o += 4;
            if (len == -1)
                continue;
            if (len != 4)
                throw new FormatException("integer[] element of unexpected length");
            result.Add(BinaryPrimitives.ReadInt32BigEndian(value[o..]));
            o += 4;
        }
        return [.. result];
    }
}
