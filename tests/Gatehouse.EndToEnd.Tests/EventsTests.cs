using System.Globalization;
using System.Net;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using static Gatehouse.EndToEnd.Tests.Infrastructure.HubResponses;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// A Gatehouse whose events go to the simulator's CloudEvents webhook, on an Azurite of its own (the outbox and the
/// dispatcher's lease are per storage account, so no other test's host may deliver or hold them).
/// </summary>
public sealed class EventsGatehouse : IAsyncLifetime
{
    private PrivateGatehouse? _gatehouse;

    public GatehouseStack Stack => _gatehouse?.Stack ?? throw new InvalidOperationException("The events Gatehouse did not start.");

    public async Task InitializeAsync() => _gatehouse = await PrivateGatehouse.StartAsync("events", s => s with { EventsToSimulator = true });

    public async Task DisposeAsync()
    {
        if (_gatehouse is not null)
        {
            await _gatehouse.DisposeAsync();
        }
    }
}

/// <summary>
/// Verdict events through the real host: a graph that is no graph (a bare protobuf message as <c>saved_model.pb</c>,
/// quarantined by <c>container.unrecognised</c>) reaches the webhook as exactly one valid CloudEvent of type
/// <c>Gatehouse.ArtifactQuarantined</c>; with the webhook answering 503 the events are retried and all arrive, each once,
/// when it is back.
/// </summary>
public sealed class EventsTests(EventsGatehouse fixture, ITestOutputHelper output) : IClassFixture<EventsGatehouse>
{
    private const string Model = "saved_model.pb";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private GatehouseStack Stack => fixture.Stack;

    [Fact]
    public Task A_quarantined_file_yields_exactly_one_ArtifactQuarantined_cloudevent_at_the_webhook() => Stack.RunAsync(output, async () =>
    {
        var repo = $"acme/events-{TestEnvironment.UniqueSuffix()}";
        var registered = await Stack.Sim.HfSyntheticAsync(repo, HfSyntheticSpec.Bytes(Model, UnrecognisedContent.Protobuf()));
        var subject = $"hf/{repo}/{registered.Commit}/{Model}";

        await AssertRefusedAsync(repo, Model);
        var arrived = await EventsForAsync(subject, 1);
        // Asked again, the recorded decision is unchanged: nothing new to announce, however long we wait.
        await AssertRefusedAsync(repo, Model);
        await Task.Delay(TimeSpan.FromSeconds(4));

        var events = await EventsForAsync(subject, 1);
        var e = Assert.Single(events);
        Assert.Equal(arrived[0].GetProperty("id").GetString(), e.GetProperty("id").GetString());
        AssertCloudEvent(e);
        Assert.Equal("Gatehouse.ArtifactQuarantined", e.GetProperty("type").GetString());
        var data = e.GetProperty("data");
        Assert.Equal("hf", data.GetProperty("remote").GetString());
        Assert.Equal(registered.Sha256(Model), data.GetProperty("sha256").GetString());
        Assert.Equal(Model, data.GetProperty("file").GetString());
        Assert.Equal("Quarantined", data.GetProperty("decision").GetString());
        Assert.Equal("container.unrecognised", data.GetProperty("rule").GetString());
        Assert.Equal(JsonValueKind.Null, data.GetProperty("previousDecision").ValueKind);
        Assert.False(string.IsNullOrEmpty(data.GetProperty("policyVersion").GetString()));
        Assert.False(string.IsNullOrEmpty(data.GetProperty("reason").GetString()));
        var listing = await Stack.Sim.EventsAsync();
        Assert.All(listing.GetProperty("events").EnumerateArray(), d => Assert.Equal("application/cloudevents+json", d.GetProperty("contentType").GetString()));
    });

    [Fact]
    public Task With_the_webhook_down_events_are_retried_and_arrive_once_each_when_it_is_back() => Stack.RunAsync(output, async () =>
    {
        var repo = $"acme/outage-{TestEnvironment.UniqueSuffix()}";
        string[] paths = [$"a/{Model}", $"b/{Model}", $"c/{Model}"];
        var registered = await Stack.Sim.HfSyntheticAsync(repo,
            [.. paths.Select(p => HfSyntheticSpec.Bytes(p, UnrecognisedContent.Protobuf()))]);
        var subjects = paths.Select(p => $"hf/{repo}/{registered.Commit}/{p}").ToArray();
        await Stack.Sim.EventsDownAsync();
        try
        {
            var refusedBefore = (await Stack.Sim.EventsAsync()).GetProperty("refused").GetInt32();
            foreach (var path in paths)
            {
                await AssertRefusedAsync(repo, path);
            }

            // The dispatcher keeps trying (0.5 s, 1 s, 2 s, 2 s, …) and nothing is received meanwhile.
            await WaitForAsync(async () => (await Stack.Sim.EventsAsync()).GetProperty("refused").GetInt32() >= refusedBefore + 3, "three refused attempts");
            Assert.Empty(await AllEventsAsync(subjects));
        }
        finally
        {
            await Stack.Sim.EventsUpAsync();
        }

        await WaitForAsync(async () => (await AllEventsAsync(subjects)).Count >= subjects.Length, "all three events after the webhook came back");
        await Task.Delay(TimeSpan.FromSeconds(4));
        var events = await AllEventsAsync(subjects);
        Assert.Equal(subjects.Order(StringComparer.Ordinal), events.Select(e => e.GetProperty("subject").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(events.GroupBy(e => e.GetProperty("id").GetString()), g => Assert.Single(g));
        Assert.All(events, e =>
        {
            AssertCloudEvent(e);
            Assert.Equal("Gatehouse.ArtifactQuarantined", e.GetProperty("type").GetString());
        });
    });

    /// <summary>The CloudEvents 1.0 attributes (spec section 3.1, and the JSON format's types): required ones present and well-formed.</summary>
    private static void AssertCloudEvent(JsonElement e)
    {
        Assert.Equal("1.0", e.GetProperty("specversion").GetString());
        Assert.False(string.IsNullOrEmpty(e.GetProperty("id").GetString()));
        Assert.True(Uri.TryCreate(e.GetProperty("source").GetString(), UriKind.RelativeOrAbsolute, out var source) && source.ToString().Length > 0);
        Assert.StartsWith("Gatehouse.", e.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(e.GetProperty("subject").GetString()));
        Assert.True(DateTimeOffset.TryParse(e.GetProperty("time").GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time)
            && Math.Abs((DateTimeOffset.UtcNow - time).TotalMinutes) < 30, $"time is not a recent RFC 3339 timestamp: {e.GetProperty("time")}");
        Assert.Equal("application/json", e.GetProperty("datacontenttype").GetString());
        Assert.Equal(JsonValueKind.Object, e.GetProperty("data").ValueKind);
    }

    private async Task AssertRefusedAsync(string repo, string path)
    {
        using var client = Stack.CreateHfClient();
        using var response = await SendUntilDecidedAsync(client, () => new HttpRequestMessage(HttpMethod.Get, $"hf/{repo}/resolve/main/{path}"), output);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{path} answered {(int)response.StatusCode}: {body}");
        Assert.Contains("container.unrecognised", body, StringComparison.Ordinal);
    }

    /// <summary>The events received for <paramref name="subject"/>, once at least <paramref name="atLeast"/> arrived.</summary>
    private async Task<List<JsonElement>> EventsForAsync(string subject, int atLeast)
    {
        await WaitForAsync(async () => (await AllEventsAsync([subject])).Count >= atLeast, $"an event for {subject}");
        return await AllEventsAsync([subject]);
    }

    private async Task<List<JsonElement>> AllEventsAsync(IReadOnlyCollection<string> subjects) =>
        [.. (await Stack.Sim.EventsAsync()).GetProperty("events").EnumerateArray().Select(d => d.GetProperty("event"))
            .Where(e => subjects.Contains(e.GetProperty("subject").GetString()))];

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"waited {Patience.TotalSeconds} s for {what}");
            await Task.Delay(250);
        }
    }
}
