namespace Mammoth.Nodes.Slave;

/// <summary>What the slave has applied, as stored in mammoth.slave_progress (committed state).</summary>
internal readonly record struct ApplyProgress(long AppliedRecno, uint Epoch, ulong CommitLsn, long CommitTime, Guid? McpId)
{
    public DateTime? CommitTimeUtc => CommitTime == 0 ? null : Mammoth.Log.Records.PgTime.ToDateTime(CommitTime);
}
