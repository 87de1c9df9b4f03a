namespace Mammoth.Nodes.Sql;

/// <summary>A replication statement turned into a catalog call: the SQL to run and the command tag to print.</summary>
public sealed record RewrittenStatement(string Sql, string CommandTag);
