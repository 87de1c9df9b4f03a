using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;

namespace Mammoth.Nodes.Master;

/// <summary>The master side of the agent (placeholder until the capture lands).</summary>
public sealed class MasterAgent(NodeSettings settings, MammothLog log) : IAsyncDisposable
{
    public Task RunAsync(CancellationToken ct)
    {
        _ = settings;
        _ = log;
        return Task.Delay(Timeout.Infinite, ct);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
