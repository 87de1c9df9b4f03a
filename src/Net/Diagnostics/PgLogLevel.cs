namespace Mammoth.Net.Diagnostics;

/// <summary>
/// Message severities of the Mammoth Replicator 1.7 guide (<c>mcp_log_level</c>, <c>replication_log_level</c>).
/// </summary>
/// <remarks>
/// The numeric order is the guide's listed order, most severe first:
/// PANIC &gt; FATAL &gt; ERROR &gt; WARNING &gt; NOTICE &gt; INFO &gt; COMERROR &gt; LOG &gt; DEBUG1 &gt; … &gt; DEBUG5.
/// A configured level shows every message at that level or above, so NOTICE shows PANIC through NOTICE
/// and the default LOG shows everything except the DEBUG levels. (PostgreSQL's own
/// <c>log_min_messages</c> ranks LOG above ERROR; the guide does not, and we follow the guide.)
/// </remarks>
public enum PgLogLevel
{
    Debug5 = 10,
    Debug4 = 11,
    Debug3 = 12,
    Debug2 = 13,
    Debug1 = 14,
    Log = 15,
    ComError = 16,
    Info = 17,
    Notice = 18,
    Warning = 19,
    Error = 20,
    Fatal = 21,
    Panic = 22,
}
