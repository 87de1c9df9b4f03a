using Mammoth.Log.Records;

namespace Mammoth.Nodes.Master;

/// <summary>What a relation's rows are for.</summary>
internal enum RelationRole : byte
{
    /// <summary>A user table: shipped when enabled in the settings map, to its slaves.</summary>
    User,
    /// <summary>mammoth.replicated_tables: applied to the settings map, shipped to every slave.</summary>
    Settings,
    /// <summary>mammoth.lo_columns: shipped to every slave.</summary>
    AllSlaves,
    /// <summary>mammoth.requests and anything else in schema mammoth: node-local, never shipped.</summary>
    Local,
}

/// <summary>
/// The capture's own copy of one pgoutput relation (Npgsql repopulates its RelationMessage in place, so
/// nothing of it may be kept). <see cref="Info"/> is immutable and replaced when the relation changes.
/// </summary>
internal sealed class CapturedRelation
{
    public CapturedRelation(uint oid) => Oid = oid;

    public uint Oid { get; }

    /// <summary>The RELATION record's description: names, types, key flags.</summary>
    public RelationInfo Info { get; private set; } = null!;

    /// <summary>Bumped whenever <see cref="Info"/> changes.</summary>
    public int Version { get; private set; }

    public RelationRole Role { get; private set; }

    /// <summary>Column i is a key column (replica identity; the primary key when the identity is FULL).</summary>
    public bool[] IsKey { get; private set; } = [];

    public int KeyCount { get; private set; }

    public int ColumnCount => IsKey.Length;

    /// <summary>Bytes of a column mask for this relation.</summary>
    public int MaskBytes => (ColumnCount + 7) >> 3;

    /// <summary>REPLICA IDENTITY FULL: old rows come whole, and every UPDATE carries the old key.</summary>
    public bool IdentityFull { get; private set; }

    // ---- state of the encoder (this session) --------------------------------------------------------

    /// <summary><see cref="Version"/> last put into a RELATION record for the MCP, -1 for none this session.</summary>
    public int SentVersion { get; set; } = -1;

    /// <summary>Serial of the record part that holds rows of this relation (under <see cref="SentVersion"/>).</summary>
    public long PartSerial { get; set; } = -1;

    // ---- routing cache ---------------------------------------------------------------------------------

    public int RouteMapVersion { get; set; } = -1;
    public int RouteVersion { get; set; } = -1;
    public bool RouteInclude { get; set; }
    public SlaveSet RouteSlaves { get; set; }

    // ---- replicated_tables column positions (Role == Settings) -----------------------------------------

    public int SchemaColumn { get; private set; } = -1;
    public int TableColumn { get; private set; } = -1;
    public int SlavesColumn { get; private set; } = -1;
    public int EnabledColumn { get; private set; } = -1;

    public void Update(RelationInfo info, bool identityFull)
    {
        Info = info;
        Version++;
        IdentityFull = identityFull;
        IsKey = info.Columns.Select(c => c.IsKey).ToArray();
        KeyCount = IsKey.Count(k => k);
        Role = info.Schema != "mammoth" ? RelationRole.User
            : info.Name switch
            {
                "replicated_tables" => RelationRole.Settings,
                "lo_columns" => RelationRole.AllSlaves,
                _ => RelationRole.Local,
            };
        SchemaColumn = IndexOf("schema_name");
        TableColumn = IndexOf("table_name");
        SlavesColumn = IndexOf("slaves");
        EnabledColumn = IndexOf("enabled");
        RouteVersion = -1;
    }

    private int IndexOf(string column)
    {
        for (int i = 0; i < Info.Columns.Count; i++)
        {
            if (Info.Columns[i].Name == column)
                return i;
        }
        return -1;
    }
}
