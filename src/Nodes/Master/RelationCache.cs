using Mammoth.Log.Records;
using Npgsql;
using Npgsql.Replication.PgOutput.Messages;

namespace Mammoth.Nodes.Master;

/// <summary>
/// Relations by OID (the table id of sections), built from pgoutput RELATION messages. pgoutput sends one
/// before the first change of a relation in each session and again after any invalidation, often unchanged;
/// only a real change (names, types, typmods, key columns, replica identity) makes a new version.
/// Type names are resolved once per type OID on the catalog connection.
/// </summary>
internal sealed class RelationCache(NpgsqlConnection catalog)
{
    private readonly Dictionary<uint, CapturedRelation> _relations = [];
    private readonly Dictionary<uint, string> _typeNames = [];

    public CapturedRelation Get(uint oid) =>
        _relations.TryGetValue(oid, out CapturedRelation? r) ? r
        : throw new InvalidOperationException($"pgoutput sent a change of relation {oid} before describing it");

    public async ValueTask OnRelationAsync(RelationMessage m, CancellationToken ct)
    {
        uint oid = m.RelationId;
        if (!_relations.TryGetValue(oid, out CapturedRelation? rel))
        {
            rel = new CapturedRelation(oid);
            _relations.Add(oid, rel);
        }
        bool full = m.ReplicaIdentity == RelationMessage.ReplicaIdentitySetting.AllColumns;
        if (rel.Version > 0 && IsSame(rel, m, full))
            return;

        int n = m.Columns.Count;
        List<uint>? missing = null;
        for (int i = 0; i < n; i++)
        {
            uint type = m.Columns[i].DataTypeId;
            if (!_typeNames.ContainsKey(type))
                (missing ??= []).Add(type);
        }
        if (missing is not null)
            await MasterCatalog.ResolveTypeNamesAsync(catalog, missing, _typeNames, ct).ConfigureAwait(false);

        // REPLICA IDENTITY FULL marks every column as key; the slave needs the real key to find rows.
        HashSet<string>? primaryKey = full ? await MasterCatalog.PrimaryKeyColumnsAsync(catalog, oid, ct).ConfigureAwait(false) : null;
        var columns = new ColumnInfo[n];
        for (int i = 0; i < n; i++)
        {
            RelationMessage.Column c = m.Columns[i];
            bool key = primaryKey is { Count: > 0 } ? primaryKey.Contains(c.ColumnName)
                : (c.Flags & RelationMessage.Column.ColumnFlags.PartOfKey) != 0;
            string typeName = _typeNames.TryGetValue(c.DataTypeId, out string? t) ? t : $"oid {c.DataTypeId}";
            columns[i] = new ColumnInfo(c.ColumnName, c.DataTypeId, c.TypeModifier, typeName, key);
        }
        rel.Update(new RelationInfo(oid, m.Namespace, m.RelationName, columns), full);
    }

    private static bool IsSame(CapturedRelation rel, RelationMessage m, bool full)
    {
        RelationInfo info = rel.Info;
        if (rel.IdentityFull != full || info.Schema != m.Namespace || info.Name != m.RelationName || info.Columns.Count != m.Columns.Count)
            return false;
        for (int i = 0; i < info.Columns.Count; i++)
        {
            ColumnInfo have = info.Columns[i];
            RelationMessage.Column c = m.Columns[i];
            if (have.Name != c.ColumnName || have.TypeOid != c.DataTypeId || have.TypeModifier != c.TypeModifier)
                return false;
            if (!full && have.IsKey != ((c.Flags & RelationMessage.Column.ColumnFlags.PartOfKey) != 0))
                return false;
        }
        return true;
    }
}
