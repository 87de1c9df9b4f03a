using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;

namespace Mammoth.Nodes.Slave;

/// <summary>The slave side of the agent (placeholder until the apply lands).</summary>
public sealed class SlaveAgent(NodeSettings settings, MammothLog log) : IAsyncDisposable
{
    public Task RunAsync(CancellationToken ct)
    {
        _ = settings;
        _ = log;
        return Task.Delay(Timeout.Infinite, ct);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
