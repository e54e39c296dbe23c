using System.Collections.Concurrent;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Audit;
using Gatehouse.HuggingFace;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Gatehouse.Upstream;
using Microsoft.Extensions.Hosting;

namespace Gatehouse.Core.Tests.Pipeline;

/// <summary>Facts in memory.</summary>
internal sealed class FakeFacts : IFactsStore
{
    public ConcurrentDictionary<string, ContentFacts> Rows { get; } = new();

    public Task<ContentFacts?> GetAsync(string sha256, CancellationToken cancellationToken) => Task.FromResult(Rows.GetValueOrDefault(sha256));

    public Task SaveAsync(ContentFacts facts, IReadOnlyList<CheckResult> results, CancellationToken cancellationToken)
    {
        Rows[facts.Sha256] = facts;
        return Task.CompletedTask;
    }

    public Task MoveAsync(string sha256, string container, CancellationToken cancellationToken)
    {
        Rows[sha256] = Rows[sha256] with { Container = container };
        return Task.CompletedTask;
    }

    public Task ForgetAsync(string sha256, CancellationToken cancellationToken)
    {
        Rows.TryRemove(sha256, out _);
        return Task.CompletedTask;
    }

    public Task<System.Text.Json.Nodes.JsonNode?> ReportAsync(string sha256, CancellationToken cancellationToken) =>
        Task.FromResult<System.Text.Json.Nodes.JsonNode?>(null);
}

/// <summary>References and their decisions in memory.</summary>
internal sealed class FakeReferences : IReferenceStore
{
    public ConcurrentDictionary<ReferenceKey, StoredReference> Rows { get; } = new();

    public int DecisionWrites;

    public Task RecordAsync(ArtifactReference reference, CancellationToken cancellationToken)
    {
        Rows[reference.Key] = new StoredReference(reference, null);
        return Task.CompletedTask;
    }

    public Task<StoredReference?> GetAsync(ReferenceKey key, CancellationToken cancellationToken) => Task.FromResult(Rows.GetValueOrDefault(key));

    public Task<IReadOnlyList<StoredReference>> ReferencesToAsync(string sha256, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StoredReference>>([.. Rows.Values.Where(r => r.Reference.Sha256 == sha256)]);

    public Task<bool> RecordDecisionAsync(ArtifactReference reference, ArtifactDecision decision, CancellationToken cancellationToken)
    {
        lock (Rows)
        {
            if (Rows.GetValueOrDefault(reference.Key)?.Decision is { } held && held.Decision == decision.Decision && held.Rule == decision.Rule
                && held.PolicyVersion == decision.PolicyVersion)
            {
                return Task.FromResult(false);
            }
            Interlocked.Increment(ref DecisionWrites);
            Rows[reference.Key] = new StoredReference(reference, decision);
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyDictionary<string, string>> RefusedAsync(string partition, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(Rows.Values
            .Where(r => r.Reference.Key.Partition == partition && r.Decision is { IsAllowed: false })
            .ToDictionary(r => r.Reference.Key.Row, r => r.Decision!.Reason));

    public IAsyncEnumerable<StoredReference> ListAsync(CancellationToken cancellationToken) => Rows.Values.ToAsyncEnumerable();

    public IAsyncEnumerable<StoredReference> ListAsync(string partition, CancellationToken cancellationToken) =>
        Rows.Values.Where(r => r.Reference.Key.Partition == partition).OrderBy(r => r.Reference.Key.Row, StringComparer.Ordinal).ToAsyncEnumerable();
}

internal sealed class FakeAudit : IAuditLog
{
    public ConcurrentQueue<(string Action, string Subject, string Detail)> Rows { get; } = new();

    public Task WriteAsync(string action, string subject, string detail, CancellationToken cancellationToken)
    {
        Rows.Enqueue((action, subject, detail));
        return Task.CompletedTask;
    }
}

/// <summary>Claims in memory, on the test's clock.</summary>
internal sealed class FakeClaims(TimeProvider time) : IScanClaims
{
    public ConcurrentDictionary<string, (string Owner, DateTimeOffset At)> Rows { get; } = new();

    public Task<bool> TryClaimAsync(string sha256, string owner, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        lock (Rows)
        {
            if (Rows.TryGetValue(sha256, out var held) && held.Owner != owner && time.GetUtcNow() - held.At < lifetime)
            {
                return Task.FromResult(false);
            }
            Rows[sha256] = (owner, time.GetUtcNow());
            return Task.FromResult(true);
        }
    }

    public Task<TimeSpan?> AgeAsync(string sha256, CancellationToken cancellationToken) =>
        Task.FromResult(Rows.TryGetValue(sha256, out var held) ? time.GetUtcNow() - held.At : (TimeSpan?)null);

    public Task TakeAsync(string sha256, string owner, CancellationToken cancellationToken)
    {
        Rows[sha256] = (owner, time.GetUtcNow());
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string sha256, CancellationToken cancellationToken)
    {
        Rows.TryRemove(sha256, out _);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The content's orchestration as a script: starts are counted (after an optional delay, as Durable's round trip),
/// and each content's scan ends when the test says so.
/// </summary>
internal sealed class FakeScheduler : IScanScheduler
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<ScanOutcome?>> _scans = new();

    public int Starts;

    public TimeSpan StartDelay { get; init; }

    public bool Running { get; set; }

    public Task<bool> IsRunningAsync(string sha256, CancellationToken cancellationToken) => Task.FromResult(Running);

    public async Task StartAsync(ScanRequest request, CancellationToken cancellationToken)
    {
        await Task.Delay(StartDelay, cancellationToken);
        Interlocked.Increment(ref Starts);
        Running = true;
    }

    public Task<ScanOutcome?> WaitForCompletionAsync(string sha256, CancellationToken cancellationToken) =>
        Scan(sha256).Task.WaitAsync(cancellationToken);

    public void Complete(string sha256, ScanOutcome? outcome)
    {
        Running = false;
        Scan(sha256).TrySetResult(outcome);
    }

    private TaskCompletionSource<ScanOutcome?> Scan(string sha256) =>
        _scans.GetOrAdd(sha256, _ => new TaskCompletionSource<ScanOutcome?>(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>A host lifetime a test can stop.</summary>
internal sealed class FakeLifetime : IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();
}

/// <summary>A Hugging Face-like remote that is never asked to fetch.</summary>
internal sealed class NoFetchRemote : IRemote
{
    public RemoteKind Kind => HuggingFaceRemote.Hf;

    public Task<UpstreamResponse> OpenAsync(Uri upstreamUrl, long expectedSize, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("a gate never fetches");

    public ArtifactContext ContextOf(ArtifactReference reference) => HuggingFaceRemote.Context(reference);

    public Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken) => Task.FromResult(ReferenceFacts.None);
}

/// <summary>Storage clients that are never called (the tests keep contents in artifacts, where nothing has to move).</summary>
internal static class UnusedStorage
{
    public static GatehouseStorage Instance { get; } =
        new(new BlobServiceClient("UseDevelopmentStorage=true"), new TableServiceClient("UseDevelopmentStorage=true"));
}
