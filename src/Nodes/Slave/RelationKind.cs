namespace Mammoth.Nodes.Slave;

/// <summary>Tables the agent treats specially.</summary>
internal enum RelationKind
{
    Table,
    /// <summary>mammoth.requests: commands for the master's own agent; never applied on a slave.</summary>
    Requests,
    /// <summary>mammoth.replicated_tables: applied, and then slave write protection is brought up to date.</summary>
    ReplicatedTables,
}
