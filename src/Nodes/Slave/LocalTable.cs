namespace Mammoth.Nodes.Slave;

/// <summary>The slave's table a master table maps to (by schema.name), with its columns by name.</summary>
internal sealed class LocalTable(string qualifiedName, Dictionary<string, LocalColumn> columns)
{
    /// <summary>"schema"."name", quoted.</summary>
    public string QualifiedName { get; } = qualifiedName;

    public IReadOnlyDictionary<string, LocalColumn> Columns { get; } = columns;
}
