using Gatehouse.Pipeline;
using Gatehouse.Rescans;
using Gatehouse.Scans.Archives;
using Gatehouse.Storage;

namespace Gatehouse.Core.Tests.Rescans;

/// <summary>Which cached verdicts a rescan evaluates again, and why.</summary>
public sealed class RescanSelectionTests
{
    private static readonly string Sha = new('a', 64);
    private static readonly DateTimeOffset Decided = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly RescanBaseline Baseline = new("policy-2", Decided.AddDays(-1), null);

    private static StoredReference Stored(ArtifactDecision? decision, string sha256 = "") =>
        new(new ArtifactReference(new RemoteKind("pypi"), new ReferenceKey("pypi:demo", "demo-1.0-py3-none-any.whl"), "demo 1.0", "demo-1.0-py3-none-any.whl",
            sha256.Length > 0 ? sha256 : Sha, 10, "https://files.example/demo.whl", null), decision);

    private static ArtifactDecision Allowed(string policyVersion, DateTimeOffset? at = null) =>
        new(Decision.Allowed, "default", "allowed", policyVersion, at ?? Decided);

    private static ContentFacts Facts(int version = ContentFacts.CurrentVersion) =>
        new(Sha, 10, version, ArchiveFormat.Zip, true, "data", [], [], GatehouseStorage.ArtifactsContainer, Decided.AddHours(-1));

    [Fact]
    public void A_verdict_under_the_policy_in_force_made_after_the_last_import_is_left_alone() =>
        Assert.Equal(RescanReason.None, RescanSelection.Why(Stored(Allowed("policy-2")), Facts(), Baseline));

    [Fact]
    public void A_verdict_under_another_policy_is_decided_again() =>
        Assert.Equal(RescanReason.Policy, RescanSelection.Why(Stored(Allowed("policy-1")), Facts(), Baseline));

    [Theory]
    [InlineData(0)]
    [InlineData(ContentFacts.CurrentVersion + 1)]
    public void Content_whose_facts_are_of_another_version_is_scanned_again_whatever_its_decision(int version) =>
        Assert.Equal(RescanReason.Facts, RescanSelection.Why(Stored(Allowed("policy-2")), Facts(version), Baseline));

    [Fact]
    public void A_reference_never_decided_although_its_content_has_facts_is_decided() =>
        Assert.Equal(RescanReason.Undecided, RescanSelection.Why(Stored(null), Facts(), Baseline));

    [Fact]
    public void A_reference_whose_content_was_never_scanned_is_left_to_its_next_request() =>
        Assert.Equal(RescanReason.None, RescanSelection.Why(Stored(null), null, Baseline));

    [Fact]
    public void Facts_of_other_content_than_the_reference_names_now_select_nothing() =>
        Assert.Equal(RescanReason.None, RescanSelection.Why(Stored(Allowed("policy-1"), new string('b', 64)), Facts(), Baseline));

    [Fact]
    public void A_verdict_made_before_the_last_osv_import_is_decided_again() =>
        Assert.Equal(RescanReason.Vulnerabilities,
            RescanSelection.Why(Stored(Allowed("policy-2")), Facts(), Baseline with { OsvImportedAt = Decided.AddMinutes(1) }));

    [Fact]
    public void An_osv_import_a_completed_rescan_already_covered_selects_nothing_again() =>
        Assert.Equal(RescanReason.None,
            RescanSelection.Why(Stored(Allowed("policy-2")), Facts(), new RescanBaseline("policy-2", Decided.AddMinutes(1), Decided.AddMinutes(1))));

    [Fact]
    public void An_import_newer_than_the_one_covered_selects_verdicts_made_before_it() =>
        Assert.Equal(RescanReason.Vulnerabilities,
            RescanSelection.Why(Stored(Allowed("policy-2")), Facts(), new RescanBaseline("policy-2", Decided.AddMinutes(2), Decided.AddMinutes(1))));

    [Fact]
    public void Without_any_osv_import_only_the_policy_counts() =>
        Assert.Equal(RescanReason.None, RescanSelection.Why(Stored(Allowed("policy-2", DateTimeOffset.MinValue)), Facts(), Baseline with { OsvImportedAt = null }));

    [Fact]
    public void The_checks_version_is_judged_before_the_policy_so_stale_facts_are_scanned_not_merely_decided() =>
        Assert.Equal(RescanReason.Facts, RescanSelection.Why(Stored(Allowed("policy-1")), Facts(0), Baseline));

    [Fact]
    public void Every_reference_to_one_content_falls_in_the_same_slot_and_slots_stay_in_range()
    {
        var shas = Enumerable.Range(0, 200).Select(i => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)))).ToList();

        var slots = shas.Select(s => RescanSelection.Slot(s, 8)).ToList();

        Assert.All(slots, s => Assert.InRange(s, 0, 7));
        Assert.Equal(8, slots.Distinct().Count());
        Assert.Equal(slots, shas.Select(s => RescanSelection.Slot(s, 8)));
        Assert.All(shas, s => Assert.Equal(0, RescanSelection.Slot(s, 1)));
    }
}
