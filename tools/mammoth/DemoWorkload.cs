using System.Diagnostics;
using Npgsql;

namespace Mammoth.Tools.Admin;

/// <summary>
/// The demo's mixed workload on the master: inserts, updates (including a large text left untouched by
/// updates of other columns) and deletes over the sample tables, awkward values included (numeric NaN and
/// infinities, float infinities, arrays with NULLs, jsonb, bytea, enum), small and larger transactions,
/// from two concurrent sessions.
/// </summary>
internal sealed class DemoWorkload(string connectionString)
{
    private long _transactions;
    private long _rows;

    public long Transactions => Interlocked.Read(ref _transactions);
    public long Rows => Interlocked.Read(ref _rows);

    public async Task RunAsync(TimeSpan duration, Action<TimeSpan, DemoWorkload> progress)
    {
        var sw = Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(duration);
        Task[] sessions = [Task.Run(() => SessionAsync(1, cts.Token)), Task.Run(() => SessionAsync(2, cts.Token))];
        while (!cts.IsCancellationRequested)
        {
            progress(sw.Elapsed, this);
            await Task.Delay(250).ConfigureAwait(false);
        }
        await Task.WhenAll(sessions).ConfigureAwait(false);
        progress(sw.Elapsed, this);
    }

    private async Task SessionAsync(int session, CancellationToken ct)
    {
        var rnd = new Random(session);
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(CancellationToken.None).ConfigureAwait(false);
        long nextId = session * 1_000_000_000L;
        int docId = session * 1_000_000;
        while (!ct.IsCancellationRequested)
        {
            await using NpgsqlTransaction tx = await conn.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
            int statements = rnd.Next(10) == 0 ? rnd.Next(50, 200) : rnd.Next(1, 6);
            long rows = 0;
            for (int i = 0; i < statements; i++)
            {
                string sql;
                switch (rnd.Next(12))
                {
                    case 0 or 1 or 2:
                        sql = $"INSERT INTO accounts VALUES ({++nextId}, 'owner {nextId}', {Numeric(rnd)}, {Float(rnd)}, '{Mood(rnd)}', now())";
                        break;
                    case 3 or 4:
                        sql = $"UPDATE accounts SET balance = balance + {rnd.Next(-500, 500)}.25, mood = '{Mood(rnd)}', updated = now() WHERE id = {session * 1_000_000_000L + 1 + rnd.Next((int)Math.Max(1, nextId - session * 1_000_000_000L))}";
                        break;
                    case 5:
                        sql = $"DELETE FROM accounts WHERE id = {session * 1_000_000_000L + 1 + rnd.Next((int)Math.Max(1, nextId - session * 1_000_000_000L))}";
                        break;
                    case 6 or 7:
                        sql = $"INSERT INTO events VALUES (gen_random_uuid(), 'kind{rnd.Next(5)}', '{{\"n\": {rnd.Next()}, \"s\": \"ü\\\\\\\"x\", \"a\": [1, null, 2.5]}}', ARRAY['a', NULL, 'b c', '\"q\"'], ARRAY[{rnd.Next()}, NULL], now())";
                        break;
                    case 8:
                        sql = $"INSERT INTO docs VALUES ({++docId}, 'doc {docId}', repeat(md5('{docId}'), {rnd.Next(1, 4000)}), decode(md5('{docId}'), 'hex'))";
                        break;
                    case 9:
                        // Touches the title only: the large body (TOASTed) is not sent and must stay intact on the slaves.
                        sql = $"UPDATE docs SET title = title || '+' WHERE id = {session * 1_000_000 + 1 + rnd.Next(Math.Max(1, docId - session * 1_000_000))}";
                        break;
                    case 10:
                        sql = $"INSERT INTO measurements SELECT {session * 100 + rnd.Next(10)}, now() + (g || ' microseconds')::interval, {Numeric(rnd)} FROM generate_series(1, {rnd.Next(1, 20)}) g ON CONFLICT DO NOTHING";
                        break;
                    default:
                        sql = $"UPDATE events SET tags = array_append(tags, 'x') WHERE id = (SELECT id FROM events ORDER BY random() LIMIT 1)";
                        break;
                }
                await using var cmd = new NpgsqlCommand(sql, conn, tx);
                rows += await cmd.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            Interlocked.Increment(ref _transactions);
            Interlocked.Add(ref _rows, rows);
        }
    }

    private static string Numeric(Random r) => r.Next(40) switch
    {
        0 => "'NaN'",
        1 => "'Infinity'",
        2 => "'-Infinity'",
        _ => $"{r.Next(-100000, 100000)}.{r.Next(100):00}",
    };

    private static string Float(Random r) => r.Next(30) switch
    {
        0 => "'Infinity'",
        1 => "'-Infinity'",
        2 => "'NaN'",
        3 => "NULL",
        _ => (r.NextDouble() * 1e6).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string Mood(Random r) => r.Next(3) switch { 0 => "sad", 1 => "ok", _ => "happy" };
}
