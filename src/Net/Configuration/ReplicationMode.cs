namespace Mammoth.Net.Configuration;

/// <summary>The guide's <c>replication_mode</c>: what the database beside this agent is.</summary>
public enum ReplicationMode
{
    Master,
    Slave,
}
