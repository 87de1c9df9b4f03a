namespace Mammoth.Nodes.Connections;

/// <summary>The data directory names no running server, or its postmaster.pid cannot be read; one sentence.</summary>
public sealed class PostmasterPidException(string message) : Exception(message);
