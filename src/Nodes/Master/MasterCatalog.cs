using Npgsql;
using NpgsqlTypes;

namespace Mammoth.Nodes.Master;

/// <summary>What the capture checks and reads in the master database before it streams.</summary>
internal static class MasterCatalog
{
    public const string SlotName = "mammoth";
    public const string PublicationName = "mammoth";

    /// <summary>Facts read at start.</summary>
    public sealed record Setup(bool SlotExists, TimeSpan WalSenderTimeout);

    /// <summary>
    /// Checks the catalog and wal_level, records the role (<c>set_node_role('master', NULL)</c>), creates the
    /// publication if it is missing, and checks slot <c>mammoth</c> if it exists.
    /// </summary>
    public static async Task<Setup> PrepareAsync(NpgsqlConnection c, CancellationToken ct)
    {
        bool installed;
        string walLevel;
        long senderTimeoutMs;
        bool publication;
        await using (var cmd = new NpgsqlCommand(
            """
            SELECT to_regclass('mammoth.node_info') IS NOT NULL AND to_regprocedure('mammoth.set_node_role(text,integer)') IS NOT NULL,
                   current_setting('wal_level'),
                   (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_sender_timeout'),
                   EXISTS (SELECT FROM pg_publication WHERE pubname = 'mammoth')
            """, c))
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            await r.ReadAsync(ct).ConfigureAwait(false);
            installed = r.GetBoolean(0);
            walLevel = r.GetString(1);
            senderTimeoutMs = r.GetInt64(2);
            publication = r.GetBoolean(3);
        }
        if (!installed)
        {
            throw new MasterSetupException(
                $"the MammothFast catalog (schema mammoth) is not installed in database {c.Database}; run init-mammoth-database on it");
        }
        if (walLevel != "logical")
        {
            throw new MasterSetupException(
                $"wal_level is {walLevel} on the master and capture needs logical; set wal_level = logical in postgresql.conf and restart PostgreSQL");
        }
        await using (var role = new NpgsqlCommand("SELECT mammoth.node_role()", c))
        {
            if (await role.ExecuteScalarAsync(ct).ConfigureAwait(false) is "slave")
            {
                throw new MasterSetupException(
                    $"database {c.Database} is a slave (mammoth.node_role() is slave) and a master agent does not capture from a slave; set replication_mode = slave in the node file, or promote this node first");
            }
        }
        await ExecAsync(c, "SELECT mammoth.set_node_role('master', NULL)", ct).ConfigureAwait(false);
        if (!publication)
            await ExecAsync(c, "SELECT mammoth.sync_publication()", ct).ConfigureAwait(false);

        bool slotExists = false;
        await using (var cmd = new NpgsqlCommand(
            "SELECT slot_type, plugin, database FROM pg_replication_slots WHERE slot_name = $1", c))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = SlotName });
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                slotExists = true;
                string type = r.GetString(0);
                string? plugin = r.IsDBNull(1) ? null : r.GetString(1);
                string? database = r.IsDBNull(2) ? null : r.GetString(2);
                if (type != "logical" || plugin != "pgoutput")
                {
                    throw new MasterSetupException(
                        "replication slot mammoth exists but is not a logical pgoutput slot; drop it (SELECT pg_drop_replication_slot('mammoth')) and start the agent again, which recreates it");
                }
                if (database != c.Database)
                {
                    throw new MasterSetupException(
                        $"replication slot mammoth belongs to database {database}, not {c.Database}; MammothFast replicates one database per cluster: fix replication_database or drop that slot");
                }
            }
        }
        TimeSpan senderTimeout = senderTimeoutMs > 0 ? TimeSpan.FromMilliseconds(senderTimeoutMs) : Timeout.InfiniteTimeSpan;
        return new Setup(slotExists, senderTimeout);
    }

    /// <summary>The slot's confirmed_flush_lsn, or null when the slot is missing.</summary>
    public static async Task<ulong?> ConfirmedFlushAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = SlotName });
        object? v = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return v is NpgsqlLogSequenceNumber lsn ? (ulong)lsn : null;
    }

    /// <summary>Every row of mammoth.replicated_tables.</summary>
    public static async Task<SettingsMap> ReadSettingsAsync(NpgsqlConnection c, CancellationToken ct)
    {
        var map = new SettingsMap();
        await using var cmd = new NpgsqlCommand("SELECT schema_name::text, table_name::text, slaves, enabled FROM mammoth.replicated_tables", c);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            int[]? slaves = r.IsDBNull(2) ? null : r.GetFieldValue<int[]>(2);
            map.Set(r.GetString(0), r.GetString(1), new TableSetting(TableSetting.SlavesFrom(slaves), r.GetBoolean(3)));
        }
        return map;
    }

    /// <summary>SQL names of types (<c>format_type(oid, NULL)</c>; schema-qualified outside pg_catalog).</summary>
    public static async Task ResolveTypeNamesAsync(NpgsqlConnection c, IReadOnlyCollection<uint> oids, Dictionary<uint, string> into, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT t.oid, format_type(t.oid, NULL) FROM pg_catalog.pg_type AS t WHERE t.oid = ANY($1)", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = oids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Oid });
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            into[r.GetFieldValue<uint>(0)] = r.GetString(1);
    }

    /// <summary>Names of the primary-key columns of a relation (empty when it has none).</summary>
    public static async Task<HashSet<string>> PrimaryKeyColumnsAsync(NpgsqlConnection c, uint relationOid, CancellationToken ct)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        await using var cmd = new NpgsqlCommand(
            """
            SELECT a.attname::text FROM pg_catalog.pg_index AS i
              JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = $1 AND i.indisprimary
            """, c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = relationOid, NpgsqlDbType = NpgsqlDbType.Oid });
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            names.Add(r.GetString(0));
        return names;
    }

    public static async Task ExecAsync(NpgsqlConnection c, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
