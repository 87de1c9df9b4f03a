namespace Mammoth.Nodes.Slave;

/// <summary>
/// The records from the MCP are not what the agent can accept (a gap in record numbers, a checksum that
/// fails): drop the connection to the MCP and subscribe again from the applied record.
/// </summary>
internal sealed class RecordStreamException(string message) : Exception(message);
