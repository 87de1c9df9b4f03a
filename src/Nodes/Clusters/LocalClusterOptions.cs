namespace Mammoth.Nodes.Clusters;

/// <summary>How <see cref="LocalCluster.StartAsync"/> lays out and configures a cluster.</summary>
public sealed class LocalClusterOptions
{
    /// <summary>Directory under which the cluster's own directory is made; default: the system temp dir.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>A short name used in the directory name and in messages (letters, digits, '-', '_').</summary>
    public string Name { get; init; } = "pg";

    /// <summary>postgresql.conf settings applied after (and so overriding) the built-in ones.</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    /// <summary>TCP port on 127.0.0.1; 0 picks a free one (and picks again if it is taken at start).</summary>
    public int Port { get; init; }

    /// <summary>Leave the directory (data, log) on disk after dispose, for inspection.</summary>
    public bool KeepOnDispose { get; init; }

    /// <summary>Receives one line per step (initdb, start, stop) and warnings; null for silence.</summary>
    public Action<string>? Progress { get; init; }
}
