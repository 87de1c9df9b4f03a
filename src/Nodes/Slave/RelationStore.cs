using System.Buffers;
using Mammoth.Log.Records;
using Npgsql;
using NpgsqlTypes;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// The master's relations as this slave knows them: table id → <see cref="SlaveRelation"/>, kept in
/// mammoth.slave_relations. A RELATION record is written there in the same transaction that applies it, so
/// after any restart the table ids of earlier records are known exactly as of the last applied record.
/// </summary>
internal sealed class RelationStore
{
    private readonly Dictionary<uint, SlaveRelation> _byId = [];

    public int Count => _byId.Count;

    public bool TryGet(uint tableId, out SlaveRelation relation) => _byId.TryGetValue(tableId, out relation!);

    public IEnumerable<SlaveRelation> All => _byId.Values;

    /// <summary>Replaces the cache with what mammoth.slave_relations holds.</summary>
    public async Task LoadAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        _byId.Clear();
        await using var cmd = new NpgsqlCommand("SELECT relation, recno FROM mammoth.slave_relations", connection);
        await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            byte[] bytes = r.GetFieldValue<byte[]>(0);
            long recno = r.GetInt64(1);
            foreach (RelationInfo info in RelationInfo.ReadAll(WithCount(bytes)))
                _byId[info.TableId] = new SlaveRelation(info, recno);
        }
    }

    /// <summary>Takes a relation from a RELATION record (in memory) and returns the statement that stores it.</summary>
    public NpgsqlBatchCommand Put(RelationInfo info, long recno, List<string> stagesToDrop)
    {
        if (_byId.TryGetValue(info.TableId, out SlaveRelation? old))
            old.Invalidate(stagesToDrop);
        _byId[info.TableId] = new SlaveRelation(info, recno);

        var encoded = new ArrayBufferWriter<byte>(256);
        RelationInfo.WriteAll(encoded, [info]);
        var cmd = new NpgsqlBatchCommand(
            "INSERT INTO mammoth.slave_relations (table_id, schema_name, table_name, columns, key_columns, relation, recno, updated_at) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT (table_id) DO UPDATE SET schema_name = EXCLUDED.schema_name, " +
            "table_name = EXCLUDED.table_name, columns = EXCLUDED.columns, key_columns = EXCLUDED.key_columns, " +
            "relation = EXCLUDED.relation, recno = EXCLUDED.recno, updated_at = EXCLUDED.updated_at");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = info.TableId });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = info.Schema });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = info.Name });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. info.Columns.Select(c => c.Name)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. info.KeyColumns.Select(k => info.Columns[k].Name)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        // Stored without the leading relation count of the RELATION payload: one relation per row.
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = encoded.WrittenSpan[2..].ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = recno });
        return cmd;
    }

    /// <summary>Forgets every resolved target and plan (the slave's tables may have changed).</summary>
    public void InvalidateAll(List<string> stagesToDrop)
    {
        foreach (SlaveRelation r in _byId.Values)
            r.Invalidate(stagesToDrop);
    }

    private static byte[] WithCount(byte[] one)
    {
        var b = new byte[one.Length + 2];
        b[1] = 1;
        one.CopyTo(b, 2);
        return b;
    }
}
