namespace Mammoth.Nodes.Slave;

/// <summary>
/// A record cannot be applied to this slave's database (a missing table or column, a constraint the
/// slave's data breaks, …). The agent halts: nothing after the record is applied until it goes through.
/// The message is one sentence a person can act on; it names the record and the table.
/// </summary>
internal sealed class ApplyException(long recno, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The record that failed.</summary>
    public long Recno { get; } = recno;

    /// <summary>
    /// The failing statement went out in one batch with statements of other sections, and PostgreSQL does not
    /// say which one failed: the record and section named are a best guess. Applying the records again with
    /// <see cref="RecordApplier.Isolate"/> names them exactly.
    /// </summary>
    public bool Ambiguous { get; init; }
}
