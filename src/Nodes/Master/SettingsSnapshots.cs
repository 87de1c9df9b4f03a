using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Mammoth.Nodes.Master;

/// <summary>
/// The settings map as of past points of the stream, kept in <c>mammoth.node_info</c> (key
/// <c>master_settings</c>; local, never published) so that a restarted agent stamps re-streamed transactions
/// with the settings of their own time, not today's.
/// </summary>
/// <remarks>
/// <para>Why: after a restart the slot re-sends every transaction from its confirmed position P, but
/// <c>mammoth.replicated_tables</c> read now may already hold later changes (a table disabled, a slave list
/// narrowed after P). Those changes are in the re-sent stream and are applied again when reached; what is
/// needed is the map as of P.</para>
/// <para>How: after every transaction that changed the settings, and before its commit can be confirmed to
/// the slot, the map after it is stored with that transaction's end LSN. On start the newest snapshot whose
/// LSN is ≤ the slot's <c>confirmed_flush_lsn</c> is the map as of P: every later settings change is
/// re-streamed. Snapshots older than that one are pruned on each write (against the server's
/// confirmed_flush_lsn, not the agent's, since the agent's confirmation may not have reached the server).</para>
/// <para>Tables missing from the snapshot are taken from the catalog as read now: either their row came later
/// (the stream applies it again; no change of that table can be in the stream before it, since the table
/// was not in the publication), or it is the first enable, whose row was written by the transaction that
/// created the slot and is not in the stream at all.</para>
/// </remarks>
internal sealed class SettingsSnapshots
{
    public const string Key = "master_settings";
    private readonly List<(ulong Lsn, SettingsMap Map)> _snapshots;

    private SettingsSnapshots(List<(ulong, SettingsMap)> snapshots) => _snapshots = snapshots;

    public int Count => _snapshots.Count;

    public static SettingsSnapshots Empty() => new([]);

    /// <summary>Reads the stored snapshots; a damaged value counts as none (with a warning from the caller).</summary>
    public static async Task<(SettingsSnapshots Snapshots, string? Problem)> LoadAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT value FROM mammoth.node_info WHERE key = $1", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = Key });
        object? value = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        if (value is not string text)
            return (Empty(), null);
        try
        {
            using JsonDocument doc = JsonDocument.Parse(text);
            var list = new List<(ulong, SettingsMap)>();
            foreach (JsonElement s in doc.RootElement.GetProperty("snapshots").EnumerateArray())
                list.Add((s.GetProperty("lsn").GetUInt64(), SettingsMap.ReadJson(s.GetProperty("tables"))));
            list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
            return (new SettingsSnapshots(list), null);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            return (Empty(), $"mammoth.node_info key {Key} is damaged ({ex.Message}); the settings are read from mammoth.replicated_tables instead");
        }
    }

    /// <summary>The newest snapshot at or before <paramref name="lsn"/>, or null.</summary>
    public SettingsMap? AsOf(ulong lsn)
    {
        SettingsMap? found = null;
        foreach ((ulong at, SettingsMap map) in _snapshots)
        {
            if (at <= lsn)
                found = map;
        }
        return found?.Clone();
    }

    /// <summary>Stores the map after the transaction ending at <paramref name="lsn"/>, pruning what the slot passed.</summary>
    public async Task SaveAsync(NpgsqlConnection c, ulong lsn, SettingsMap map, CancellationToken ct)
    {
        ulong confirmed = await MasterCatalog.ConfirmedFlushAsync(c, ct).ConfigureAwait(false) ?? 0;
        int newestPassed = -1;
        for (int i = 0; i < _snapshots.Count; i++)
        {
            if (_snapshots[i].Lsn <= confirmed)
                newestPassed = i;
        }
        if (newestPassed > 0)
            _snapshots.RemoveRange(0, newestPassed);
        _snapshots.RemoveAll(s => s.Lsn >= lsn); // re-streamed after a reconnect: replace
        _snapshots.Add((lsn, map.Clone()));

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("version", 1);
            w.WriteStartArray("snapshots");
            foreach ((ulong at, SettingsMap m) in _snapshots)
            {
                w.WriteStartObject();
                w.WriteNumber("lsn", at);
                w.WritePropertyName("tables");
                m.WriteJson(w);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        string json = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO mammoth.node_info (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = Key });
        cmd.Parameters.Add(new NpgsqlParameter { Value = json, NpgsqlDbType = NpgsqlDbType.Text });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
