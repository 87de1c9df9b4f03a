using Mammoth.Log.Records;
using Mammoth.Net.Transport;
using Xunit;

namespace Mammoth.Net.Tests.Hub;

/// <summary>
/// A thousand garbage connections while a slave streams leave the MCP serving with flat managed memory. It runs
/// alone (the allocation collection): the figure is the whole process's, and tests running beside it (their
/// harnesses, the shared array pool) would be counted as the MCP's.
/// </summary>
[Collection(nameof(AllocationCollection))]
public class GarbageMemoryTests
{
    [Fact]
    public async Task A_thousand_garbage_connections_leave_the_server_up_with_flat_memory()
    {
        await using McpHarness mcp = await McpHarness.StartAsync("", new Mammoth.Net.Hub.McpServerOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(2),
            Preallocation = Mammoth.Log.Storage.SegmentPreallocation.Sparse,
        });
        await using RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0);
        await using MasterLink master = await mcp.MasterAsync();

        // Warm-up round (pools, JIT): the same work as the measured round, then wait until every garbage
        // connection is gone again (refused, or closed at the handshake timeout).
        await Round(1, 3000, seed: 1, garbage: 200);
        long before = Settled();

        await Round(3001, 6000, seed: 2, garbage: 1000);
        long after = Settled();

        Assert.True(after - before < 16 << 20, $"managed memory grew by {(after - before) >> 10} KiB over 1000 garbage connections");
        // The server still admits new nodes.
        await using (SlaveLink probe = await mcp.SlaveAsync(1))
            Assert.True(probe.Welcome.LastRecno >= 0);

        async Task Round(long from, long to, int seed, int garbage)
        {
            int accepted = mcp.Server.ConnectionsAccepted;
            Task streaming = Task.Run(() => HubTests.SendAsync(master, from, to, _ => [SlaveSet.All], 3, seed));
            await TlsAndGarbageTests.Garbage(mcp.Port, garbage, seed);
            await streaming;
            await s0.WaitForAsync(to, TimeSpan.FromSeconds(60));
            await HubTests.WaitUntil(() => mcp.Server.ConnectionsAccepted >= accepted + garbage, 60);
            await HubTests.WaitUntil(() => mcp.Server.ConnectionsOpen == 2, 60); // the master and s0
        }
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(true);
    }
}
