namespace AppService.Simulator.Workload;

/// <summary>A set with O(1) add, remove and uniform random pick. Iteration order depends only on the sequence
/// of operations, so a seeded generator stays deterministic.</summary>
internal sealed class IndexedSet<T> where T : notnull
{
    private readonly List<T> _items = [];
    private readonly Dictionary<T, int> _index = [];

    public int Count => _items.Count;

    public IReadOnlyList<T> Items => _items;

    public bool Contains(T item) => _index.ContainsKey(item);

    public bool Add(T item)
    {
        if (!_index.TryAdd(item, _items.Count))
        {
            return false;
        }
        _items.Add(item);
        return true;
    }

    public bool Remove(T item)
    {
        if (!_index.Remove(item, out var i))
        {
            return false;
        }
        var last = _items[^1];
        _items.RemoveAt(_items.Count - 1);
        if (i < _items.Count)
        {
            _items[i] = last;
            _index[last] = i;
        }
        return true;
    }

    public T Pick(SeededRandom rng) => _items[rng.Next(_items.Count)];
}
