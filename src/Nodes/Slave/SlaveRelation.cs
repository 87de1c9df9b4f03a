using Mammoth.Log.Records;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// A master table as the RELATION record described it, the slave table it maps to (resolved on first
/// use, by schema.name) and the apply plans built for it, one per (operation, column mask).
/// </summary>
internal sealed class SlaveRelation
{
    private readonly List<ApplyPlan> _plans = [];

    public SlaveRelation(RelationInfo info, long recno)
    {
        Info = info;
        Recno = recno;
        Key = [.. info.KeyColumns];
        Kind = (info.Schema, info.Name) switch
        {
            ("mammoth", "requests") => RelationKind.Requests,
            ("mammoth", "replicated_tables") => RelationKind.ReplicatedTables,
            _ => RelationKind.Table,
        };
    }

    public RelationInfo Info { get; }

    /// <summary>Record that carried the RELATION.</summary>
    public long Recno { get; }

    /// <summary>Indexes (into the relation's columns) of the key columns, in key order.</summary>
    public int[] Key { get; }

    public RelationKind Kind { get; }

    /// <summary>The slave's table; null until resolved (and again after an invalidation).</summary>
    public LocalTable? Target { get; set; }

    public string Describe => $"{Info.Schema}.{Info.Name}";

    /// <summary>The plan for (op, mask), or null when none was built yet. Allocates nothing.</summary>
    public ApplyPlan? FindPlan(ChangeOp op, ReadOnlySpan<byte> mask)
    {
        foreach (ApplyPlan p in _plans)
        {
            if (p.Op == op && p.Mask.AsSpan().SequenceEqual(mask))
                return p;
        }
        return null;
    }

    public void AddPlan(ApplyPlan plan) => _plans.Add(plan);

    public IReadOnlyList<ApplyPlan> Plans => _plans;

    /// <summary>Forgets the target and the plans (after a rollback, a RELATION change, or DDL on the slave).</summary>
    public void Invalidate(List<string> stagesToDrop)
    {
        foreach (ApplyPlan p in _plans)
        {
            if (p.StageName is not null)
                stagesToDrop.Add(p.StageName);
        }
        _plans.Clear();
        Target = null;
    }
}
