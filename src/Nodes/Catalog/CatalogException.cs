namespace Mammoth.Nodes.Catalog;

/// <summary>The catalog cannot be installed on this server or database as it is; one sentence saying why and what to do.</summary>
public sealed class CatalogException(string message) : Exception(message);
