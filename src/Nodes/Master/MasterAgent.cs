using System.Net.Sockets;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Npgsql;

namespace Mammoth.Nodes.Master;

/// <summary>
/// The master side of the agent: reads committed transactions from logical slot <c>mammoth</c> (pgoutput,
/// binary), ships each as records to the MCP, and confirms to the slot only what the MCP made durable.
/// See docs/master-agent.md.
/// </summary>
/// <remarks>
/// Runs sessions until cancelled. Any failure (PostgreSQL, the MCP link, a refusal by the MCP) ends the
/// session with one log line; the next starts after a back-off of 1 s, doubling up to 30 s, and streams again
/// from the slot's confirmed position — the MCP drops what it already stored.
/// </remarks>
public sealed class MasterAgent : IAsyncDisposable
{
    private readonly NodeSettings _settings;
    private readonly MammothLog _log;
    private readonly MasterAgentOptions _options;

    public MasterAgent(NodeSettings settings, MammothLog log)
        : this(settings, log, null)
    {
    }

    public MasterAgent(NodeSettings settings, MammothLog log, MasterAgentOptions? options)
    {
        _settings = settings;
        _log = log;
        _options = options ?? new MasterAgentOptions { DumpWorkers = settings.DumpWorkers };
        if (_options.MaxRecordPayload < 4096)
            throw new ArgumentOutOfRangeException(nameof(options), "MaxRecordPayload must be at least 4096 bytes");
    }

    /// <summary>Counters across sessions.</summary>
    public MasterStatistics Statistics { get; } = new();

    /// <summary>Captures until <paramref name="ct"/> is cancelled; returns then (never throws for a failure).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        TimeSpan delay = _options.ReconnectDelay;
        while (!ct.IsCancellationRequested)
        {
            var session = new CaptureSession(_settings, _log, _options, Statistics);
            long started = Environment.TickCount64;
            try
            {
                await session.RunAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                if (session.Streamed && Environment.TickCount64 - started >= _options.MaxReconnectDelay.TotalMilliseconds)
                    delay = _options.ReconnectDelay;
                _log.Write(PgLogLevel.Error, $"master capture stopped: {Describe(ex)}; reconnecting in {delay.TotalSeconds:0.#} s");
                if (_log.IsEnabled(PgLogLevel.Debug2))
                    _log.Write(PgLogLevel.Debug2, ex.ToString());
            }
            Statistics.SetStreaming(false);
            try
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
        }
    }

    /// <summary>One sentence for the log.</summary>
    internal string Describe(Exception ex) => ex switch
    {
        MasterSetupException => ex.Message,
        McpRefusedException r => $"the MCP at {_settings.McpAddress}:{_settings.McpPort} refused: {r.Message}",
        ProtocolException p => $"the MCP link broke the protocol: {p.Message}",
        PostgresException pg => $"PostgreSQL reported: {pg.MessageText} (SQLSTATE {pg.SqlState})",
        NpgsqlException { InnerException: SocketException s } => $"cannot reach PostgreSQL ({s.Message})",
        NpgsqlException n => $"the PostgreSQL connection failed: {n.Message}{(n.InnerException is { } i ? $" ({i.Message})" : "")}",
        SocketException s => $"cannot reach the MCP at {_settings.McpAddress}:{_settings.McpPort} ({s.Message})",
        TimeoutException t => t.Message,
        IOException io => $"connection lost: {io.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
