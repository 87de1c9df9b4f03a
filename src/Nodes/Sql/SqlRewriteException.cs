namespace Mammoth.Nodes.Sql;

/// <summary>A statement that starts like one of the guide's replication statements but is malformed; one sentence.</summary>
public sealed class SqlRewriteException(string message) : Exception(message);
