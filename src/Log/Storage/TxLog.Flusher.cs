namespace Mammoth.Log.Storage;

public sealed partial class TxLog
{
    // Hand-off between appender and flusher, under _syncLock: taken once per buffer write, not per record.
    private readonly object _syncLock = new();
    private List<Segment> _unsynced = [];
    private List<Segment> _syncing = [];
    private long _writtenRecno;
    private bool _dirDirty;
    private readonly SemaphoreSlim _flushSignal = new(0, int.MaxValue);
    private Thread? _flusher;
    private volatile bool _stopping;
    private volatile Exception? _failure;

    // Published durable position: readers and waiters.
    private long _durableRecno;
    private TaskCompletionSource _durableAdvanced;

    /// <summary>
    /// Completes when every record ≤ <paramref name="recno"/> is durable. The records must have been
    /// written (FlushBytes reached or <see cref="Flush"/> called), or this waits until they are.
    /// </summary>
    public ValueTask WaitForDurableAsync(long recno, CancellationToken ct = default)
    {
        if (Volatile.Read(ref _durableRecno) >= recno)
            return default;
        return SlowWaitAsync(this, recno, ct);

        static async ValueTask SlowWaitAsync(TxLog log, long recno, CancellationToken ct)
        {
            while (true)
            {
                // Read the signal before the position: the flusher publishes the position, then swaps the signal.
                Task advanced = Volatile.Read(ref log._durableAdvanced).Task;
                if (Volatile.Read(ref log._durableRecno) >= recno)
                    return;
                if (log._failure is { } f)
                    throw new TxLogException($"txlog \"{log.Path}\" failed to sync: {f.Message}", f);
                ObjectDisposedException.ThrowIf(log._disposed, log);
                await advanced.WaitAsync(ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A task that completes the next time <see cref="DurableRecno"/> advances (or the log fails).</summary>
    public Task DurableAdvanced => Volatile.Read(ref _durableAdvanced).Task;

    private void StartFlusher()
    {
        _flusher = new Thread(FlushLoop) { IsBackground = true, Name = "txlog-flusher" };
        _flusher.Start();
    }

    private void StopFlusher()
    {
        if (_flusher is null)
            return;
        _stopping = true;
        _flushSignal.Release();
        _flusher.Join();
        _flusher = null;
        lock (_syncLock)
        {
            foreach (Segment s in _unsynced)
                s.Release();
            _unsynced.Clear();
        }
        Volatile.Read(ref _durableAdvanced).TrySetResult();
    }

    private void FlushLoop()
    {
        string dir = System.IO.Path.GetFullPath(_options.Path);
        while (true)
        {
            _flushSignal.Wait(); // dedicated thread: blocking is its job
            long written;
            bool dirDirty;
            lock (_syncLock)
            {
                (_unsynced, _syncing) = (_syncing, _unsynced);
                written = _writtenRecno;
                dirDirty = _dirDirty;
                _dirDirty = false;
            }
            // Coalesce: signals that arrived while we were syncing are covered by this round.
            while (_flushSignal.CurrentCount > 0 && _flushSignal.Wait(0))
            {
            }
            try
            {
                if (dirDirty)
                    Posix.SyncDirectory(dir);
                foreach (Segment s in _syncing)
                    Posix.DataSync(s.Handle);
            }
            catch (Exception ex)
            {
                // Never retry a failed fsync (the kernel may have dropped the dirty pages): fail the log.
                _failure = ex;
                ReleaseSyncing();
                Volatile.Read(ref _durableAdvanced).TrySetException(new TxLogException($"txlog \"{Path}\" failed to sync: {ex.Message}", ex));
                return;
            }
            if (written > Volatile.Read(ref _durableRecno))
            {
                Volatile.Write(ref _durableRecno, written);
                TaskCompletionSource done = Interlocked.Exchange(ref _durableAdvanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                done.TrySetResult();
            }
            foreach (Segment s in _syncing)
            {
                if (s.IsSealed && s.LastRecno <= written)
                    TryWriteSidecar(s);
            }
            ReleaseSyncing();
            if (_stopping)
            {
                lock (_syncLock)
                {
                    if (_unsynced.Count == 0 && _writtenRecno <= Volatile.Read(ref _durableRecno))
                        return;
                }
            }
        }
    }

    private void ReleaseSyncing()
    {
        foreach (Segment s in _syncing)
            s.Release();
        _syncing.Clear();
    }

    private void TryWriteSidecar(Segment s)
    {
        try
        {
            WriteSidecar(s);
        }
        catch (IOException ex)
        {
            _options.Report?.Invoke($"could not write the sparse index of {s.FileName} ({ex.Message}); it will be rebuilt at the next start");
        }
    }
}
