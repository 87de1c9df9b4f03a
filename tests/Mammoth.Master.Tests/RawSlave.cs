using System.Buffers;
using Mammoth.Log.Records;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Master.Tests;

/// <summary>
/// A slave that speaks the wire protocol and only records: subscribes from recno 1, decodes every record,
/// checks recnos are gapless and payload CRCs hold, and acknowledges.
/// </summary>
public sealed class RawSlave : IAsyncDisposable
{
    private readonly SlaveLink _link;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private readonly List<Rec> _received = [];
    private long _applied;

    private RawSlave(SlaveLink link, short no)
    {
        _link = link;
        No = no;
        _loop = Task.Run(LoopAsync);
    }

    public short No { get; }

    public StateChange? LastState { get; private set; }

    public static async Task<RawSlave> StartAsync(TestMcp mcp, short no)
    {
        SlaveLink link = await SlaveLink.ConnectAsync(mcp.Options(NodeRole.Slave, no));
        await link.SubscribeAsync(1);
        return new RawSlave(link, no);
    }

    /// <summary>Everything received so far (a copy).</summary>
    public List<Rec> Records
    {
        get
        {
            lock (_received)
                return [.. _received];
        }
    }

    /// <summary>DATA records only.</summary>
    public List<Rec> Data => Records.Where(r => r.Kind == RecordKind.Data).ToList();

    private async Task LoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            SlaveMessage m = await _link.ReceiveAsync(_cts.Token);
            if (m.State is not null)
            {
                LastState = m.State;
                continue;
            }
            long last = _applied;
            var batch = new List<Rec>();
            SlaveLink.ForEachRecord(m.Records, (h, rec) =>
            {
                if (h.Recno != last + 1)
                    throw new InvalidOperationException($"slave {No}: record {h.Recno} after {last}");
                byte[] bytes = rec.ToArray();
                if (Mammoth.Log.Crc32C.Compute(bytes.AsSpan(RecordHeader.Size)) != h.PayloadCrc)
                    throw new InvalidOperationException($"slave {No}: record {h.Recno} fails its payload CRC");
                batch.Add(Mammoth.Master.Tests.Records.Decode(h, bytes));
                last = h.Recno;
            });
            lock (_received)
                _received.AddRange(batch);
            _applied = last;
            await _link.AckAsync(last, _cts.Token);
        }
    }

    /// <summary>Waits until <paramref name="done"/> holds for the records received, or fails after the timeout.</summary>
    public async Task<List<Rec>> WaitAsync(Func<List<Rec>, bool> done, string what, TimeSpan? timeout = null, Func<string>? context = null)
    {
        DateTime until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            if (_loop.IsFaulted)
                await _loop;
            List<Rec> now = Records;
            if (done(now))
                return now;
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"slave {No}: {what} did not happen within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s; " +
                    $"{now.Count} records received, last: {string.Join(" | ", now.TakeLast(5))}{(context is null ? "" : "\n" + context())}");
            }
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _link.DisposeAsync();
        _cts.Dispose();
    }
}
