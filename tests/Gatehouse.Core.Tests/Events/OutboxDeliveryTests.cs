using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Audit;
using Gatehouse.Events;
using Gatehouse.Pipeline;
using Gatehouse.PyPI;
using Gatehouse.Storage;
using Gatehouse.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Events;

/// <summary>
/// The outbox in Azurite: a decision and its event are written together, the dispatcher delivers each event once,
/// retries with exponential backoff in fake time while the destination fails, sets aside what it refuses for good, and
/// drops notes whose transaction never happened. Each test has an events table of its own.
/// </summary>
public sealed class OutboxDeliveryTests
{
    private readonly GatehouseStorage _storage;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly TableEventOutbox _outbox;
    private readonly ReferenceStore _references;
    private readonly FakeSink _sink = new();
    private readonly string _project = $"ev-{Guid.NewGuid():N}"[..20];
    private readonly string _eventsTable = $"events{Guid.NewGuid():N}"[..24];

    public OutboxDeliveryTests()
    {
        var connectionString = TestAzurite.ConnectionString;
        _storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        _storage.TablesService.CreateTableIfNotExists(GatehouseStorage.ReferencesTable);
        _storage.TablesService.CreateTableIfNotExists(GatehouseStorage.VerdictsTable);
        _storage.TablesService.CreateTableIfNotExists(GatehouseStorage.AuditTable);
        _storage.TablesService.CreateTableIfNotExists(_eventsTable);
        _outbox = new TableEventOutbox(_storage, "https://gatehouse.test", _time, _eventsTable);
        _references = new ReferenceStore(_storage, _outbox);
    }

    [Fact]
    public async Task A_decision_and_its_event_are_written_together_and_delivered_once()
    {
        var reference = await RecordedAsync("a-1.0.tar.gz");

        Assert.True(await _references.RecordDecisionAsync(reference, Decided(Decision.Quarantined, "cooldown"), CancellationToken.None));

        var rows = await PartitionRowsAsync(reference.Key.Partition);
        var eventRow = Assert.Single(rows, r => r.RowKey.StartsWith(TableEventOutbox.RowPrefix, StringComparison.Ordinal));
        Assert.False(eventRow.GetBoolean("Delivered"));
        // The event row is no reference: listing the partition still shows the one file.
        Assert.Single(await ListAsync(reference.Key.Partition));

        var result = await Dispatcher().RunOnceAsync(CancellationToken.None);

        Assert.Equal(DispatchStatus.Drained, result.Status);
        Assert.Equal(1, result.Delivered);
        var delivered = Assert.Single(_sink.Accepted);
        Assert.Equal(GatehouseEventTypes.ArtifactQuarantined, delivered.GetProperty("type").GetString());
        Assert.Equal($"pypi/{_project}/a-1.0.tar.gz", delivered.GetProperty("subject").GetString());
        Assert.Equal(eventRow.GetString("EventId"), delivered.GetProperty("id").GetString());
        Assert.True((await PartitionRowsAsync(reference.Key.Partition)).Single(r => r.RowKey == eventRow.RowKey).GetBoolean("Delivered"));

        // Nothing is left to deliver, and the same decision again is no change.
        Assert.Equal(0, (await Dispatcher().RunOnceAsync(CancellationToken.None)).Delivered);
        Assert.False(await _references.RecordDecisionAsync(reference, Decided(Decision.Quarantined, "cooldown"), CancellationToken.None));
        Assert.Single(_sink.Accepted);
    }

    [Fact]
    public async Task Deciding_the_same_change_at_once_in_many_places_writes_one_event()
    {
        var reference = await RecordedAsync("b-1.0.tar.gz");
        var decision = Decided(Decision.Blocked, "install.pth-exec");

        var changed = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => _references.RecordDecisionAsync(reference, decision, CancellationToken.None)));

        Assert.Equal(1, changed.Count(c => c));
        await Dispatcher().RunOnceAsync(CancellationToken.None);
        var delivered = Assert.Single(_sink.Accepted);
        Assert.Equal(GatehouseEventTypes.ArtifactBlocked, delivered.GetProperty("type").GetString());
        // The losers' notes were taken back: nothing is pending, even after the grace.
        _time.Advance(TableEventOutbox.UncommittedGrace + TimeSpan.FromMinutes(1));
        Assert.Empty(await _outbox.PendingAsync(10, CancellationToken.None));
        Assert.Empty(await NotesAsync());
    }

    [Fact]
    public async Task A_failing_destination_is_retried_with_exponential_backoff_and_every_event_arrives_once_in_order()
    {
        var first = await RecordedAsync("c-1.0.tar.gz");
        var second = await RecordedAsync("c-2.0.tar.gz");
        await _references.RecordDecisionAsync(first, Decided(Decision.Quarantined, "cooldown"), CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await _references.RecordDecisionAsync(second, Decided(Decision.Blocked, "install.pth-exec"), CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await _references.RecordDecisionAsync(first, Decided(Decision.Allowed, ReferenceDecisions.ReleasedRule), CancellationToken.None);
        var dispatcher = Dispatcher();
        _sink.Down = true;
        var start = _time.GetUtcNow();

        // Failures at 0 s, 1 s, 3 s, 7 s: each waits twice as long as the one before.
        var expected = new[] { 1, 2, 4, 8 };
        for (var i = 0; i < expected.Length; i++)
        {
            var failed = await dispatcher.RunOnceAsync(CancellationToken.None);
            Assert.Equal(DispatchStatus.Failed, failed.Status);
            Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(expected[i]), failed.NextAttempt);
            Assert.Equal(i + 1, _sink.Attempts);

            // Before the backoff runs out the destination is left alone.
            _time.Advance(TimeSpan.FromSeconds(expected[i]) - TimeSpan.FromMilliseconds(1));
            Assert.Equal(DispatchStatus.Waiting, (await dispatcher.RunOnceAsync(CancellationToken.None)).Status);
            Assert.Equal(i + 1, _sink.Attempts);
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.Equal(start + TimeSpan.FromSeconds(15), _time.GetUtcNow());

        _sink.Down = false;
        var result = await dispatcher.RunOnceAsync(CancellationToken.None);

        Assert.Equal(DispatchStatus.Drained, result.Status);
        Assert.Equal(3, result.Delivered);
        Assert.Equal(
            [GatehouseEventTypes.ArtifactQuarantined, GatehouseEventTypes.ArtifactBlocked, GatehouseEventTypes.ArtifactReleased],
            _sink.Accepted.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(3, _sink.Accepted.Select(e => e.GetProperty("id").GetString()).Distinct().Count());
        // Success resets the backoff: the next failure waits the first delay again.
        await _references.RecordDecisionAsync(second, Decided(Decision.Allowed, ReferenceDecisions.ReleasedRule), CancellationToken.None);
        _sink.Down = true;
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(1), (await dispatcher.RunOnceAsync(CancellationToken.None)).NextAttempt);
    }

    [Fact]
    public async Task An_event_the_destination_refuses_for_good_is_set_aside_and_those_behind_it_go_on()
    {
        var refused = await RecordedAsync("d-1.0.tar.gz");
        var fine = await RecordedAsync("d-2.0.tar.gz");
        await _references.RecordDecisionAsync(refused, Decided(Decision.Quarantined, "cooldown"), CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await _references.RecordDecisionAsync(fine, Decided(Decision.Quarantined, "cooldown"), CancellationToken.None);
        _sink.RefuseSubject = $"pypi/{_project}/d-1.0.tar.gz";

        var result = await Dispatcher().RunOnceAsync(CancellationToken.None);

        Assert.Equal(DispatchStatus.Drained, result.Status);
        var delivered = Assert.Single(_sink.Accepted);
        Assert.Equal($"pypi/{_project}/d-2.0.tar.gz", delivered.GetProperty("subject").GetString());
        var dead = new List<TableEntity>();
        await foreach (var e in _storage.Table(_eventsTable).QueryAsync<TableEntity>(x => x.PartitionKey == "dead"))
        {
            dead.Add(e);
        }
        Assert.Contains("refused", Assert.Single(dead).GetString("Reason"), StringComparison.Ordinal);
        Assert.Empty(await NotesAsync());
    }

    [Fact]
    public async Task A_note_whose_transaction_never_happened_is_not_delivered_and_goes_after_the_grace()
    {
        var e = new GatehouseEvent("0123456789abcdef0123456789abcdef", GatehouseEventTypes.ArtifactBlocked, "pypi/x/x-1.0.tar.gz", new(), _time.GetUtcNow());
        await _outbox.StageAsync(e, GatehouseStorage.ReferencesTable, $"pypi:{_project}", CancellationToken.None);

        Assert.Equal(0, (await Dispatcher().RunOnceAsync(CancellationToken.None)).Delivered);
        Assert.Single(await NotesAsync());
        _time.Advance(TableEventOutbox.UncommittedGrace + TimeSpan.FromSeconds(1));
        Assert.Equal(0, (await Dispatcher().RunOnceAsync(CancellationToken.None)).Delivered);

        Assert.Empty(_sink.Accepted);
        Assert.Empty(await NotesAsync());
    }

    [Fact]
    public async Task One_dispatcher_at_a_time_holds_the_lease()
    {
        var holder = Dispatcher();
        var other = Dispatcher();
        await _outbox.EnqueueAsync(new GatehouseEvent("11111111111111111111111111111111", GatehouseEventTypes.TokenRevoked, "tokens/t1", new(), _time.GetUtcNow()),
            CancellationToken.None);

        Assert.Equal(DispatchStatus.Drained, (await holder.RunOnceAsync(CancellationToken.None)).Status);
        Assert.Equal(DispatchStatus.Busy, (await other.RunOnceAsync(CancellationToken.None)).Status);
        await holder.ReleaseAsync(CancellationToken.None);
        Assert.Equal(DispatchStatus.Drained, (await other.RunOnceAsync(CancellationToken.None)).Status);
        Assert.Equal(GatehouseEventTypes.TokenRevoked, Assert.Single(_sink.Accepted).GetProperty("type").GetString());
    }

    [Theory]
    [InlineData(false, "application/cloudevents+json", 2)]
    [InlineData(true, "application/cloudevents-batch+json", 1)]
    public async Task The_webhook_gets_cloudevents_in_structured_or_batched_mode(bool batch, string mediaType, int requests)
    {
        var handler = new RecordingHandler(HttpStatusCode.Accepted);
        using var http = new HttpClient(handler);
        var sink = new WebhookSink(http, new Uri("http://receiver.test/events"), batch);

        var result = await sink.SendAsync(["{\"id\":\"1\"}", "{\"id\":\"2\"}"], CancellationToken.None);

        Assert.Equal(2, result.Delivered);
        Assert.Null(result.Error);
        Assert.Equal(requests, handler.Requests.Count);
        Assert.All(handler.Requests, r => Assert.Equal(mediaType, r.MediaType));
        var ids = handler.Requests.SelectMany(r => batch ? JsonDocument.Parse(r.Body).RootElement.EnumerateArray().ToArray() : [JsonDocument.Parse(r.Body).RootElement])
            .Select(e => e.GetProperty("id").GetString());
        Assert.Equal(["1", "2"], ids);
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, false)]
    [InlineData(HttpStatusCode.TooManyRequests, false)]
    [InlineData(HttpStatusCode.RequestTimeout, false)]
    [InlineData(HttpStatusCode.BadRequest, true)]
    [InlineData(HttpStatusCode.Gone, true)]
    public async Task A_webhook_failure_is_retried_unless_it_is_a_refusal(HttpStatusCode status, bool rejected)
    {
        using var http = new HttpClient(new RecordingHandler(status));
        var sink = new WebhookSink(http, new Uri("http://receiver.test/events"), batch: false);

        var result = await sink.SendAsync(["{\"id\":\"1\"}"], CancellationToken.None);

        Assert.Equal(0, result.Delivered);
        Assert.Contains(((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture), result.Error, StringComparison.Ordinal);
        Assert.Equal(rejected, result.Rejected);
    }

    private EventDispatcher Dispatcher() =>
        new(_outbox, [_sink], Options.Create(new EventsOptions { WebhookUrl = "http://receiver.test/" }), new AuditLog(_storage, _time), _time,
            NullLogger<EventDispatcher>.Instance);

    private async Task<ArtifactReference> RecordedAsync(string file)
    {
        var reference = new ArtifactReference(PyPIRemote.Pypi, new ReferenceKey($"pypi:{_project}", file), $"{_project} 1.0", file,
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(_project + file))), 10, "https://files.example/" + file, null);
        await _references.RecordAsync(reference, CancellationToken.None);
        return reference;
    }

    private ArtifactDecision Decided(Decision decision, string rule) => new(decision, rule, "because", "pv-1", _time.GetUtcNow()) { PolicyRule = rule };

    private async Task<List<TableEntity>> PartitionRowsAsync(string partition)
    {
        var rows = new List<TableEntity>();
        await foreach (var e in _storage.Table(GatehouseStorage.ReferencesTable).QueryAsync<TableEntity>(x => x.PartitionKey == partition))
        {
            rows.Add(e);
        }
        return rows;
    }

    private async Task<List<StoredReference>> ListAsync(string partition)
    {
        var listed = new List<StoredReference>();
        await foreach (var stored in _references.ListAsync(partition, CancellationToken.None))
        {
            listed.Add(stored);
        }
        return listed;
    }

    private async Task<List<TableEntity>> NotesAsync()
    {
        var notes = new List<TableEntity>();
        await foreach (var e in _storage.Table(_eventsTable).QueryAsync<TableEntity>(x => x.PartitionKey == "pending"))
        {
            notes.Add(e);
        }
        return notes;
    }

    /// <summary>A destination in memory: down (503-like, retried), refusing one subject for good, or accepting.</summary>
    private sealed class FakeSink : IEventSink
    {
        public ConcurrentQueue<JsonElement> AcceptedQueue { get; } = new();
        public IReadOnlyList<JsonElement> Accepted => [.. AcceptedQueue];
        public bool Down { get; set; }
        public string? RefuseSubject { get; set; }
        public int Attempts;

        public Task<SinkResult> SendAsync(IReadOnlyList<string> envelopes, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Attempts);
            if (Down)
            {
                return Task.FromResult(new SinkResult(0, "down"));
            }
            var events = envelopes.Select(e => JsonDocument.Parse(e).RootElement.Clone()).ToList();
            // Like Event Grid: a batch with a bad event is refused whole.
            if (events.Any(e => e.GetProperty("subject").GetString() == RefuseSubject))
            {
                return Task.FromResult(new SinkResult(0, "refused: bad event", Rejected: true, Single: events.Count == 1));
            }
            foreach (var e in events)
            {
                AcceptedQueue.Enqueue(e);
            }
            return Task.FromResult(SinkResult.All(events.Count));
        }
    }

    private sealed class RecordingHandler(HttpStatusCode status) : HttpMessageHandler
    {
        public List<(string? MediaType, string Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add((request.Content?.Headers.ContentType?.MediaType, await request.Content!.ReadAsStringAsync(cancellationToken)));
            return new HttpResponseMessage(status);
        }
    }
}
