namespace Mammoth.Nodes.Clusters;

/// <summary>
/// A throwaway PostgreSQL cluster could not be created, started or stopped. The message says what
/// failed and, when the server itself failed, ends with the tail of its log.
/// </summary>
public sealed class LocalClusterException : Exception
{
    public LocalClusterException(string message) : base(message) { }

    public LocalClusterException(string message, Exception inner) : base(message, inner) { }

    public LocalClusterException() { }
}
