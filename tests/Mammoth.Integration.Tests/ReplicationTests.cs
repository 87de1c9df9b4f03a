using Mammoth.Testing;
using Npgsql;
using Xunit;

namespace Mammoth.Integration.Tests;

/// <summary>
/// Master → MCP → slaves through the real agents. Every test ends in a row-by-row comparison of master and
/// slave tables (PgTables), with the components' logs in the failure message.
/// </summary>
[Collection("replication")]
public class ReplicationTests(ReplicationSetup r)
{
    [Fact]
    public async Task Awkward_types_and_nulls_replicate_exactly()
    {
        await r.ExecAllAsync("""
            CREATE TYPE it_mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN it_posint AS int CHECK (VALUE > 0);
            CREATE TYPE it_pair AS (a numeric, b text);
            CREATE TABLE it_types (
                id int PRIMARY KEY, n numeric, f float8, r real, ts timestamptz, d date, iv interval,
                ia int[], ta text[], j jsonb, js json, b bytea, u uuid, m it_mood, dm it_posint, c it_pair,
                inet_v inet, t text, bo bool, ch char(3), vc varchar(10));
            """);
        await r.EnableAsync("public.it_types");
        await r.ExecAsync(r.Master, """
            INSERT INTO it_types VALUES
              (1, 'NaN', 'NaN', 'Infinity', 'infinity', 'infinity', '1 year 2 mons 3 days 04:05:06.789', '{1,NULL,3}', '{"a",NULL,"b c","\"q\""}',
               '{"k": [1, null, 2.5], "u": "\u00fc"}', '{"raw":  true}', '\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', 7, ROW('Infinity', 'x,y'),
               '192.168.1.0/24', 'plain', true, 'ab', 'vc'),
              (2, 'Infinity', '-Infinity', '-0', '-infinity', '-infinity', '-178000000 years', '{}', '{}', 'null', '[]', '\x', NULL, 'sad', 1, ROW(NULL, NULL),
               '::1', '', false, '', ''),
              (3, '-Infinity', 1e308, 1.5e-45, '2000-01-01 00:00:00+00', '4713-01-01 BC', '0', '{{1,2},{3,4}}', '{NULL}', '{"deep": {"a": [[]]}}', '{}', NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL),
              (4, 123456789012345678901234567890.123456789, 3.14159, 2.5, now(), now(), '1 microsecond', NULL, NULL, NULL, NULL, decode(repeat('ab', 5000), 'hex'), gen_random_uuid(), 'ok', 2147483647, ROW(-1.5, E'tab\there'),
               '10.0.0.1', repeat('long ', 2000), NULL, 'xyz', 'ünïcødé');
            UPDATE it_types SET t = 'changed', m = 'ok' WHERE id = 1;
            DELETE FROM it_types WHERE id = 2;
            INSERT INTO it_types (id) VALUES (5);
            """);
        await r.AssertReplicatedAsync("it_types", "id");
    }

    [Fact]
    public async Task A_large_toasted_value_survives_an_update_of_another_column()
    {
        await r.ExecAllAsync("CREATE TABLE it_toast (id int PRIMARY KEY, small int, big text, blob bytea)");
        await r.EnableAsync("public.it_toast");
        await r.ExecAsync(r.Master, """
            INSERT INTO it_toast SELECT g, 0, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 3200) i), decode(repeat(md5(g::text), 4000), 'hex') FROM generate_series(1, 5) g;
            """);
        await r.AssertReplicatedAsync("it_toast", "id");
        await r.ExecAsync(r.Master, "UPDATE it_toast SET small = small + 1; UPDATE it_toast SET small = small + 10 WHERE id = 3;");
        await r.AssertReplicatedAsync("it_toast", "id");
        Assert.True(await r.ScalarAsync<int>(r.Slave(0), "SELECT min(length(big)) FROM it_toast") >= 100_000);
    }

    [Fact]
    public async Task Primary_key_changes_including_chains_and_swaps_replicate()
    {
        await r.ExecAllAsync("CREATE TABLE it_pk (k int PRIMARY KEY, v text)");
        await r.EnableAsync("public.it_pk");
        await r.ExecAsync(r.Master, "INSERT INTO it_pk SELECT g, 'v' || g FROM generate_series(1, 300) g");
        await r.ExecAsync(r.Master, """
            UPDATE it_pk SET k = k + 1000 WHERE k <= 200;
            BEGIN; UPDATE it_pk SET k = 9999 WHERE k = 201; UPDATE it_pk SET k = 201 WHERE k = 202; UPDATE it_pk SET k = 202 WHERE k = 9999; COMMIT;
            UPDATE it_pk SET k = -k, v = v || '!' WHERE k BETWEEN 250 AND 260;
            """);
        await r.AssertReplicatedAsync("it_pk", "k");
    }

    [Fact]
    public async Task Multi_table_transactions_are_atomic_on_the_slaves()
    {
        await r.ExecAllAsync("CREATE TABLE it_left (id int PRIMARY KEY, x int); CREATE TABLE it_right (id int PRIMARY KEY, x int);");
        await r.EnableAsync("public.it_left");
        await r.EnableAsync("public.it_right");
        using var stop = new CancellationTokenSource();
        // Every master transaction inserts one row into each table: a slave must never show one without the other.
        Task writer = Task.Run(async () =>
        {
            await using var conn = new NpgsqlConnection(r.Conn(r.Master));
            await conn.OpenAsync();
            for (int i = 1; i <= 1500; i++)
            {
                await using var cmd = new NpgsqlCommand($"BEGIN; INSERT INTO it_left VALUES ({i}, {i}); INSERT INTO it_right VALUES ({i}, {i}); COMMIT;", conn);
                await cmd.ExecuteNonQueryAsync();
            }
        });
        int samples = 0;
        await using (var slave = new NpgsqlConnection(r.Conn(r.Slave(1))))
        {
            await slave.OpenAsync();
            while (!writer.IsCompleted || samples < 20)
            {
                await using var cmd = new NpgsqlCommand("SELECT (SELECT count(*) FROM it_left) - (SELECT count(*) FROM it_right)", slave);
                Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
                samples++;
                await Task.Delay(5);
            }
        }
        await writer;
        await r.AssertReplicatedAsync("it_left", "id");
        await r.AssertReplicatedAsync("it_right", "id");
    }

    [Fact]
    public async Task Truncate_then_new_rows_replicate()
    {
        await r.ExecAllAsync("CREATE TABLE it_trunc (id int PRIMARY KEY, v text)");
        await r.EnableAsync("public.it_trunc");
        await r.ExecAsync(r.Master, "INSERT INTO it_trunc SELECT g, 'a' FROM generate_series(1, 500) g");
        await r.AssertReplicatedAsync("it_trunc", "id");
        await r.ExecAsync(r.Master, "BEGIN; TRUNCATE it_trunc; INSERT INTO it_trunc SELECT g, 'b' FROM generate_series(400, 450) g; COMMIT;");
        await r.AssertReplicatedAsync("it_trunc", "id");
        Assert.Equal(51L, await PgTables.CountAsync(r.Conn(r.Slave(0)), "it_trunc"));
    }

    [Fact]
    public async Task A_transaction_of_100k_rows_replicates_in_one_piece()
    {
        await r.ExecAllAsync("CREATE TABLE it_big (id bigint PRIMARY KEY, payload text)");
        await r.EnableAsync("public.it_big");
        await r.ExecAsync(r.Master, "INSERT INTO it_big SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 100000) g");
        await r.AssertReplicatedAsync("it_big", "id", timeoutSeconds: 300);
        await r.ExecAsync(r.Master, "UPDATE it_big SET payload = 'u' WHERE id % 3 = 0");
        await r.AssertReplicatedAsync("it_big", "id", timeoutSeconds: 300);
    }

    [Fact]
    public async Task Concurrent_interleaved_transactions_keep_commit_order()
    {
        await r.ExecAllAsync("CREATE TABLE it_order (id int PRIMARY KEY, writer int, n int)");
        await r.EnableAsync("public.it_order");
        await r.ExecAsync(r.Master, "INSERT INTO it_order SELECT g, 0, 0 FROM generate_series(1, 20) g");
        // Two sessions keep overwriting the same rows; only commit order decides the final values.
        async Task Session(int writer)
        {
            await using var conn = new NpgsqlConnection(r.Conn(r.Master));
            await conn.OpenAsync();
            var rnd = new Random(writer);
            for (int i = 0; i < 400; i++)
            {
                await using var cmd = new NpgsqlCommand($"BEGIN; UPDATE it_order SET writer = {writer}, n = n + 1 WHERE id IN ({rnd.Next(1, 21)}, {rnd.Next(1, 21)}); COMMIT;", conn);
                try
                {
                    await cmd.ExecuteNonQueryAsync();
                }
                catch (PostgresException ex) when (ex.SqlState == "40P01")
                {
                    // a deadlock between the two sessions: that transaction did not happen
                }
            }
        }
        await Task.WhenAll(Session(1), Session(2));
        await r.AssertReplicatedAsync("it_order", "id");
    }

    [Fact]
    public async Task A_table_enabled_for_slave_0_only_never_reaches_slave_1()
    {
        await r.ExecAllAsync("CREATE TABLE it_only0 (id int PRIMARY KEY, v text); CREATE TABLE it_all (id int PRIMARY KEY, v text);");
        await r.EnableAsync("public.it_only0", 0);
        await r.EnableAsync("public.it_all");
        await r.ExecAsync(r.Master, """
            INSERT INTO it_only0 SELECT g, 'zero' FROM generate_series(1, 300) g;
            BEGIN; INSERT INTO it_all VALUES (1, 'both'); INSERT INTO it_only0 VALUES (1000, 'mixed'); COMMIT;
            """);
        await r.AssertReplicatedAsync("it_only0", "id", slaves: [0]);
        await r.AssertReplicatedAsync("it_all", "id");
    }

    [Fact]
    public async Task Agents_killed_mid_workload_and_restarted_leave_slaves_identical_with_nothing_applied_twice()
    {
        await r.ExecAllAsync("CREATE TABLE it_crash (id int PRIMARY KEY, v int, note text)");
        // On the slaves, an ALWAYS trigger (it fires under session_replication_role = replica) counts every
        // applied change in the same transaction as the change: a change applied twice would count twice.
        foreach (int s in new[] { 0, 1 })
        {
            await r.ExecAsync(r.Slave(s), """
                CREATE TABLE it_crash_applied (n bigint NOT NULL);
                INSERT INTO it_crash_applied VALUES (0);
                CREATE FUNCTION it_crash_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE it_crash_applied SET n = n + 1; RETURN NULL; END $$;
                CREATE TRIGGER it_crash_count AFTER INSERT OR UPDATE OR DELETE ON it_crash FOR EACH ROW EXECUTE FUNCTION it_crash_count();
                ALTER TABLE it_crash ENABLE ALWAYS TRIGGER it_crash_count;
                """);
        }
        await r.EnableAsync("public.it_crash");
        long changes = 0;
        Task workload = Task.Run(async () =>
        {
            await using var conn = new NpgsqlConnection(r.Conn(r.Master));
            await conn.OpenAsync();
            var rnd = new Random(5);
            for (int i = 1; i <= 3000; i++)
            {
                string sql = rnd.Next(3) switch
                {
                    0 => $"INSERT INTO it_crash VALUES ({i}, 0, 'n') ON CONFLICT DO NOTHING",
                    1 => $"UPDATE it_crash SET v = v + 1 WHERE id = {rnd.Next(1, i + 1)}",
                    _ => $"DELETE FROM it_crash WHERE id = {rnd.Next(1, i + 1)}",
                };
                await using var cmd = new NpgsqlCommand(sql, conn);
                changes += await cmd.ExecuteNonQueryAsync();
            }
        });
        await Task.Delay(1500);
        r.KillAgent("master");
        await Task.Delay(700);
        r.KillAgent("slave0");
        await Task.Delay(700);
        r.StartAgent("master");
        await Task.Delay(500);
        r.StartAgent("slave0");
        await Task.Delay(800);
        r.KillAgent("slave1");
        r.StartAgent("slave1");
        await workload;
        await r.AssertReplicatedAsync("it_crash", "id", timeoutSeconds: 180);
        for (int s = 0; s < 2; s++)
            Assert.Equal(changes, await r.ScalarAsync<long>(r.Slave(s), "SELECT n FROM it_crash_applied"));
    }
}
