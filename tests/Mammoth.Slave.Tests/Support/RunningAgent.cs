using Mammoth.Net.Configuration;
using Mammoth.Nodes.Slave;

namespace Mammoth.Slave.Tests.Support;

/// <summary>A slave agent running in the test process.</summary>
internal sealed class RunningAgent : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private RunningAgent(SlaveAgent agent, TestLog log, NodeSettings settings)
    {
        Agent = agent;
        Log = log;
        Settings = settings;
        Run = Task.Run(() => agent.RunAsync(_stop.Token));
    }

    public SlaveAgent Agent { get; }
    public TestLog Log { get; }
    public NodeSettings Settings { get; }
    public Task Run { get; }

    /// <summary>Short retry and keep-alive timings, so tests do not wait for seconds.</summary>
    public static SlaveAgentOptions FastOptions => new()
    {
        RetryMin = TimeSpan.FromMilliseconds(100),
        RetryMax = TimeSpan.FromMilliseconds(500),
        KeepaliveInterval = TimeSpan.FromMilliseconds(500),
        StatusInterval = TimeSpan.FromMilliseconds(100),
        ProtectionInterval = TimeSpan.FromSeconds(2),
    };

    public static RunningAgent Start(string nodeConf, SlaveAgentOptions? options = null)
    {
        NodeSettings settings = NodeSettings.Parse(nodeConf);
        var log = new TestLog();
        return new RunningAgent(new SlaveAgent(settings, log.Log, options ?? FastOptions), log, settings);
    }

    public SlaveAgentStatus Status() => SlaveAgentStatus.Read(Settings.DataPath);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Agent.DisposeAsync();
        Log.Dispose();
    }
}
