using Mammoth.Net.Diagnostics;
using Mammoth.Net.Transport;
using Npgsql;

namespace Mammoth.Nodes.Master;

/// <summary>
/// The session's ordinary connection for commands: LISTENs on <c>mammoth_requests</c> and carries out the
/// requests (MCP REFRESH goes to the MCP; other kinds are for slaves or later versions and are marked as not
/// handled), and commits the heartbeat message when the stream has been idle.
/// </summary>
internal sealed class RequestWorker(string connectionString, MasterLink link, MasterAgentOptions options, MasterStatistics stats,
    MammothLog log, Func<long> lastActivity, Action onDumpRequested)
{
    public const string Channel = "mammoth_requests";
    /// <summary>Payload of the NOTIFY an enable sends when it queues a table dump (mammoth.table_dumps).</summary>
    public const string DumpPayload = "table_dump";
    public const string RefreshDone = "MCP REFRESH sent to the MCP: every slave gets a full dump";
    public const string NotHandled = "not handled by this version of the master agent";

    private bool _notified;

    public async Task RunAsync(CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct).ConfigureAwait(false);
        conn.Notification += (_, e) =>
        {
            if (e.Channel != Channel)
                return;
            if (e.Payload == DumpPayload)
                onDumpRequested(); // enable_replication() queued a table dump
            else
                _notified = true;
        };
        await MasterCatalog.ExecAsync(conn, "LISTEN " + Channel, ct).ConfigureAwait(false);
        await ProcessPendingAsync(conn, ct).ConfigureAwait(false); // requests made while no agent listened

        long heartbeatMs = (long)options.HeartbeatInterval.TotalMilliseconds;
        TimeSpan poll = TimeSpan.FromMilliseconds(Math.Clamp(heartbeatMs / 4, 20, 1000));
        long lastHeartbeat = Environment.TickCount64;
        while (true)
        {
            await conn.WaitAsync(poll, ct).ConfigureAwait(false);
            if (_notified)
            {
                _notified = false;
                await ProcessPendingAsync(conn, ct).ConfigureAwait(false);
            }
            long now = Environment.TickCount64;
            if (now - lastActivity() >= heartbeatMs && now - lastHeartbeat >= heartbeatMs)
            {
                // Transactional, so it is decoded and confirmed like any commit; see docs/dev/npgsql-pgoutput.md §4.
                await MasterCatalog.ExecAsync(conn, "SELECT pg_logical_emit_message(true, 'mammoth', 'heartbeat')", ct).ConfigureAwait(false);
                lastHeartbeat = now;
                stats.Heartbeat();
            }
        }
    }

    private async Task ProcessPendingAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var pending = new List<(long Id, string Kind)>();
        await using (var cmd = new NpgsqlCommand("SELECT id, kind FROM mammoth.requests WHERE done_at IS NULL ORDER BY id", conn))
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
                pending.Add((r.GetInt64(0), r.GetString(1)));
        }
        foreach ((long id, string kind) in pending)
        {
            string result;
            if (kind == "refresh")
            {
                await link.SendRefreshAsync(ct).ConfigureAwait(false);
                result = RefreshDone;
                log.Write(PgLogLevel.Log, $"MCP REFRESH (request {id}) sent to the MCP");
            }
            else
            {
                result = NotHandled;
                log.Write(PgLogLevel.Warning, $"request {id} ({kind}) is not handled by this version of the master agent; marked done");
            }
            await using var done = new NpgsqlCommand("UPDATE mammoth.requests SET done_at = now(), result = $2 WHERE id = $1 AND done_at IS NULL", conn);
            done.Parameters.Add(new NpgsqlParameter { Value = id });
            done.Parameters.Add(new NpgsqlParameter { Value = result });
            await done.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }
}
