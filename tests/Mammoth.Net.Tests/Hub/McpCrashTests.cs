using System.Diagnostics;
using Mammoth.Log.Records;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Xunit;
using Xunit.Abstractions;

namespace Mammoth.Net.Tests.Hub;

/// <summary>The real mcp_server process, SIGKILLed and restarted while a master writes and a slave reads.</summary>
public class McpCrashTests(ITestOutputHelper output)
{
    private sealed class McpProcess(string conf, string log) : IDisposable
    {
        private Process? _p;

        public void Start()
        {
            string dll = Path.Combine(AppContext.BaseDirectory, "mcp_server.dll");
            _p = Process.Start(new ProcessStartInfo("dotnet", [dll, "-c", conf, "-l", log]) { RedirectStandardError = true })!;
        }

        public void Kill()
        {
            _p!.Kill();
            _p.WaitForExit();
        }

        public void Dispose()
        {
            if (_p is { HasExited: false })
                Kill();
            _p?.Dispose();
            _p = null;
        }
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> connect)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return await connect();
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or TimeoutException or McpRefusedException && DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task Killing_the_mcp_mid_stream_loses_and_duplicates_nothing()
    {
        await using McpHarness layout = await McpHarness.StartAsync(); // only for its folder and config text
        int port = layout.Port;
        await layout.Server.StopAsync();
        string conf = layout.WriteConfig("mcp_echo_timeout = 5s", port);
        using var mcp = new McpProcess(conf, Path.Combine(Path.GetDirectoryName(conf)!, "mcp.log"));
        mcp.Start();

        McpClientOptions Opt(NodeRole role, short slave = -1) => new()
        {
            Host = "127.0.0.1", Port = port, AuthKey = McpHarness.AuthKey, Role = role, SlaveNo = slave, SystemId = 42,
        };

        const long N = 20_000;
        long confirmed = 0; // transactions the MCP reported durable (the master's "slot")
        var received = new List<long>();
        long applied = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        Task slave = Task.Run(async () =>
        {
            while (applied < N && !stop.IsCancellationRequested)
            {
                try
                {
                    await using SlaveLink link = await RetryAsync(() => SlaveLink.ConnectAsync(Opt(NodeRole.Slave, 0)));
                    await link.SubscribeAsync(applied + 1);
                    while (applied < N)
                    {
                        SlaveMessage m = await link.ReceiveAsync(stop.Token);
                        if (m.State is not null)
                            throw new InvalidOperationException("unexpected state " + m.State);
                        SlaveLink.ForEachRecord(m.Records, (h, rec) =>
                        {
                            Assert.Equal(applied + 1, h.Recno);
                            byte[] bytes = System.Buffers.BuffersExtensions.ToArray(rec);
                            foreach ((uint _, long n) in TestRecords.Values(bytes.AsSpan(RecordHeader.Size)))
                                received.Add(n);
                            applied = h.Recno;
                        });
                        await link.AckAsync(applied, stop.Token);
                    }
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or McpRefusedException)
                {
                    // The MCP died: reconnect and resume at applied + 1.
                }
            }
        });

        var rnd = new Random(3);
        int kills = 0;
        long nextKillAt = 3000;
        while (confirmed < N && !stop.IsCancellationRequested)
        {
            try
            {
                await using MasterLink master = await RetryAsync(() => MasterLink.ConnectAsync(Opt(NodeRole.Master)));
                // Resume after what the MCP confirmed durable: re-sends may overlap what it stored; it drops those.
                long next = confirmed + 1;
                while (confirmed < N)
                {
                    if (next <= N && next - confirmed < 2000)
                    {
                        int k = (int)Math.Min(N - next + 1, rnd.Next(1, 60));
                        var frame = new List<byte>();
                        for (int i = 0; i < k; i++, next++)
                            frame.AddRange(TestRecords.Transaction(next, SlaveSet.All));
                        await master.SendRecordsAsync(frame.ToArray(), stop.Token);
                    }
                    else
                    {
                        await master.DurableAdvanced.WaitAsync(stop.Token);
                    }
                    confirmed = Math.Max(confirmed, TestRecords.LsnToN(master.LastDurable.CommitLsn));
                    if (kills < 4 && next > nextKillAt)
                    {
                        mcp.Kill();
                        kills++;
                        nextKillAt += 4000;
                        output.WriteLine($"killed the MCP after sending {next - 1}, confirmed {confirmed}");
                        mcp.Start();
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or McpRefusedException or OperationCanceledException && !stop.IsCancellationRequested)
            {
            }
        }
        await slave.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(4, kills);
        Assert.Equal(Enumerable.Range(1, (int)N).Select(i => (long)i), received);
    }
}
