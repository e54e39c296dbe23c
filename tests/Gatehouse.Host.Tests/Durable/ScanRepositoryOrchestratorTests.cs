using System.Collections.Concurrent;
using Gatehouse.HuggingFace;
using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.Pipeline;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Xunit.Abstractions;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>
/// <see cref="ScanRepositoryOrchestrator"/> on the real durable backend (sidecar over Azure Storage on Azurite, with the
/// sub-orchestration fix), its activities and the scan sub-orchestration replaced by recording fakes registered under
/// the product's names: fan-out bounded by the parallelism, one scan per content, decisions awaited for content someone
/// else is scanning and asked per name, failures reported per file, results in repository order, and progress as
/// custom status.
/// </summary>
public sealed class ScanRepositoryOrchestratorTests(AzuriteStorage storage, ITestOutputHelper output) : IClassFixture<AzuriteStorage>
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private static readonly string ShaA = new('a', 64), ShaB = new('b', 64), ShaC = new('c', 64), ShaD = new('d', 64), ShaE = new('e', 64);

    /// <summary>What the fakes saw.</summary>
    private sealed class Recorder
    {
        public int InFlight;
        public int MaxInFlight;
        public int VerdictReads;
        public int BusyVerdictAfterReads = 3;
        public readonly ConcurrentQueue<string> ScanInstanceIds = new();
        public readonly ConcurrentQueue<string> FetchedPaths = new();
        public readonly ConcurrentQueue<string> AlsoAt = new();
        public readonly ConcurrentQueue<string> OtherNamesRead = new();
    }

    private static readonly List<HfRepoFile> Files =
    [
        new("a/model-00001.safetensors", 1000, new string('1', 40), ShaA),
        new("a/model-00002.safetensors", 1000, new string('2', 40), ShaA), // same bytes as the first: one fetch, one scan
        new("config.json", 10, new string('3', 40), null),                 // a small file, already decided
        new("evil.bin", 20, new string('4', 40), ShaB),                     // scanned, blocked
        new("broken.bin", 30, new string('5', 40), ShaC),                   // cannot be fetched
        new("busy.bin", 40, new string('6', 40), ShaD),                     // someone else is scanning it
        new("tokenizer.json", 50, new string('7', 40), ShaE),               // scanned, allowed
    ];

    private static ArtifactReference Reference(PrefetchFileInput input, string path, string sha) =>
        new(HuggingFaceRemote.Hf, new ReferenceKey("hf:" + input.RepoId, input.Commit + "/" + path), $"{input.RepoId}@{input.Commit}", path, sha, 1,
            "https://hub.example/" + path, null);

    private static ArtifactDecision Decided(Decision decision, string rule, string reason) => new(decision, rule, reason, "test", DateTimeOffset.UnixEpoch);

    private static void Register(DurableTaskRegistry registry, Recorder seen, TimeSpan scanTime)
    {
        registry.AddOrchestrator<ScanRepositoryOrchestrator>();
        registry.AddActivityFunc<PrefetchRequest, RepositoryListing>(nameof(ListRepositoryFilesActivity), (_, _) => new RepositoryListing([.. Files], null));
        registry.AddActivityFunc<PrefetchFileInput, PrefetchFileOutcome>(nameof(PrefetchFileActivity), async (_, input) =>
        {
            var now = Interlocked.Increment(ref seen.InFlight);
            InterlockedMax(ref seen.MaxInFlight, now);
            seen.FetchedPaths.Enqueue(input!.File.Path);
            foreach (var path in input.AlsoAt ?? [])
            {
                seen.AlsoAt.Enqueue(path);
            }
            try
            {
                await Task.Delay(300);
                var file = input.File;
                var sha = file.LfsSha256 ?? ShaE;
                List<ArtifactReference> references = [.. new[] { file.Path }.Concat(input.AlsoAt ?? []).Select(p => Reference(input, p, sha))];
                var scan = new ScanRequest(references[0], ScanSource.Prefetch);
                return file.Path switch
                {
                    "config.json" => new PrefetchFileOutcome(PrefetchFileState.Decided, new string('f', 64), null, references,
                        [new PrefetchedFile(file.Path, file.Size, new string('f', 64), "Allowed", "policy.clean", "Passed every check", 0, 0)], null, 1),
                    "broken.bin" => new PrefetchFileOutcome(PrefetchFileState.Failed, sha, null, null, null, "Upstream content does not match", 5),
                    "busy.bin" => new PrefetchFileOutcome(PrefetchFileState.InProgress, sha, scan, references, null, null, 2),
                    _ => new PrefetchFileOutcome(PrefetchFileState.NeedsScan, sha, scan, references, null, null, 3),
                };
            }
            finally
            {
                Interlocked.Decrement(ref seen.InFlight);
            }
        });
        registry.AddActivityFunc<ArtifactReference, ArtifactDecision?>(nameof(ReadDecisionActivity), (_, reference) =>
        {
            if (reference!.Sha256 == ShaD)
            {
                // The other scan of busy.bin decides on the third look (or never).
                return Interlocked.Increment(ref seen.VerdictReads) >= seen.BusyVerdictAfterReads
                    ? Decided(Decision.Quarantined, "pickle.unknown-global", "Quarantined")
                    : null;
            }
            // The second name of a content scanned under the first is decided for itself.
            seen.OtherNamesRead.Enqueue(reference.FileName);
            return Decided(Decision.Allowed, "policy.clean", "Passed every check");
        });
        registry.AddOrchestratorFunc<ScanRequest, ScanOutcome>(nameof(ScanArtifactOrchestrator), async (context, request) =>
        {
            if (!context.IsReplaying)
            {
                seen.ScanInstanceIds.Enqueue(context.InstanceId);
            }
            await context.CreateTimer(scanTime, CancellationToken.None);
            var decision = request!.Sha256 == ShaB
                ? Decided(Decision.Blocked, "pickle.dangerous-global", "INST imports builtins.exec")
                : Decided(Decision.Allowed, "policy.clean", "Passed every check");
            return new ScanOutcome(request.Sha256, null, null, "artifacts", decision);
        });
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    [Fact]
    public async Task A_repository_is_fetched_two_files_at_a_time_and_each_content_is_scanned_once_with_verdicts_in_repository_order()
    {
        var seen = new Recorder();
        // Durable timers on Azure Storage queues have whole-second visibility, so a 2 s scan takes at least 1 s.
        await using var app = await DurableTestApp.StartAsync(storage, output, "prefetch", r => Register(r, seen, TimeSpan.FromSeconds(2)));
        var id = "prefetch-" + DurableTestApp.NewInstanceId("repo")[..32];
        await app.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ScanRepositoryOrchestrator),
            new PrefetchRequest("models", "org/repo", "main", Commit, MaxFiles: 100, Parallelism: 2, ScanTimeoutSeconds: 120, MaxTreePages: 10), new StartOrchestrationOptions(id));

        var done = await app.WaitForCompletionAsync(id, TimeSpan.FromSeconds(120));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<PrefetchResult>()!;
        Assert.Equal(Files.Select(f => f.Path), result.Files.Select(f => f.Path));
        var byPath = result.Files.ToDictionary(f => f.Path);
        Assert.Equal("Allowed", byPath["a/model-00001.safetensors"].Decision);
        Assert.Equal("Allowed", byPath["a/model-00002.safetensors"].Decision);
        Assert.Equal("Allowed", byPath["config.json"].Decision);
        Assert.Equal(("Blocked", "pickle.dangerous-global"), (byPath["evil.bin"].Decision, byPath["evil.bin"].Rule));
        Assert.Equal(("Failed", "Upstream content does not match"), (byPath["broken.bin"].Decision, byPath["broken.bin"].Reason));
        Assert.Equal("Quarantined", byPath["busy.bin"].Decision);
        Assert.Equal("Allowed", byPath["tokenizer.json"].Decision);
        // Scanned files took the fake's scan time; the decided one was not scanned again.
        Assert.True(byPath["evil.bin"].ScanMs >= 900, $"scanMs {byPath["evil.bin"].ScanMs}");
        Assert.Equal(0, byPath["config.json"].ScanMs);

        // One sub-orchestration per content, named by its sha256 (what a download would start); none for busy.bin.
        Assert.Equal(new[] { ShaA, ShaB, ShaE }.Order(), seen.ScanInstanceIds.Distinct().Order());
        Assert.Equal(3, seen.ScanInstanceIds.Count);
        Assert.True(seen.VerdictReads >= 3);
        Assert.Equal(2, seen.MaxInFlight);
        // The two shards with the same bytes were fetched once, under the first path, with the other passed along.
        Assert.Equal(Files.Select(f => f.Path).Where(p => p != "a/model-00002.safetensors").Order(), seen.FetchedPaths.Order());
        Assert.Equal(["a/model-00002.safetensors"], seen.AlsoAt);
        Assert.Equal(ShaA, byPath["a/model-00002.safetensors"].Sha256);
        // Its decision was asked for its own name: a decision depends on the name as well as the bytes.
        Assert.Equal(["model-00002.safetensors"], seen.OtherNamesRead.Select(p => p[(p.LastIndexOf('/') + 1)..]));

        var progress = done.ReadCustomStatusAs<PrefetchProgress>()!;
        Assert.Equal(new PrefetchProgress(Files.Count, Files.Count, Files.Sum(f => f.Size), Files.Sum(f => f.Size)), progress);
    }

    [Fact]
    public async Task Content_someone_else_is_scanning_without_a_verdict_in_time_is_reported_pending_and_the_prefetch_completes()
    {
        var seen = new Recorder { BusyVerdictAfterReads = int.MaxValue };
        await using var app = await DurableTestApp.StartAsync(storage, output, "prefetch-pending", r => Register(r, seen, TimeSpan.Zero));
        var id = "prefetch-" + DurableTestApp.NewInstanceId("pending")[..32];
        await app.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ScanRepositoryOrchestrator),
            new PrefetchRequest("models", "org/repo", "main", Commit, MaxFiles: 100, Parallelism: 8, ScanTimeoutSeconds: 4, MaxTreePages: 10), new StartOrchestrationOptions(id));

        var done = await app.WaitForCompletionAsync(id, TimeSpan.FromSeconds(90));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var byPath = done.ReadOutputAs<PrefetchResult>()!.Files.ToDictionary(f => f.Path);
        Assert.Equal("Pending", byPath["busy.bin"].Decision);
        Assert.Contains("No verdict within 4 s", byPath["busy.bin"].Reason);
        Assert.True(seen.VerdictReads >= 2, $"verdict reads {seen.VerdictReads}");
        Assert.Equal("Blocked", byPath["evil.bin"].Decision);
        Assert.Equal("Allowed", byPath["config.json"].Decision);
        Assert.Equal("Failed", byPath["broken.bin"].Decision);
    }
}
