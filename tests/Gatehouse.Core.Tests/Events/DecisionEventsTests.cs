using System.Text.Json.Nodes;
using Gatehouse.Events;
using Gatehouse.HuggingFace;
using Gatehouse.Pipeline;
using Gatehouse.PyPI;

namespace Gatehouse.Core.Tests.Events;

/// <summary>Which change of a recorded decision announces which event, with what id, subject and data.</summary>
public sealed class DecisionEventsTests
{
    private static readonly ArtifactReference Wheel = new(PyPIRemote.Pypi, new ReferenceKey("pypi:gh-demo", "gh_demo-1.0.0.tar.gz"), "gh-demo 1.0.0",
        "gh_demo-1.0.0.tar.gz", new string('a', 64), 10, "https://files.example/gh_demo-1.0.0.tar.gz", null);

    [Theory]
    [InlineData(null, null, Decision.Quarantined, "cooldown", GatehouseEventTypes.ArtifactQuarantined)]
    [InlineData(null, null, Decision.Blocked, "install.pth-exec", GatehouseEventTypes.ArtifactBlocked)]
    [InlineData(null, null, Decision.Allowed, "clean", null)]
    [InlineData(Decision.Allowed, "clean", Decision.Blocked, "review.blocked", GatehouseEventTypes.ArtifactBlocked)]
    [InlineData(Decision.Quarantined, "cooldown", Decision.Blocked, "install.pth-exec", GatehouseEventTypes.ArtifactBlocked)]
    [InlineData(Decision.Allowed, "clean", Decision.Quarantined, "cooldown", GatehouseEventTypes.ArtifactQuarantined)]
    [InlineData(Decision.Quarantined, "cooldown", Decision.Allowed, "review.released", GatehouseEventTypes.ArtifactReleased)]
    [InlineData(Decision.Blocked, "install.pth-exec", Decision.Allowed, "clean", GatehouseEventTypes.ArtifactReleased)]
    [InlineData(Decision.Blocked, "install.pth-exec", Decision.Quarantined, "cooldown", GatehouseEventTypes.VerdictChanged)]
    [InlineData(Decision.Quarantined, "cooldown", Decision.Quarantined, "check-failed", GatehouseEventTypes.VerdictChanged)]
    [InlineData(Decision.Allowed, "clean", Decision.Allowed, "review.released", GatehouseEventTypes.VerdictChanged)]
    [InlineData(Decision.Quarantined, "cooldown", Decision.Quarantined, "cooldown", null)]
    [InlineData(Decision.Blocked, "install.pth-exec", Decision.Blocked, "install.pth-exec", null)]
    public void Each_change_announces_its_event(Decision? previous, string? previousRule, Decision decision, string rule, string? expected) =>
        Assert.Equal(expected, DecisionEvents.TypeOf(previous, previousRule, decision, rule));

    [Fact]
    public void The_event_carries_the_artifact_both_decisions_and_the_policy()
    {
        var decision = Decided(Decision.Quarantined, "cooldown");

        var e = DecisionEvents.Of(Wheel, Decision.Allowed, "clean", decision, "W/\"1\"");

        Assert.NotNull(e);
        Assert.Equal(GatehouseEventTypes.ArtifactQuarantined, e.Type);
        Assert.Equal("pypi/gh-demo/gh_demo-1.0.0.tar.gz", e.Subject);
        Assert.Equal(decision.DecidedAt, e.Time);
        Assert.Equal("pypi", (string?)e.Data["remote"]);
        Assert.Equal("gh-demo 1.0.0", (string?)e.Data["subject"]);
        Assert.Equal("gh_demo-1.0.0.tar.gz", (string?)e.Data["file"]);
        Assert.Equal(Wheel.Sha256, (string?)e.Data["sha256"]);
        Assert.Equal("Allowed", (string?)e.Data["previousDecision"]);
        Assert.Equal("clean", (string?)e.Data["previousRule"]);
        Assert.Equal("Quarantined", (string?)e.Data["decision"]);
        Assert.Equal("cooldown", (string?)e.Data["rule"]);
        Assert.Equal("published 1 day ago", (string?)e.Data["reason"]);
        Assert.Equal("pv-7", (string?)e.Data["policyVersion"]);
    }

    [Fact]
    public void A_first_decision_has_no_previous_one()
    {
        var e = DecisionEvents.Of(Wheel, null, null, Decided(Decision.Blocked, "install.pth-exec"), "W/\"1\"");

        Assert.NotNull(e);
        Assert.True(e.Data.ContainsKey("previousDecision"));
        Assert.Null(e.Data["previousDecision"]);
        Assert.Null(e.Data["previousRule"]);
    }

    [Fact]
    public void The_id_is_the_same_for_one_change_and_differs_between_changes()
    {
        var decision = Decided(Decision.Quarantined, "cooldown");
        var once = DecisionEvents.Of(Wheel, null, null, decision, "W/\"1\"")!;
        var again = DecisionEvents.Of(Wheel, null, null, decision with { DecidedAt = decision.DecidedAt.AddSeconds(1) }, "W/\"1\"")!;
        var later = DecisionEvents.Of(Wheel, null, null, decision, "W/\"2\"")!;
        var otherPolicy = DecisionEvents.Of(Wheel, null, null, decision with { PolicyVersion = "pv-8" }, "W/\"1\"")!;

        Assert.Equal(once.Id, again.Id);
        Assert.NotEqual(once.Id, later.Id);
        Assert.NotEqual(once.Id, otherPolicy.Id);
        Assert.Matches("^[0-9a-f]{32}$", once.Id);
    }

    [Fact]
    public void A_hugging_face_subject_is_the_repo_commit_and_path_unescaped()
    {
        const string Commit = "0123456789abcdef0123456789abcdef01234567";
        var reference = new ArtifactReference(HuggingFaceRemote.Hf,
            new ReferenceKey(HfFileDigests.ReferencePartition("models", "acme/model"), HfFileDigests.ReferenceRowKey(Commit, "weights/pytorch_model.bin")),
            $"acme/model@{Commit}", "pytorch_model.bin", new string('b', 64), 10, "https://hub.example/x", null);

        Assert.Equal($"hf/acme/model/{Commit}/weights/pytorch_model.bin", DecisionEvents.Subject(reference));
    }

    [Fact]
    public void The_envelope_has_every_required_cloudevents_attribute()
    {
        var e = DecisionEvents.Of(Wheel, null, null, Decided(Decision.Quarantined, "cooldown"), "W/\"1\"")!;

        var envelope = CloudEventEnvelope.Create(e, "https://gatehouse.example");

        Assert.Equal("1.0", (string?)envelope["specversion"]);
        Assert.Equal(e.Id, (string?)envelope["id"]);
        Assert.Equal("https://gatehouse.example", (string?)envelope["source"]);
        Assert.Equal(GatehouseEventTypes.ArtifactQuarantined, (string?)envelope["type"]);
        Assert.Equal("pypi/gh-demo/gh_demo-1.0.0.tar.gz", (string?)envelope["subject"]);
        Assert.Equal("2025-03-04T05:06:07.1234567Z", (string?)envelope["time"]);
        Assert.Equal("application/json", (string?)envelope["datacontenttype"]);
        Assert.Equal("cooldown", (string?)envelope["data"]?["rule"]);
        // The envelope is a copy: changing it leaves the event as it was.
        envelope["data"]!["rule"] = "changed";
        Assert.Equal("cooldown", (string?)e.Data["rule"]);
        // Azure's own CloudEvents reader (what Event Grid's client sends) reads the same envelope.
        var parsed = Azure.Messaging.CloudEvent.Parse(BinaryData.FromString(envelope.ToJsonString()));
        Assert.NotNull(parsed);
        Assert.Equal(e.Id, parsed.Id);
        Assert.Equal(e.Type, parsed.Type);
        Assert.Equal(e.Subject, parsed.Subject);
        Assert.Equal(e.Time, parsed.Time);
        Assert.Equal("Quarantined", (string?)JsonNode.Parse(parsed.Data!.ToString())?["decision"]);
    }

    private static ArtifactDecision Decided(Decision decision, string rule) =>
        new(decision, rule, "published 1 day ago", "pv-7", new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1234567)) { PolicyRule = rule };
}
