using Npgsql;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// Slave write protection: every table enabled for this slave in the slave's own copy of
/// mammoth.replicated_tables (it arrives through the stream like any table) refuses writes from ordinary
/// sessions (mammoth.protect_table); when replication_slave_allow_writes = on, or a table is disabled or
/// no longer meant for this slave, the protection comes off again (mammoth.unprotect_table).
/// </summary>
internal static class SlaveProtection
{
    /// <summary>Brings the triggers in line; returns the tables protected and unprotected by this call.</summary>
    public static async Task<(List<string> Protected, List<string> Unprotected)> SyncAsync(NpgsqlConnection conn, int slaveNo, bool allowWrites, CancellationToken ct)
    {
        var toProtect = new List<string>();
        var toUnprotect = new List<string>();
        await using (var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false))
        {
            // A table (or a partition of it) being read for a long time should not stall replication: give up
            // after a while and try again at the next sync.
            await using (var timeout = new NpgsqlCommand("SET LOCAL lock_timeout = '5s'", conn, tx))
                await timeout.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand("""
                WITH wanted AS (
                    SELECT c.oid AS rel
                      FROM mammoth.replicated_tables AS r
                      JOIN pg_catalog.pg_namespace AS n ON n.nspname = r.schema_name
                      JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = r.table_name AND c.relkind IN ('r', 'p')
                     WHERE r.enabled AND (r.slaves IS NULL OR $1 = ANY (r.slaves)) AND NOT $2
                ), covered AS (
                    -- the table itself, and the leaves when it is partitioned (pg_partition_tree gives nothing for a plain table)
                    SELECT w.rel AS root, w.rel AS rel FROM wanted AS w
                    UNION
                    SELECT w.rel, t.relid FROM wanted AS w, pg_catalog.pg_partition_tree(w.rel) AS t WHERE t.isleaf
                ), triggers AS (
                    SELECT tgrelid AS rel FROM pg_catalog.pg_trigger WHERE tgname = 'mammoth_slave_protect'
                )
                SELECT 'protect', w.rel::regclass::text FROM wanted AS w
                 WHERE EXISTS (SELECT FROM covered AS c WHERE c.root = w.rel AND c.rel NOT IN (SELECT rel FROM triggers))
                UNION ALL
                SELECT 'unprotect', t.rel::regclass::text FROM triggers AS t
                 WHERE t.rel NOT IN (SELECT rel FROM covered)
                """, conn, tx);
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = slaveNo });
            cmd.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = allowWrites });
            await using (NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                    (r.GetString(0) == "protect" ? toProtect : toUnprotect).Add(r.GetString(1));
            }
            foreach (string t in toProtect)
                await CallAsync(conn, tx, "SELECT mammoth.protect_table($1::regclass)", t, ct).ConfigureAwait(false);
            foreach (string t in toUnprotect)
                await CallAsync(conn, tx, "SELECT mammoth.unprotect_table($1::regclass)", t, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        return (toProtect, toUnprotect);
    }

    private static async Task CallAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, string table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
