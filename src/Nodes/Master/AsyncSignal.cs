namespace Mammoth.Nodes.Master;

/// <summary>
/// An auto-reset event for one waiter: <see cref="Set"/> wakes the waiter, or makes its next
/// <see cref="WaitAsync"/> complete at once. Cheap to set when nobody waits (no allocation).
/// </summary>
internal sealed class AsyncSignal
{
    private readonly Lock _lock = new();
    private bool _set;
    private TaskCompletionSource? _waiter;

    public void Set()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            waiter = _waiter;
            _waiter = null;
            if (waiter is null)
                _set = true;
        }
        waiter?.TrySetResult();
    }

    public Task WaitAsync()
    {
        lock (_lock)
        {
            if (_set)
            {
                _set = false;
                return Task.CompletedTask;
            }
            return (_waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }
}
