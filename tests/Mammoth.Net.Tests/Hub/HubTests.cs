using System.Net;
using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Net.Hub;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Xunit;

namespace Mammoth.Net.Tests.Hub;

public class HubTests
{
    /// <summary>Sends transactions from..to in frames of 1..maxPerFrame records.</summary>
    internal static async Task SendAsync(MasterLink master, long from, long to, Func<long, SlaveSet[]> sets, int maxPerFrame = 40, int seed = 1)
    {
        var rnd = new Random(seed);
        for (long n = from; n <= to;)
        {
            int k = (int)Math.Min(to - n + 1, rnd.Next(1, maxPerFrame + 1));
            var frame = new List<byte>();
            for (int i = 0; i < k; i++, n++)
                frame.AddRange(TestRecords.Transaction(n, sets(n)));
            await master.SendRecordsAsync(frame.ToArray());
        }
    }

    internal static SlaveSet[] Pattern(long n) => (n % 3) switch
    {
        0 => [SlaveSet.All],
        1 => [SlaveSet.Of(0)],
        _ => [SlaveSet.Of(0), SlaveSet.Of(1)],
    };

    [Fact]
    public async Task Fans_out_to_three_slaves_in_order_without_gaps_filtered_per_slave()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0);
        await using RecordingSlave s1 = await RecordingSlave.StartAsync(mcp, 1);
        await using RecordingSlave s2 = await RecordingSlave.StartAsync(mcp, 2);
        await using MasterLink master = await mcp.MasterAsync();
        const int N = 3000;
        await SendAsync(master, 1, N, Pattern);
        await master.WaitDurableAsync(1, 1000 + N, 0).WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(s0.WaitForAsync(N), s1.WaitForAsync(N), s2.WaitForAsync(N));

        foreach ((RecordingSlave s, int no) in new[] { (s0, 0), (s1, 1), (s2, 2) })
        {
            Assert.Equal(N, s.Received.Count);
            for (int i = 0; i < N; i++)
            {
                var (recno, kind, lsn, values) = s.Received[i];
                long n = i + 1;
                Assert.Equal(n, recno);
                Assert.Equal(1000 + (ulong)n, lsn); // EMPTY stand-ins keep the LSN
                var expected = new List<(uint, long)>();
                uint table = 1;
                foreach (SlaveSet set in Pattern(n))
                {
                    if (set.Contains(no))
                        expected.Add((table, n));
                    table++;
                }
                if (expected.Count == 0)
                {
                    Assert.Equal(RecordKind.Empty, kind);
                }
                else
                {
                    Assert.Equal(RecordKind.Data, kind);
                    Assert.Equal(expected, values);
                }
            }
        }
        // Acks reach the MCP's state.
        await WaitUntil(() => mcp.Server.SnapshotState().Slaves.All(r => r.AckRecno == N && r.State == SlaveSyncState.SYNC));
    }

    internal static async Task WaitUntil(Func<bool> condition, int seconds = 20)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > until)
                throw new TimeoutException("condition not reached");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_slave_that_stops_reading_stalls_neither_the_master_nor_the_other_slaves()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using SlaveLink stuck = await mcp.SlaveAsync(1);
        await stuck.SubscribeAsync(1); // and never reads again
        await using RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0);
        await using MasterLink master = await mcp.MasterAsync();
        GC.Collect();
        long before = GC.GetTotalMemory(true);
        // ~40 MB of records: far more than the stuck slave's socket buffers can hold.
        const int N = 20_000;
        var payload = new byte[2000];
        for (long n = 1; n <= N; n += 50)
        {
            var frame = new List<byte>();
            for (long i = n; i < n + 50; i++)
            {
                using var b = new RecordBuilder(4096);
                b.Begin(RecordKind.Data);
                b.BeginSection(1, ChangeOp.Insert, SlaveSet.All, 2);
                b.BeginTuple(2);
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(b.AddField(8), i);
                b.AddField(payload);
                b.EndSection();
                frame.AddRange(b.Finish(epoch: 1, commitLsn: 1000 + (ulong)i).ToArray());
            }
            await master.SendRecordsAsync(frame.ToArray());
        }
        await master.WaitDurableAsync(1, 1000 + N, 0).WaitAsync(TimeSpan.FromSeconds(60));
        await s0.WaitForAsync(N, TimeSpan.FromSeconds(60));
        long after = GC.GetTotalMemory(true);
        Assert.True(after - before < 16 << 20, $"managed memory grew by {(after - before) >> 20} MiB while a slave was stuck");
        SlaveSession stuckSession = mcp.Server.SlaveSessions().Single(x => x.SlaveNo == 1);
        Assert.True(stuckSession.SentRecno < N, "the stuck slave cannot have taken everything");
    }

    [Fact]
    public async Task A_reconnecting_slave_resumes_at_ack_plus_one()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using MasterLink master = await mcp.MasterAsync();
        long applied;
        await using (RecordingSlave s = await RecordingSlave.StartAsync(mcp, 0))
        {
            await SendAsync(master, 1, 100, _ => [SlaveSet.All]);
            await s.WaitForAsync(100);
            applied = s.Applied;
        }
        await SendAsync(master, 101, 250, _ => [SlaveSet.All]);
        await WaitUntil(() => !mcp.Server.SnapshotState().Slave(0).Connected);
        await using (SlaveLink probe = await mcp.SlaveAsync(0))
            Assert.Equal(applied, probe.Welcome.SlaveAck);
        await WaitUntil(() => !mcp.Server.SnapshotState().Slave(0).Connected);
        await using RecordingSlave again = await RecordingSlave.StartAsync(mcp, 0, applied + 1);
        await again.WaitForAsync(250);
        Assert.Equal(Enumerable.Range(101, 150).Select(i => (long)i), again.Received.Select(r => r.Recno));
    }

    [Fact]
    public async Task A_reconnecting_master_resends_and_duplicates_are_dropped()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using RecordingSlave s = await RecordingSlave.StartAsync(mcp, 0);
        await using (MasterLink m1 = await mcp.MasterAsync())
        {
            await SendAsync(m1, 1, 50, _ => [SlaveSet.All]);
            await m1.WaitDurableAsync(1, 1050, 0).WaitAsync(TimeSpan.FromSeconds(20));
        }
        await WaitUntil(() => mcp.Server.SnapshotState().MasterConnected == false);
        await using MasterLink m2 = await mcp.MasterAsync();
        Assert.Equal(1050ul, m2.Welcome.LastLsn);
        await SendAsync(m2, 40, 80, _ => [SlaveSet.All]); // 40..50 again
        await m2.WaitDurableAsync(1, 1080, 0).WaitAsync(TimeSpan.FromSeconds(20));
        await s.WaitForAsync(80);
        Assert.Equal(Enumerable.Range(1, 80).Select(i => (long)i), s.Received.SelectMany(r => r.Values).Select(v => v.N));
    }

    [Fact]
    public async Task Refusals_each_have_their_own_message_while_others_keep_streaming()
    {
        await using McpHarness mcp = await McpHarness.StartAsync("mcp_slave_addresses = '0:127.0.0.1,1:127.0.0.3'\nmcp_max_slaves = 2");
        await using RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0);
        await using MasterLink master = await mcp.MasterAsync();
        Task streaming = Task.Run(() => SendAsync(master, 1, 2000, _ => [SlaveSet.All], 5));

        var wrongKey = await Assert.ThrowsAsync<McpRefusedException>(() => SlaveLink.ConnectAsync(mcp.Options(NodeRole.Slave, 1, key: "wrong", from: IPAddress.Parse("127.0.0.3"))));
        Assert.Equal(ErrorCode.AuthFailed, wrongKey.Code);
        Assert.Contains("replication_mcp_authkey does not match mcp_authkey", wrongKey.Message);

        var unknown = await Assert.ThrowsAsync<McpRefusedException>(() => SlaveLink.ConnectAsync(mcp.Options(NodeRole.Slave, 5)));
        Assert.Equal(ErrorCode.UnknownSlave, unknown.Code);
        Assert.Contains("slave number 5 is not configured in mcp_slave_addresses", unknown.Message);

        var address = await Assert.ThrowsAsync<McpRefusedException>(() => SlaveLink.ConnectAsync(mcp.Options(NodeRole.Slave, 1, from: IPAddress.Parse("127.0.0.2"))));
        Assert.Equal(ErrorCode.AddressRefused, address.Code);
        Assert.Contains("slave 1 connection from 127.0.0.2 refused: mcp_slave_addresses allows it only from 127.0.0.3", address.Message);

        var twice = await Assert.ThrowsAsync<McpRefusedException>(() => SlaveLink.ConnectAsync(mcp.Options(NodeRole.Slave, 0)));
        Assert.Equal(ErrorCode.AlreadyConnected, twice.Code);

        var secondMaster = await Assert.ThrowsAsync<McpRefusedException>(() => MasterLink.ConnectAsync(mcp.Options(NodeRole.Master)));
        Assert.Equal(ErrorCode.AlreadyConnected, secondMaster.Code);

        // The right slave 1 from the right address gets in.
        await using (SlaveLink ok = await SlaveLink.ConnectAsync(mcp.Options(NodeRole.Slave, 1, from: IPAddress.Parse("127.0.0.3"))))
            Assert.Equal(1ul, (ulong)mcp.Server.SnapshotState().Epoch);

        await streaming;
        await s0.WaitForAsync(2000);
        string log = mcp.LogText;
        Assert.Contains("failed to authenticate", log);
        Assert.Contains("not configured in mcp_slave_addresses", log);
        Assert.Contains("refused: mcp_slave_addresses allows it only from", log);
    }

    [Fact]
    public async Task One_slave_too_many_and_a_foreign_master_are_refused()
    {
        await using McpHarness mcp = await McpHarness.StartAsync("mcp_max_slaves = 2");
        await using RecordingSlave s0 = await RecordingSlave.StartAsync(mcp, 0);
        await using RecordingSlave s1 = await RecordingSlave.StartAsync(mcp, 1);
        var third = await Assert.ThrowsAsync<McpRefusedException>(() => mcp.SlaveAsync(2));
        Assert.Equal(ErrorCode.TooManySlaves, third.Code);
        Assert.Contains("2 slaves are connected and mcp_max_slaves is 2", third.Message);

        await using (MasterLink m = await mcp.MasterAsync(systemId: 111))
            await SendAsync(m, 1, 10, _ => [SlaveSet.All]);
        await WaitUntil(() => !mcp.Server.SnapshotState().MasterConnected);
        var foreign = await Assert.ThrowsAsync<McpRefusedException>(() => mcp.MasterAsync(systemId: 222));
        Assert.Equal(ErrorCode.Fenced, foreign.Code);
        Assert.Contains("is not the master of epoch 1", foreign.Message);
        await Task.WhenAll(s0.WaitForAsync(10), s1.WaitForAsync(10));
    }

    [Fact]
    public async Task A_master_address_that_does_not_match_is_refused()
    {
        await using McpHarness mcp = await McpHarness.StartAsync("mcp_master_address = 127.0.0.5");
        var e = await Assert.ThrowsAsync<McpRefusedException>(() => mcp.MasterAsync());
        Assert.Equal(ErrorCode.AddressRefused, e.Code);
        Assert.Contains("master connection from 127.0.0.1 refused: mcp_master_address is 127.0.0.5", e.Message);
        await using MasterLink ok = await MasterLink.ConnectAsync(mcp.Options(NodeRole.Master, from: IPAddress.Parse("127.0.0.5")));
    }

    [Fact]
    public async Task Slave_status_halts_show_in_the_state_and_recover()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using SlaveLink s = await mcp.SlaveAsync(0);
        await s.SubscribeAsync(1);
        await s.SendStatusAsync(0, true, "relation \"public.t\" does not exist");
        await WaitUntil(() => mcp.Server.SnapshotState().Slave(0) is { State: SlaveSyncState.DESYNC, HaltError: "relation \"public.t\" does not exist" });
        await s.SendStatusAsync(0, false, null);
        await WaitUntil(() => mcp.Server.SnapshotState().Slave(0) is { State: SlaveSyncState.SYNC, HaltError: null });
    }

    [Fact]
    public async Task Invalid_records_from_the_master_end_its_connection_with_an_error()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        await using MasterLink m = await mcp.MasterAsync();
        byte[] rec = TestRecords.Transaction(1, SlaveSet.All);
        rec[^1] ^= 0xFF; // payload CRC no longer matches
        await m.SendRecordsAsync(rec);
        var e = await Assert.ThrowsAsync<McpRefusedException>(() => m.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ErrorCode.RecordInvalid, e.Code);
        Assert.Contains("payload checksum", e.Message);
        Assert.Equal(0, mcp.Server.SnapshotState().Slaves.Count(s => s.AckRecno > 0));
    }
}
