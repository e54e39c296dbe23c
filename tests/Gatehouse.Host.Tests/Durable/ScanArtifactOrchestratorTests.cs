using System.Collections.Concurrent;
using System.Diagnostics;
using Gatehouse.Pipeline;
using Gatehouse.PyPI;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Xunit.Abstractions;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>
/// <see cref="ScanArtifactOrchestrator"/> on the real durable backend (Azure Storage on Azurite), its activities replaced
/// by recording fakes under the product's names: the remote's facts are gathered once the content is staged, while the
/// checks still to run run, and reach the recording activity whole through Durable's serialisation; a gathering that
/// fails leaves the decision to gather them itself.
/// </summary>
public sealed class ScanArtifactOrchestratorTests(AzuriteStorage storage, ITestOutputHelper output) : IClassFixture<AzuriteStorage>
{
    private static readonly TimeSpan CheckTime = TimeSpan.FromSeconds(2);

    private static readonly ReferenceFacts Gathered = new()
    {
        Project = "demo",
        Version = "1.0",
        Advisories = [new AdvisoryFact("GHSA-xxxx-yyyy-zzzz", ["CVE-2026-0001"], "A flaw", 9.8, "critical", false, ["1.1"])],
        Licence = new LicenceInfo("MIT OR Apache-2.0", "License-Expression", "MIT OR Apache-2.0"),
        Name = new NameInfo("requests", "swap", ["name.young"]),
        PublishedAt = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero),
        Attested = false,
        AttestationLost = true,
        Unavailable = ["namespace"],
    };

    /// <summary>What the fakes saw, by the stopwatch of this test.</summary>
    private sealed class Recorder
    {
        public readonly Stopwatch Clock = Stopwatch.StartNew();
        public readonly ConcurrentQueue<(string Check, TimeSpan Start, TimeSpan End)> Checks = new();
        public TimeSpan GatherStart = TimeSpan.MaxValue;
        public TimeSpan GatherEnd = TimeSpan.MaxValue;
        public TimeSpan FetchStart = TimeSpan.MaxValue;
        public TimeSpan FetchEnd = TimeSpan.MaxValue;
        public FactsInput? Recorded;
    }

    private static void Register(DurableTaskRegistry registry, Recorder seen, bool gatheringFails, IReadOnlyList<CheckResult>? checkedWithFetch)
    {
        registry.AddOrchestrator<ScanArtifactOrchestrator>();
        registry.AddActivityFunc<ScanRequest, FetchOutcome>(nameof(FetchContentActivity), async (_, _) =>
        {
            seen.FetchStart = seen.Clock.Elapsed;
            await Task.Delay(CheckTime);
            seen.FetchEnd = seen.Clock.Elapsed;
            return FetchOutcome.Fetched(1) with { Checks = checkedWithFetch };
        });
        foreach (var (activity, checks) in ContentChecks.Activities)
        {
            registry.AddActivityFunc<CheckInput, CheckResult[]>(activity, async (_, _) =>
            {
                var start = seen.Clock.Elapsed;
                await Task.Delay(CheckTime);
                foreach (var check in checks)
                {
                    seen.Checks.Enqueue((check, start, seen.Clock.Elapsed));
                }
                return [.. checks.Select(check => new CheckResult(check, []))];
            });
        }
        registry.AddActivityFunc<ArtifactReference, ReferenceFacts>(nameof(GatherReferenceFactsActivity), async (_, _) =>
        {
            seen.GatherStart = seen.Clock.Elapsed;
            await Task.Delay(CheckTime);
            seen.GatherEnd = seen.Clock.Elapsed;
            return gatheringFails ? throw new InvalidOperationException("the upstream's JSON API is down") : Gathered;
        });
        registry.AddActivityFunc<FactsInput, ScanOutcome>(nameof(RecordFactsActivity), (_, input) =>
        {
            seen.Recorded = input;
            return new ScanOutcome(input!.Request.Sha256, null, null, "artifacts", null);
        });
    }

    private async Task<(OrchestrationMetadata Done, Recorder Seen)> RunAsync(bool gatheringFails, IReadOnlyList<CheckResult>? checkedWithFetch = null)
    {
        var seen = new Recorder();
        await using var app = await DurableTestApp.StartAsync(storage, output, "scan", r => Register(r, seen, gatheringFails, checkedWithFetch));
        var sha = DurableTestApp.NewInstanceId("scan");
        var requester = new ArtifactReference(PyPIRemote.Pypi, new ReferenceKey("pypi:demo", "demo-1.0-py3-none-any.whl"), "demo 1.0", "demo-1.0-py3-none-any.whl", sha,
            100, "https://files.example/demo-1.0-py3-none-any.whl", "2026-11-30T08:00:00Z");
        await app.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ScanArtifactOrchestrator), new ScanRequest(requester, ScanSource.Request),
            new StartOrchestrationOptions(sha));
        return (await app.WaitForCompletionAsync(sha, TimeSpan.FromSeconds(90)), seen);
    }

    [Fact]
    public async Task The_remote_facts_are_gathered_while_the_content_is_fetched_and_reach_the_decision_whole()
    {
        var (done, seen) = await RunAsync(gatheringFails: false);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(ContentChecks.All.Order(), seen.Checks.Select(c => c.Check).Order());
        // After the fetch (see the orchestrator on why), and beside the checks: it began before the last check ended and
        // ended after the first began.
        Assert.True(seen.GatherStart >= seen.FetchEnd, $"gathering began at {seen.GatherStart}, before the fetch ended at {seen.FetchEnd}");
        Assert.True(seen.GatherStart < seen.Checks.Max(c => c.End), $"gathering began at {seen.GatherStart}, after every check ended");
        Assert.True(seen.GatherEnd > seen.Checks.Min(c => c.Start), $"gathering ended at {seen.GatherEnd}, before any check began");
        var facts = seen.Recorded!.RequesterFacts!;
        Assert.Equal(Gathered.Project, facts.Project);
        Assert.Equal(Gathered.Version, facts.Version);
        Assert.Equal(Gathered.Advisories![0].Id, Assert.Single(facts.Advisories!).Id);
        Assert.Equal(["CVE-2026-0001"], facts.Advisories![0].Aliases);
        Assert.Equal(9.8, facts.Advisories[0].Cvss);
        Assert.Equal(Gathered.Licence, facts.Licence);
        Assert.Equal("requests", facts.Name!.TyposquatOf);
        Assert.Equal(["name.young"], facts.Name.Signals);
        Assert.Equal(Gathered.PublishedAt, facts.PublishedAt);
        Assert.True(facts.AttestationLost);
        Assert.Equal(["namespace"], facts.Unavailable);
        Assert.Equal(ContentChecks.All.Count, seen.Recorded.Results.Count);
    }

    [Fact]
    public async Task A_gathering_that_fails_leaves_the_facts_to_the_decision_and_the_scan_still_records()
    {
        var (done, seen) = await RunAsync(gatheringFails: true);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.NotNull(seen.Recorded);
        Assert.Null(seen.Recorded.RequesterFacts);
        Assert.Equal(ContentChecks.All.Count, seen.Recorded.Results.Count);
    }

    [Fact]
    public async Task Checks_that_ran_with_the_fetch_are_not_scheduled_again_and_the_others_are()
    {
        var ranWithFetch = ContentChecks.All.Take(ContentChecks.All.Count - 1)
            .Select(check => new CheckResult(check, [new Gatehouse.Scans.Finding("test.with-fetch", Gatehouse.Scans.Severity.Suspicious, "found in the fetch's process", null)])).ToList();

        var (done, seen) = await RunAsync(gatheringFails: false, ranWithFetch);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal([ContentChecks.All[^1]], seen.Checks.Select(c => c.Check));
        Assert.Equal(ContentChecks.All.Order(), seen.Recorded!.Results.Select(r => r.Check).Order());
        Assert.All(seen.Recorded.Results.Where(r => r.Check != ContentChecks.All[^1]), r => Assert.Equal("test.with-fetch", Assert.Single(r.Findings).Rule));
        // The remote's facts are gathered once the content is staged.
        Assert.True(seen.GatherStart >= seen.FetchEnd, $"gathering began at {seen.GatherStart}, before the fetch ended at {seen.FetchEnd}");
        Assert.NotNull(seen.Recorded.RequesterFacts);
    }
}
