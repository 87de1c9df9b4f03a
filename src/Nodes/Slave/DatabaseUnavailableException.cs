namespace Mammoth.Nodes.Slave;

/// <summary>The local PostgreSQL connection broke (or the server is shutting down): reconnect, then re-apply.</summary>
internal sealed class DatabaseUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
