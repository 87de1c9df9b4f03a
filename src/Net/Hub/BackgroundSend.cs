using System.Threading.Tasks.Sources;
using Mammoth.Net.Transport;

namespace Mammoth.Net.Hub;

/// <summary>
/// Sends one RECORDS frame at a time on a thread-pool thread, so that a slave sender can read and check its
/// next batch while the socket copies this one (on Linux the copy into the socket buffer runs inside the
/// send() call, in the thread that sends). Reused for every batch of a session: nothing is allocated per send.
/// </summary>
/// <remarks>One send at a time: the task of <see cref="StartAsync"/> must be awaited (once) before the next start.</remarks>
internal sealed class BackgroundSend : IThreadPoolWorkItem, IValueTaskSource
{
    private readonly FrameConnection _connection;
    private readonly Action _onSent;
    private ManualResetValueTaskSourceCore<bool> _core; // a mutable struct: never readonly
    private IReadOnlyList<ReadOnlyMemory<byte>> _pieces = [];
    private CancellationToken _ct;
    private ValueTask _send;

    public BackgroundSend(FrameConnection connection)
    {
        _connection = connection;
        _onSent = OnSent;
    }

    /// <summary>Starts sending <paramref name="pieces"/> as one RECORDS frame; they must stay valid until the task completes.</summary>
    public ValueTask StartAsync(IReadOnlyList<ReadOnlyMemory<byte>> pieces, CancellationToken ct)
    {
        _core.Reset();
        _pieces = pieces;
        _ct = ct;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        return new ValueTask(this, _core.Version);
    }

    void IThreadPoolWorkItem.Execute()
    {
        try
        {
            _send = _connection.SendRecordsAsync(_pieces, _ct);
        }
        catch (Exception ex)
        {
            _pieces = [];
            _core.SetException(ex);
            return;
        }
        if (_send.IsCompleted)
            OnSent();
        else
            _send.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onSent);
    }

    private void OnSent()
    {
        ValueTask send = _send;
        _send = default;
        _pieces = [];
        try
        {
            send.GetAwaiter().GetResult();
            _core.SetResult(true);
        }
        catch (Exception ex)
        {
            _core.SetException(ex);
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
