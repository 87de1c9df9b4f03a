namespace Mammoth.Nodes.Slave;

/// <summary>Exponential back-off between retries.</summary>
internal sealed class Backoff(TimeSpan min, TimeSpan max)
{
    private readonly TimeSpan _min = min;
    private readonly TimeSpan _max = max;
    private TimeSpan _next = min;

    public TimeSpan Next()
    {
        TimeSpan d = _next;
        _next = TimeSpan.FromTicks(Math.Min(_max.Ticks, _next.Ticks * 2));
        return d;
    }

    public void Reset() => _next = _min;
}
