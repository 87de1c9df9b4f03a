using Mammoth.Log.Records;

namespace Mammoth.Nodes.Master;

/// <summary>One row of <c>mammoth.replicated_tables</c> as the capture needs it.</summary>
internal readonly record struct TableSetting(SlaveSet Slaves, bool Enabled)
{
    /// <summary>slaves integer[]: NULL means every slave.</summary>
    public static SlaveSet SlavesFrom(int[]? slaves)
    {
        if (slaves is null)
            return SlaveSet.All;
        ulong bits = 0;
        foreach (int s in slaves)
        {
            if ((uint)s <= SlaveSet.MaxSlaveNumber)
                bits |= 1UL << s;
        }
        return new SlaveSet(bits, false);
    }
}
