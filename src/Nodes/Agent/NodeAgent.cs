using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Nodes.Master;
using Mammoth.Nodes.Slave;

namespace Mammoth.Nodes.Agent;

/// <summary>
/// The agent beside one database (<c>mammoth-node</c>): runs the master capture or the slave apply, as
/// <c>replication_mode</c> says, until it is stopped. Each role reconnects by itself (to PostgreSQL and to
/// the MCP) with back-off; this class only picks the role.
/// </summary>
public static class NodeAgent
{
    public static async Task RunAsync(NodeSettings settings, MammothLog log, CancellationToken ct)
    {
        if (!settings.Enabled)
        {
            log.Write(PgLogLevel.Log, $"{settings.FileName}: replication_enable is off; the agent has nothing to do");
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }
        switch (settings.Mode)
        {
            case ReplicationMode.Master:
                await using (var master = new MasterAgent(settings, log))
                    await master.RunAsync(ct).ConfigureAwait(false);
                break;
            case ReplicationMode.Slave:
                await using (var slave = new SlaveAgent(settings, log))
                    await slave.RunAsync(ct).ConfigureAwait(false);
                break;
            default:
                throw new ConfigException($"{settings.FileName}: replication_mode must be master or slave.");
        }
    }
}
