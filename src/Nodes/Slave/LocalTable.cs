namespace Mammoth.Nodes.Slave;

/// <summary>One column of the slave's own table.</summary>
/// <param name="DataTypeName">The column's type as Npgsql names it: "schema.typname" (pg_catalog.int4, public._mood).</param>
internal readonly record struct LocalColumn(string Name, uint TypeOid, string DataTypeName, bool Generated);

/// <summary>The slave's table a master table maps to (by schema.name), with its columns by name.</summary>
internal sealed class LocalTable(string qualifiedName, Dictionary<string, LocalColumn> columns)
{
    /// <summary>"schema"."name", quoted.</summary>
    public string QualifiedName { get; } = qualifiedName;

    public IReadOnlyDictionary<string, LocalColumn> Columns { get; } = columns;
}
