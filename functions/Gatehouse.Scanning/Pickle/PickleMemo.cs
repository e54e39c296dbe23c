namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// The unpickler's memo as arena handles: 8 bytes an entry for the dense keys picklers write (0, 1, 2 …), a dictionary
/// only for keys far beyond the entries so far (a PUT of 2^40 must not allocate 2^40 slots).
/// </summary>
internal sealed class PickleMemo(PickleArena arena, MemoryBudget budget)
{
    // A Dictionary<long, ulong> entry with its bucket, rounded up.
    private const int SparseEntryBytes = 40;

    private readonly ChunkedArray<ulong> _dense = new(budget, sizeof(ulong));
    private Dictionary<long, ulong>? _sparse;

    /// <summary>Distinct keys stored.</summary>
    public long Count { get; private set; }

    /// <summary>The value memoized under <paramref name="key"/>; false when there is none.</summary>
    public bool TryGet(long key, out PickleValue value)
    {
        ulong handle = 0;
        if (key < _dense.Capacity)
        {
            handle = _dense[key];
        }
        else
        {
            _sparse?.TryGetValue(key, out handle);
        }
        value = arena.Unpack(handle);
        return handle != 0;
    }

    /// <summary>Memoizes <paramref name="value"/> under <paramref name="key"/>; true when the key is new.</summary>
    public bool Put(long key, PickleValue value)
    {
        var handle = arena.Pack(value);
        if (key >= _dense.Capacity && key <= (Count * 2) + 1024)
        {
            _dense.EnsureCapacity(key + 1);
            MoveSparseIntoDense();
        }
        if (key < _dense.Capacity)
        {
            ref var slot = ref _dense[key];
            var added = slot == 0;
            slot = handle;
            Count += added ? 1 : 0;
            return added;
        }
        _sparse ??= [];
        if (_sparse.TryAdd(key, handle))
        {
            budget.Charge(SparseEntryBytes);
            Count++;
            return true;
        }
        _sparse[key] = handle;
        return false;
    }

    private void MoveSparseIntoDense()
    {
        if (_sparse is null)
        {
            return;
        }
        foreach (var (key, handle) in _sparse)
        {
            if (key < _dense.Capacity)
            {
                _dense[key] = handle;
                _sparse.Remove(key);
            }
        }
    }
}
