using Mammoth.Log.Index;
using Mammoth.Net.Diagnostics;

namespace Mammoth.Net.Hub;

public sealed partial class McpServer
{
    private KeyIndexer? _indexer;

    /// <summary>The key index (mcp_key_index = on), or null.</summary>
    internal KeyIndexer? Indexer => _indexer;

    /// <summary>Opens the key index and follows the durable log with it; a failing index is turned off, never the MCP.</summary>
    private void StartIndexer()
    {
        if (!_settings.KeyIndex)
            return;
        try
        {
            _indexer = KeyIndexer.Open(_settings.TxlogPath, m => _log.Write(PgLogLevel.Warning, "key index: " + m));
            long n = _indexer.CatchUp(TxLog);
            _log.Write(PgLogLevel.Log, $"key index through record {_indexer.Index.IndexedThroughRecno} ({n} records replayed)");
            _background.Add(Task.Run(IndexLoopAsync));
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ArgumentException or FormatException)
        {
            _log.Write(PgLogLevel.Error, $"key index disabled: {ex.Message}");
            _indexer?.Dispose();
            _indexer = null;
        }
    }

    private async Task IndexLoopAsync()
    {
        KeyIndexer indexer = _indexer!;
        DateTime lastCheckpoint = DateTime.UtcNow;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                Task advanced = TxLog.DurableAdvanced;
                indexer.CatchUp(TxLog);
                if (DateTime.UtcNow - lastCheckpoint > TimeSpan.FromSeconds(30))
                {
                    await indexer.CheckpointAsync(_stop.Token).ConfigureAwait(false);
                    lastCheckpoint = DateTime.UtcNow;
                }
                await Task.WhenAny(advanced, Task.Delay(TimeSpan.FromSeconds(5), _stop.Token)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or FormatException or ArgumentException)
        {
            _log.Write(PgLogLevel.Error, $"key index stopped: {ex.Message}; lookups will be answered by a scan until the next start");
        }
    }

    private async Task StopIndexerAsync()
    {
        if (_indexer is null)
            return;
        try
        {
            _indexer.CatchUp(TxLog);
            await _indexer.CheckpointAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            _log.Write(PgLogLevel.Warning, $"key index checkpoint at shutdown failed: {ex.Message}; it is replayed from the log at the next start");
        }
        _indexer.Dispose();
        _indexer = null;
    }
}
