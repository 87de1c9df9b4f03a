using Mammoth.Log.Records;
using Mammoth.Testing;
using static Mammoth.Master.Tests.Records;

namespace Mammoth.Master.Tests;

/// <summary>Slave sets stamped from mammoth.replicated_tables as of each change, including across restarts.</summary>
[Collection("master")]
public sealed class SettingsTests(PgServerFixture pg)
{
    /// <summary>Inserted rows of DATA records (table dumps, which enabling a table with rows adds, are left out).</summary>
    private static List<(uint Table, SlaveSet Slaves, int Id)> Rows(List<Rec> records, params uint[] tables) =>
        records.Where(r => r.Kind == RecordKind.Data).SelectMany(r => r.Sections).Where(s => tables.Contains(s.TableId) && s.Op == ChangeOp.Insert)
            .SelectMany(s => s.Rows.Select(row => (s.TableId, s.Slaves, Int4(Fields(row)[0])))).ToList();

    [Fact]
    public async Task Each_section_goes_to_the_slaves_of_its_table_as_of_that_change()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY);",
            ["SELECT mammoth.enable_replication('a', '{0}')", "SELECT mammoth.enable_replication('b', '{1}')", "SELECT mammoth.enable_replication('c', NULL)"]);
        RawSlave s0 = await bed.SlaveAsync(0);
        RawSlave s1 = await bed.SlaveAsync(1);
        (uint a, uint b, uint c) = (await bed.OidAsync("a"), await bed.OidAsync("b"), await bed.OidAsync("c"));
        uint settings = await bed.OidAsync("mammoth.replicated_tables");

        await bed.ExecAsync("BEGIN; INSERT INTO a VALUES (1); INSERT INTO b VALUES (1); INSERT INTO c VALUES (1); COMMIT");
        await bed.ExecAsync("SELECT mammoth.enable_replication('a', '{1}')");
        await bed.ExecAsync("INSERT INTO a VALUES (2)");
        // A settings change inside a transaction applies to the rows after it.
        await bed.ExecAsync("BEGIN; INSERT INTO a VALUES (10); SELECT mammoth.enable_replication('a', '{0,1}'); INSERT INTO a VALUES (11); COMMIT");
        await bed.ExecAsync("SELECT mammoth.disable_replication('c')");
        await bed.ExecAsync("INSERT INTO c VALUES (2)");
        await bed.ExecAsync("INSERT INTO a VALUES (99)");
        List<Rec> r0 = await bed.WaitForRowAsync(s0, a, 99);
        List<Rec> r1 = await bed.WaitForRowAsync(s1, a, 99);
        // The dump that giving a to slave 1 asked for is placed where the enable committed, but taken when the agent
        // gets to it: it may arrive after row 99 (docs/dumps.md).
        r1 = await s1.WaitAsync(rs => rs.Any(r => r.Kind == RecordKind.TableDumpEnd && r.Sections.Any(s => s.TableId == a && s.Slaves.Contains(1))),
            "the dump of a to slave 1", TimeSpan.FromSeconds(60), bed.Context);

        Assert.Equal(
            [(a, SlaveSet.Of(0), 1), (c, SlaveSet.All, 1), (a, SlaveSet.Of(0, 1), 11), (a, SlaveSet.Of(0, 1), 99)],
            Rows(r0, a, b, c));
        Assert.Equal(
            [(b, SlaveSet.Of(1), 1), (c, SlaveSet.All, 1), (a, SlaveSet.Of(1), 2), (a, SlaveSet.Of(1), 10), (a, SlaveSet.Of(0, 1), 11), (a, SlaveSet.Of(0, 1), 99)],
            Rows(r1, a, b, c));
        // Giving a (which has rows) to slave 1 dumped it to slave 1 (docs/dumps.md).
        Assert.Contains(r1, r => r.Kind == RecordKind.TableDumpChunk && r.Sections.Any(s => s.TableId == a && s.Slaves.Contains(1)));
        // The settings rows themselves go to every slave, in their place: in the mixed transaction, between a 10 and a 11.
        foreach (List<Rec> rs in new[] { r0, r1 })
        {
            List<Sec> settingsSections = rs.SelectMany(r => r.Sections).Where(s => s.TableId == settings).ToList();
            Assert.True(settingsSections.Count >= 3, $"expected the settings changes, got {settingsSections.Count}");
            Assert.All(settingsSections, s => Assert.True(s.Slaves.IsAll));
        }
        Rec mixed = r1.Single(r => r.Kind == RecordKind.Data && r.Sections.Any(s => s.TableId == a && s.Rows.Any(row => Int4(Fields(row)[0]) == 10)));
        Assert.Equal([a, settings, a], mixed.Sections.Select(s => s.TableId));
        // Slave 0 got the mixed transaction without a 10.
        Rec mixed0 = r0.Single(r => r.CommitLsn == mixed.CommitLsn && r.Kind == RecordKind.Data);
        Assert.Equal([settings, a], mixed0.Sections.Select(s => s.TableId));
    }

    [Fact]
    public async Task A_restarted_agent_stamps_old_transactions_with_the_settings_of_their_time()
    {
        await using MasterTestBed bed = await MasterTestBed.StartAsync(pg,
            "CREATE TABLE s (id int PRIMARY KEY); CREATE TABLE r (id int PRIMARY KEY);",
            ["SELECT mammoth.enable_replication('s', '{0}')", "SELECT mammoth.enable_replication('r', '{0}')"]);
        RawSlave s0 = await bed.SlaveAsync(0);
        RawSlave s1 = await bed.SlaveAsync(1);
        (uint s, uint r) = (await bed.OidAsync("s"), await bed.OidAsync("r"));

        await bed.ExecAsync("INSERT INTO s VALUES (1)");
        await bed.WaitForRowAsync(s0, s, 1);
        ulong target = await bed.CurrentLsnAsync();
        await WaitUntilAsync(async () => await bed.ConfirmedFlushAsync() >= target, "the slot to pass the first transaction", bed);
        await bed.StopAgentAsync();

        // While the agent is away: changes under the old settings, then the settings change.
        await bed.ExecAsync("INSERT INTO s VALUES (2)");
        await bed.ExecAsync("INSERT INTO r VALUES (2)");
        await bed.ExecAsync("SELECT mammoth.disable_replication('s')");
        await bed.ExecAsync("SELECT mammoth.enable_replication('r', '{1}')");
        await bed.ExecAsync("INSERT INTO r VALUES (3)");
        await bed.ExecAsync("INSERT INTO s VALUES (3)"); // not replicated any more: not even in the publication
        bed.StartAgent();

        List<Rec> r1 = await bed.WaitForRowAsync(s1, r, 3);
        List<Rec> r0 = await bed.WaitForRowAsync(s0, s, 2);
        await Task.Delay(300);
        r0 = s0.Records;
        Assert.Equal([(s, SlaveSet.Of(0), 1), (s, SlaveSet.Of(0), 2), (r, SlaveSet.Of(0), 2)], Rows(r0, s, r));
        Assert.Equal([(r, SlaveSet.Of(1), 3)], Rows(r1, s, r));
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, MasterTestBed bed, TimeSpan? timeout = null)
    {
        DateTime until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"waited in vain for {what}\n{bed.Context()}");
            await Task.Delay(50);
        }
    }
}
