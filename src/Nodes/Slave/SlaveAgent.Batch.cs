using System.Diagnostics;
using System.Globalization;
using Mammoth.Net.Diagnostics;
using Npgsql;

namespace Mammoth.Nodes.Slave;

// Batch mode (replication_slave_batch_mode = on): no MCP connection at rest. The agent LISTENs on the slave
// database for MCP BATCHUPDATE requests (mammoth.requests, kind 'batchupdate'), and for each pending one it
// connects, subscribes from applied + 1, applies until replication_slave_batch_mode_timeout passes without a
// record (never inside a transaction or a dump), disconnects, and marks the request done.
public sealed partial class SlaveAgent
{
    /// <summary>The channel mammoth.requests NOTIFYs on (payload "&lt;id&gt; &lt;kind&gt;").</summary>
    internal const string RequestChannel = "mammoth_requests";
    internal const string WaitingForBatchUpdate = "waiting for MCP BATCHUPDATE";

    private volatile bool _batchNotified;
    private long? _batchStartRecno;
    private string? _batchStartDump;
    private long _batchStartTicks;
    private bool _batchLinking; // exceptions of the MCP session are not the listener's

    /// <summary>Waits for MCP BATCHUPDATE requests and fetches a batch for each; returns only by an exception.</summary>
    private async Task RunBatchModeAsync(Backoff backoff, CancellationToken ct)
    {
        NpgsqlConnection listener;
        try
        {
            listener = await _dataSource!.OpenConnectionAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException)
        {
            throw new DatabaseUnavailableException($"cannot open the slave database to wait for MCP BATCHUPDATE: {ex.Message}", ex);
        }
        _batchLinking = false;
        await using (listener.ConfigureAwait(false))
        {
            listener.Notification += (_, e) =>
            {
                if (e.Channel == RequestChannel && e.Payload.EndsWith(" batchupdate", StringComparison.Ordinal))
                    _batchNotified = true;
            };
            try
            {
                await using (var listen = new NpgsqlCommand("LISTEN " + RequestChannel, listener))
                    await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                bool look = true; // requests made while no agent listened
                while (true)
                {
                    if (look || _batchNotified)
                    {
                        _batchNotified = false;
                        List<long> pending = await PendingBatchRequestsAsync(listener, ct).ConfigureAwait(false);
                        if (pending.Count > 0)
                        {
                            await FetchBatchAsync(listener, pending, backoff, ct).ConfigureAwait(false);
                            continue; // more requests may have come meanwhile
                        }
                    }
                    ShowWaiting();
                    if (ProtectionDue)
                        await SyncProtectionAsync(ct).ConfigureAwait(false);
                    // A NOTIFY wakes the wait; the periodic look is a fallback (and runs the protection check).
                    look = !await listener.WaitAsync(_options.ProtectionInterval, ct).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException && !_batchLinking && !ct.IsCancellationRequested)
            {
                throw new DatabaseUnavailableException($"lost the slave database while waiting for MCP BATCHUPDATE: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Waiting: the database answers and no batch is pending, so an earlier problem is over.</summary>
    private void ShowWaiting() => _status.Update(st =>
    {
        if (st.State == WaitingForBatchUpdate && !st.BatchFetching && st.Problem is null)
            return;
        st.State = WaitingForBatchUpdate;
        st.Problem = null;
        st.Connected = false;
        st.BatchFetching = false;
        st.BatchRequests = null;
        st.BatchStartedAt = null;
    });

    private static async Task<List<long>> PendingBatchRequestsAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var ids = new List<long>();
        await using var cmd = new NpgsqlCommand("SELECT id FROM mammoth.requests WHERE kind = 'batchupdate' AND done_at IS NULL ORDER BY id", conn);
        await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            ids.Add(r.GetInt64(0));
        return ids;
    }

    /// <summary>
    /// One batch for the requests pending now (requests made during it get a batch of their own). A failure
    /// leaves them pending: the agent retries with back-off, and the summary still counts from the first try.
    /// </summary>
    private async Task FetchBatchAsync(NpgsqlConnection listener, List<long> requests, Backoff backoff, CancellationToken ct)
    {
        string ids = string.Join(", ", requests);
        if (_batchStartRecno is null)
        {
            RecordApplier a = _applier!;
            _batchStartRecno = a.Committed.AppliedRecno;
            _batchStartDump = a.Dump.LastSummary;
            _batchStartTicks = Stopwatch.GetTimestamp();
            _log.Write(PgLogLevel.Log, $"MCP BATCHUPDATE (request {ids}): fetching a batch from the MCP from record {_batchStartRecno + 1}");
            DateTime now = DateTime.UtcNow;
            _status.Update(st =>
            {
                st.BatchFetching = true;
                st.BatchRequests = ids;
                st.BatchStartedAt = now;
            });
        }

        _batchLinking = true; // until RunLinkAsync returns: what it throws is about the MCP session, not the listener
        await RunLinkAsync(backoff, ct, _settings.SlaveBatchModeTimeout).ConfigureAwait(false);
        _batchLinking = false;

        RecordApplier applier = _applier!;
        long before = _batchStartRecno.Value;
        long after = applier.Committed.AppliedRecno;
        double seconds = Stopwatch.GetElapsedTime(_batchStartTicks).TotalSeconds;
        var ci = CultureInfo.InvariantCulture;
        string result = after > before
            ? string.Create(ci, $"applied records {before + 1}..{after} in {seconds:0.0} s")
            : string.Create(ci, $"no new records (applied up to record {after}); {seconds:0.0} s");
        if (applier.Dump.LastSummary is { } dump && dump != _batchStartDump)
            result += "; " + dump;

        await using (var done = new NpgsqlCommand("UPDATE mammoth.requests SET done_at = now(), result = $2 WHERE id = ANY($1) AND done_at IS NULL", listener))
        {
            done.Parameters.Add(new NpgsqlParameter { Value = requests.ToArray() });
            done.Parameters.Add(new NpgsqlParameter { Value = result });
            await done.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        _batchStartRecno = null;
        _batchStartDump = null;
        _log.Write(PgLogLevel.Log, $"MCP BATCHUPDATE (request {ids}) done: {result}");
        DateTime finished = DateTime.UtcNow;
        _status.Update(st =>
        {
            st.LastBatch = $"request {ids}: {result}";
            st.LastBatchAt = finished;
            st.Connected = false;
        });
        ShowWaiting();
    }
}
