namespace Mammoth.Nodes.Slave;

/// <summary>Timings of the slave agent (tests shorten them).</summary>
internal sealed class SlaveAgentOptions
{
    /// <summary>First wait before a retry (reconnect, or re-applying a halted record); doubles up to <see cref="RetryMax"/>.</summary>
    public TimeSpan RetryMin { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan RetryMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the agent tells the MCP it is alive while it applies or is halted (the MCP drops silent peers after mcp_echo_timeout).</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the status file is rewritten (also on every change).</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often slave write protection is checked against mammoth.replicated_tables even without a change in the stream (tables created later on the slave).</summary>
    public TimeSpan ProtectionInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>RECORDS frames read ahead of the apply.</summary>
    public int ReadAheadFrames { get; init; } = 8;

    /// <summary>
    /// Frames of an open transaction are kept for a retry without a new subscription up to this many bytes; a
    /// longer master transaction is re-fetched from the MCP after a failure.
    /// </summary>
    public long RetainBytes { get; init; } = 256L * 1024 * 1024;

    public ApplyOptions Apply { get; init; } = new();
}
