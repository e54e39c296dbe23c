using System.Collections.Concurrent;
using Gatehouse.UpstreamSimulator.Catalog;
using Gatehouse.UpstreamSimulator.Synthetic;

namespace Gatehouse.UpstreamSimulator;

/// <summary>
/// Everything a test can observe or change in a running simulator: the catalog, request counters and
/// fault toggles. The <c>/_sim/</c> control plane is a thin HTTP skin over this class.
/// </summary>
public sealed class SimulatorState
{
    private readonly Lock _catalogLock = new();
    private readonly SemaphoreSlim _syntheticGate = new(1, 1);
    private readonly ConcurrentDictionary<string, int> _fileFetches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _metadataFetches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _indexFetches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _jsonFetches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _tampered = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UpstreamFault> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _provenance = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private volatile ProjectCatalog _catalog;
    private volatile bool _down;
    private long _delayMs;

    internal SimulatorState(ProjectCatalog catalog, string dataPath, TimeProvider timeProvider)
    {
        _catalog = catalog;
        DataPath = dataPath;
        _timeProvider = timeProvider;
    }

    /// <summary>Folder for synthetic wheels.</summary>
    public string DataPath { get; }

    /// <summary>The current snapshot of projects and files.</summary>
    public ProjectCatalog Catalog => _catalog;

    /// <summary>While true, every non-<c>/_sim/</c> request gets 503.</summary>
    public bool IsDown
    {
        get => _down;
        set => _down = value;
    }

    /// <summary>Pause after the response headers and before any file body is sent.</summary>
    public TimeSpan FileDelay
    {
        get => TimeSpan.FromMilliseconds(Interlocked.Read(ref _delayMs));
        set => Interlocked.Exchange(ref _delayMs, (long)Math.Max(0, value.TotalMilliseconds));
    }

    public DistributionFile? FindFile(string filename) => _catalog.ByFilename.GetValueOrDefault(filename);

    /// <summary>Serve this file with one byte flipped (same length) while the index keeps the original hash.</summary>
    public bool Tamper(string filename)
    {
        var file = FindFile(filename);
        if (file is null || file.Size == 0)
        {
            return false;
        }

        _tampered[filename] = 0;
        return true;
    }

    public bool IsTampered(string filename) => _tampered.ContainsKey(filename);

    /// <summary>Answer every request whose path starts with <paramref name="pathPrefix"/> with <paramref name="fault"/> instead.</summary>
    public void SetFault(string pathPrefix, UpstreamFault fault) => _faults[pathPrefix] = fault;

    /// <summary>The fault of the longest prefix of <paramref name="path"/> that has one, or null.</summary>
    public UpstreamFault? FaultFor(string path) =>
        _faults.Where(f => path.StartsWith(f.Key, StringComparison.Ordinal)).OrderByDescending(f => f.Key.Length).Select(f => f.Value).FirstOrDefault();

    /// <summary>List a PEP 740 provenance URL for this file on the index (and serve a document there).</summary>
    public bool AddProvenance(string filename)
    {
        if (FindFile(filename) is null)
        {
            return false;
        }
        _provenance[filename] = 0;
        return true;
    }

    public bool HasProvenance(string filename) => _provenance.ContainsKey(filename);

    /// <summary>Counters to zero and every toggle back to normal. Synthetic files stay in the index.</summary>
    public void Reset()
    {
        _fileFetches.Clear();
        _metadataFetches.Clear();
        _indexFetches.Clear();
        _jsonFetches.Clear();
        _tampered.Clear();
        _faults.Clear();
        _provenance.Clear();
        _down = false;
        Interlocked.Exchange(ref _delayMs, 0);
    }

    public SimulatorStats GetStats() => new(
        Snapshot(_fileFetches),
        Snapshot(_metadataFetches),
        Snapshot(_indexFetches),
        Snapshot(_jsonFetches),
        _down,
        Interlocked.Read(ref _delayMs),
        _tampered.Keys.Order(StringComparer.Ordinal).ToList(),
        _faults.Keys.Order(StringComparer.Ordinal).ToList(),
        _provenance.Keys.Order(StringComparer.Ordinal).ToList());

    /// <summary>
    /// Writes (once, to <see cref="DataPath"/>) a valid wheel of about <paramref name="size"/> bytes and adds
    /// it to the project's index. Asking again for the same file and size returns the existing one.
    /// </summary>
    public async Task<DistributionFile> AddSyntheticWheelAsync(
        string project, string version, long size, DateTimeOffset? uploadTime = null, CancellationToken ct = default)
    {
        await _syntheticGate.WaitAsync(ct);
        try
        {
            var filename = SyntheticWheel.FilenameFor(project, version);
            if (FindFile(filename) is { } existing)
            {
                return existing.SyntheticRequestedSize == size
                    ? existing
                    : throw new InvalidOperationException($"File '{filename}' already exists with different content.");
            }

            var wheel = await SyntheticWheel.CreateAsync(DataPath, project, version, size, ct);
            lock (_catalogLock)
            {
                var file = wheel with
                {
                    UploadTime = DistributionFile.ToMicroseconds(uploadTime ?? _timeProvider.GetUtcNow()),
                    Serial = _catalog.LastSerial + 1,
                };
                _catalog = _catalog.With(file);
                return file;
            }
        }
        finally
        {
            _syntheticGate.Release();
        }
    }

    internal void CountFileFetch(string filename) => _fileFetches.AddOrUpdate(filename, 1, (_, n) => n + 1);

    internal void CountMetadataFetch(string filename) => _metadataFetches.AddOrUpdate(filename, 1, (_, n) => n + 1);

    internal void CountIndexFetch(string project) => _indexFetches.AddOrUpdate(project, 1, (_, n) => n + 1);

    internal void CountJsonFetch(string project) => _jsonFetches.AddOrUpdate(project, 1, (_, n) => n + 1);

    private static IReadOnlyDictionary<string, int> Snapshot(ConcurrentDictionary<string, int> counters) =>
        new SortedDictionary<string, int>(counters, StringComparer.Ordinal);
}
