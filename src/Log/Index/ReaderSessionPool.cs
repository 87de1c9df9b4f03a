namespace Mammoth.Log.Index;

/// <summary>
/// FASTER sessions for concurrent readers. A session may be used by one thread at a time, so each
/// read rents one and gives it back. Renting is one <see cref="Interlocked.Exchange{T}(ref T, T)"/> on
/// a slot picked by thread id, each slot on its own cache line, so readers on different cores do not
/// share a hot line. When every slot is rented the reader gets a short-lived session of its own.
/// </summary>
/// <remarks>
/// <see cref="Close"/> waits until every rented session is back before disposing them, which is what
/// makes it safe to dispose the store under readers: a reader either rents before the pool closes
/// (and the closer waits for it) or sees the pool closed and does not touch the store.
/// Every slot is filled at construction, so an empty slot always means "rented".
/// </remarks>
internal sealed class ReaderSessionPool<TSession> where TSession : class, IDisposable
{
    private const int Stride = 8; // 8 references = 64 bytes: one slot per cache line

    private readonly TSession?[] _slots;
    private readonly int _count;
    private readonly Func<TSession> _factory;
    private int _closed;
    private int _overflowLive;

    public ReaderSessionPool(int count, Func<TSession> factory)
    {
        _count = count;
        _factory = factory;
        _slots = new TSession?[count * Stride];
        for (var i = 0; i < count; i++)
            _slots[i * Stride] = factory();
    }

    /// <summary>A rented session; hand it back with <see cref="Return"/>.</summary>
    public readonly struct Lease(TSession session, int slot)
    {
        public TSession Session { get; } = session;
        internal int Slot { get; } = slot;
    }

    /// <summary>Rents a session; false once the pool is closed.</summary>
    public bool TryRent(out Lease lease)
    {
        var start = Environment.CurrentManagedThreadId % _count;
        for (var i = 0; i < _count; i++)
        {
            var slot = (start + i) % _count * Stride;
            var session = Interlocked.Exchange(ref _slots[slot], null);
            if (session is null)
                continue;
            if (Volatile.Read(ref _closed) != 0)
            {
                Volatile.Write(ref _slots[slot], session); // the closer collects it
                break;
            }
            lease = new Lease(session, slot);
            return true;
        }

        Interlocked.Increment(ref _overflowLive);
        if (Volatile.Read(ref _closed) == 0)
        {
            lease = new Lease(_factory(), -1);
            return true;
        }
        Interlocked.Decrement(ref _overflowLive);
        lease = default;
        return false;
    }

    public void Return(Lease lease)
    {
        if (lease.Slot >= 0)
        {
            Volatile.Write(ref _slots[lease.Slot], lease.Session);
            return;
        }
        lease.Session.Dispose();
        Interlocked.Decrement(ref _overflowLive);
    }

    /// <summary>Stops renting, waits for every rented session to come back and disposes them all.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
            return;
        var spin = new SpinWait();
        for (var i = 0; i < _count; i++)
        {
            TSession? session;
            while ((session = Interlocked.Exchange(ref _slots[i * Stride], null)) is null)
                spin.SpinOnce();
            session.Dispose();
        }
        while (Volatile.Read(ref _overflowLive) != 0)
            spin.SpinOnce();
    }
}
