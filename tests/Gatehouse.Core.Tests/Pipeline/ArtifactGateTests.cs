using Gatehouse.Configuration;
using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using Gatehouse.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Pipeline;

/// <summary>The gate's start-and-wait half with fakes: Durable, the stores and the clock are scripted.</summary>
public sealed class ArtifactGateTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeFacts _facts = new();
    private readonly FakeReferences _references = new();
    private readonly FakeAudit _audit = new();
    private readonly FakeClaims _claims;
    private readonly ScanSignals _signals = new();
    private readonly FakeLifetime _lifetime = new();
    private readonly ArtifactGate _gate;

    public ArtifactGateTests()
    {
        _claims = new FakeClaims(_time);
        _gate = Gate(DeclarativePolicy.Default(TimeProvider.System));
    }

    private ArtifactGate Gate(DeclarativePolicy policy, IVerdictOverrides? overrides = null)
    {
        var options = Options.Create(new GatehouseOptions());
        var remotes = new RemoteRegistry([new NoFetchRemote()]);
        var decisions = new ReferenceDecisions(new FixedPolicySource(policy), remotes, _references, _audit, _time, NullLogger<ReferenceDecisions>.Instance, overrides);
        var starter = new ScanStarter(_claims, options, NullLogger<ScanStarter>.Instance);
        return new ArtifactGate(_facts, decisions, starter, _signals, new ContentPlacement(new ContentStore(UnusedStorage.Instance), _facts), _time, _lifetime, options,
            NullLogger<ArtifactGate>.Instance, remotes);
    }

    private static ArtifactReference Reference(string path = "model.safetensors") => ContentUnderTest.Hf(path);

    private static ContentFacts CleanFacts(int version = ContentFacts.CurrentVersion) =>
        new(ContentUnderTest.Sha, 100, version, ArchiveFormat.Unknown, false, "safetensors", [], [], GatehouseStorage.ArtifactsContainer, DateTimeOffset.UnixEpoch);

    private static ScanOutcome Scanned(ArtifactDecision? decision = null) => new(ContentUnderTest.Sha, null, null, GatehouseStorage.ArtifactsContainer, decision);

    [Fact]
    public async Task A_content_with_current_facts_is_decided_at_once_and_no_scan_starts()
    {
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts();
        var scheduler = new FakeScheduler();

        var result = await _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None);

        Assert.Equal(GateStatus.Allowed, result.Status);
        Assert.Equal(DeclarativePolicy.CleanRule, result.Decision!.Rule);
        Assert.Equal(0, scheduler.Starts);
        // Decided again with the same outcome, nothing is written twice.
        await _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None);
        Assert.Equal(1, _references.DecisionWrites);
        Assert.Single(_audit.Rows);
    }

    [Fact]
    public async Task Whether_the_request_named_a_commit_is_a_fact_of_that_request_only()
    {
        var gate = Gate(new DeclarativePolicy(PolicyParser.Parse("""
            version: 1
            name: pinned-only
            rules:
              - id: pin-models
                action: quarantine
                when:
                  provenance.pinned: false
            """), TimeProvider.System));
        var scheduler = new FakeScheduler();

        // Asked by branch: refused before anything is fetched.
        var byBranch = await gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None, new RequestFacts(Pinned: false));
        Assert.Equal(GateStatus.Refused, byBranch.Status);
        Assert.Equal("pin-models", byBranch.Decision!.Rule);
        Assert.Equal(0, scheduler.Starts);

        // The same reference asked by commit, once scanned, is served; asked by branch again, it is refused again.
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts();
        var byCommit = await gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None, new RequestFacts(Pinned: true));
        Assert.Equal(GateStatus.Allowed, byCommit.Status);
        var again = await gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None, new RequestFacts(Pinned: false));
        Assert.Equal(GateStatus.Refused, again.Status);
        Assert.Equal("pin-models", again.Decision!.Rule);
    }

    private sealed class OneOverride(VerdictOverride? reviewed) : IVerdictOverrides
    {
        public Task<VerdictOverride?> FindAsync(ArtifactReference reference, CancellationToken cancellationToken) => Task.FromResult(reviewed);
    }

    [Fact]
    public async Task A_reviewers_release_stands_over_the_policy_and_names_what_the_policy_said()
    {
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts() with
        {
            Findings = [new Finding("pickle.dangerous-global", Severity.Dangerous, "INST builtins.exec", "data.pkl", Check: nameof(ModelContentActivity))],
        };
        var release = new VerdictOverride("waiver-1", Decision.Allowed, "a false positive in our own model", "alice", _time.GetUtcNow(), _time.GetUtcNow().AddDays(30));

        var refused = await _gate.GetAsync(Reference(), Wait, ScanSource.Request, new FakeScheduler(), CancellationToken.None);
        var released = await Gate(DeclarativePolicy.Default(TimeProvider.System), new OneOverride(release))
            .GetAsync(Reference(), Wait, ScanSource.Request, new FakeScheduler(), CancellationToken.None);

        Assert.Equal(GateStatus.Refused, refused.Status);
        Assert.Equal(GateStatus.Allowed, released.Status);
        Assert.Equal(ReferenceDecisions.ReleasedRule, released.Decision!.Rule);
        Assert.Equal("waiver-1", released.Decision.PolicyRule);
        Assert.Contains("Released by alice until 2026-12-31: a false positive in our own model", released.Decision.Reason, StringComparison.Ordinal);
        Assert.Contains($"the policy said Blocked by {refused.Decision!.Rule}", released.Decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reviewers_block_refuses_a_clean_file()
    {
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts();
        var block = new VerdictOverride("block-1", Decision.Blocked, "our licence review failed", "bob", _time.GetUtcNow(), null);

        var result = await Gate(DeclarativePolicy.Default(TimeProvider.System), new OneOverride(block))
            .GetAsync(Reference(), Wait, ScanSource.Request, new FakeScheduler(), CancellationToken.None);

        Assert.Equal(GateStatus.Refused, result.Status);
        Assert.Equal(ReferenceDecisions.BlockedRule, result.Decision!.Rule);
        Assert.Equal("Blocked by Gatehouse: our licence review failed (blocked by bob)", result.Decision.Reason);
    }

    [Fact]
    public async Task Facts_of_an_older_version_are_not_trusted_and_the_content_is_scanned_again()
    {
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts(version: 0);
        var scheduler = new FakeScheduler();

        var waiting = _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None);
        await WaitUntilAsync(() => scheduler.Starts == 1);
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts();
        _signals.Publish(ContentUnderTest.Sha);

        Assert.Equal(GateStatus.Allowed, (await waiting).Status);
        Assert.Equal(1, scheduler.Starts);
    }

    [Fact]
    public async Task Fifty_concurrent_requests_for_a_cold_content_start_one_scan_and_all_get_its_decision()
    {
        var scheduler = new FakeScheduler { StartDelay = TimeSpan.FromMilliseconds(50) };

        var requests = Enumerable.Range(0, 50).Select(_ => _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None)).ToList();
        await WaitUntilAsync(() => scheduler.Starts == 1);
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts();
        scheduler.Complete(ContentUnderTest.Sha, Scanned());

        var results = await Task.WhenAll(requests);
        Assert.All(results, r => Assert.Equal(GateStatus.Allowed, r.Status));
        Assert.Equal(1, scheduler.Starts);
        Assert.Equal(0, _signals.Waiting);
    }

    [Fact]
    public async Task A_request_whose_wait_runs_out_is_told_to_come_back_and_leaves_no_waiter_behind()
    {
        var scheduler = new FakeScheduler();

        var waiting = _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None);
        await WaitUntilAsync(() => scheduler.Starts == 1);
        Assert.Equal(1, _signals.Waiting);
        _time.Advance(Wait);
        var result = await waiting;

        Assert.Equal(GateStatus.Pending, result.Status);
        Assert.True(result.RetryAfterSeconds > 0);
        Assert.Equal(0, _signals.Waiting);
    }

    [Fact]
    public async Task A_request_waiting_when_the_host_begins_to_stop_is_told_to_come_back_at_once()
    {
        var scheduler = new FakeScheduler();

        var waiting = _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None);
        await WaitUntilAsync(() => scheduler.Starts == 1);
        _lifetime.StopApplication();
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(GateStatus.Pending, result.Status);
        Assert.True(result.RetryAfterSeconds > 0);
        Assert.Equal(0, _signals.Waiting);
    }

    [Fact]
    public async Task A_wait_of_zero_starts_the_fetch_and_scan_and_returns_at_once()
    {
        var scheduler = new FakeScheduler();

        var result = await _gate.GetAsync(Reference(), TimeSpan.Zero, ScanSource.Request, scheduler, CancellationToken.None);

        Assert.Equal(GateStatus.Pending, result.Status);
        await WaitUntilAsync(() => scheduler.Starts == 1);
        Assert.Equal(0, _signals.Waiting);
    }

    [Fact]
    public async Task A_fetch_that_failed_upstream_or_on_its_digest_ends_the_wait_with_that_failure()
    {
        var scheduler = new FakeScheduler();
        var waiting = _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None);
        await WaitUntilAsync(() => scheduler.Starts == 1);
        scheduler.Complete(ContentUnderTest.Sha, ScanOutcome.NotFetched(ContentUnderTest.Sha, FetchOutcome.Failed(FetchProblem.DigestMismatch, "other bytes")));

        var result = await waiting;
        Assert.Equal(GateStatus.DigestMismatch, result.Status);
        Assert.Equal("other bytes", result.Message);
    }

    [Fact]
    public async Task A_download_does_not_start_a_scan_a_prefetch_has_just_claimed_and_gets_its_decision()
    {
        Assert.True(await _claims.TryClaimAsync(ContentUnderTest.Sha, "prefetch-1", TimeSpan.FromHours(2), CancellationToken.None));
        var scheduler = new FakeScheduler();

        var waiting = _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None);
        await WaitUntilAsync(() => _signals.Waiting == 1);
        Assert.Equal(0, scheduler.Starts);
        // The prefetch's scan records the facts.
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts();
        _signals.Publish(ContentUnderTest.Sha);

        Assert.Equal(GateStatus.Allowed, (await waiting).Status);
        Assert.Equal(0, scheduler.Starts);
        Assert.Equal("prefetch-1", _claims.Rows[ContentUnderTest.Sha].Owner);
    }

    [Fact]
    public async Task A_claim_whose_holder_never_started_the_scan_is_taken_over_by_a_download_after_the_grace()
    {
        Assert.True(await _claims.TryClaimAsync(ContentUnderTest.Sha, "prefetch-1", TimeSpan.FromHours(2), CancellationToken.None));
        _time.Advance(ScanStarter.StartGrace + TimeSpan.FromSeconds(1));
        var scheduler = new FakeScheduler();

        var result = await _gate.GetAsync(Reference(), TimeSpan.Zero, ScanSource.Request, scheduler, CancellationToken.None);

        Assert.Equal(GateStatus.Pending, result.Status);
        await WaitUntilAsync(() => scheduler.Starts == 1);
        Assert.Equal(ScanStarter.RequestOwner, _claims.Rows[ContentUnderTest.Sha].Owner);
    }

    [Fact]
    public async Task A_prefetch_cannot_claim_a_scan_a_download_started()
    {
        var scheduler = new FakeScheduler();
        _ = _gate.GetAsync(Reference(), Wait, ScanSource.Request, scheduler, CancellationToken.None);
        await WaitUntilAsync(() => scheduler.Starts == 1);

        Assert.False(await _claims.TryClaimAsync(ContentUnderTest.Sha, "prefetch-2", TimeSpan.FromHours(2), CancellationToken.None));
    }

    [Fact]
    public async Task The_same_facts_are_decided_per_name_and_only_a_refused_name_is_refused()
    {
        // Bytes no loader reads as a model: inert as notes, not provably inert as a checkpoint.
        _facts.Rows[ContentUnderTest.Sha] = CleanFacts() with { ModelFormat = "data" };
        var scheduler = new FakeScheduler();

        var notes = await _gate.GetAsync(Reference("notes.txt"), Wait, ScanSource.Request, scheduler, CancellationToken.None);
        var checkpoint = await _gate.GetAsync(Reference("pytorch_model.bin"), Wait, ScanSource.Request, scheduler, CancellationToken.None);

        Assert.Equal(GateStatus.Allowed, notes.Status);
        Assert.Equal(GateStatus.Refused, checkpoint.Status);
        Assert.Equal(Decision.Quarantined, checkpoint.Decision!.Decision);
        Assert.Equal(0, scheduler.Starts);
    }

    [Fact]
    public async Task Two_instances_deciding_the_same_reference_at_once_record_and_audit_it_once()
    {
        var reference = Reference("model.safetensors");
        _references.Rows[reference.Key] = new StoredReference(reference, null);
        ReferenceDecisions Instance() => new(new FixedPolicySource(DeclarativePolicy.Default(TimeProvider.System)), new RemoteRegistry([new NoFetchRemote()]), _references, _audit, _time,
            NullLogger<ReferenceDecisions>.Instance);

        // Both read the row before either wrote (recorded: null), as two hosts woken by the same scan do.
        var decided = await Task.WhenAll(Instance().DecideAsync(CleanFacts(), reference, null, CancellationToken.None),
            Instance().DecideAsync(CleanFacts(), reference, null, CancellationToken.None));

        Assert.All(decided, d => Assert.Equal(Decision.Allowed, d.Decision));
        Assert.Equal(1, _references.DecisionWrites);
        Assert.Single(_audit.Rows, r => r.Action == "decision");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition(), "the condition never held");
    }
}
