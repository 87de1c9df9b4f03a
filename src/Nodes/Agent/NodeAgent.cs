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
    private static SlaveAgent? s_slave;

    /// <summary>Hands reloaded settings (SIGHUP) to the running agent.</summary>
    public static void Reload(NodeSettings next) => Volatile.Read(ref s_slave)?.Reload(next);

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
                {
                    Volatile.Write(ref s_slave, slave);
                    try
                    {
                        await slave.RunAsync(ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        Volatile.Write(ref s_slave, null);
                    }
                }
                break;
            default:
                throw new ConfigException($"{settings.FileName}: replication_mode must be master or slave.");
        }
    }
}
