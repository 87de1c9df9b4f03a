namespace Mammoth.Nodes.Slave;

/// <summary>One column of the slave's own table.</summary>
/// <param name="DataTypeName">The column's type as Npgsql names it: "schema.typname" (pg_catalog.int4, public._mood).</param>
internal readonly record struct LocalColumn(string Name, uint TypeOid, string DataTypeName, bool Generated);
