using Azure;
using Gatehouse.Configuration;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Policy;

/// <summary>
/// The policy in force, from its source: a local file (<c>Gatehouse:Policy:File</c>, the standalone host), else the
/// blob <c>config/policy.yaml</c>, else the built-in default. The source is checked every <c>ReloadSeconds</c> and a new
/// text replaces the policy only when it is valid: a malformed policy is logged with its line errors and reported by
/// <c>GET /admin/policy</c>, and the running policy stays in force.
/// </summary>
public sealed class PolicyProvider : IPolicySource
{
    public const string BlobName = "policy.yaml";
    public const string DefaultSource = "built-in default";

    private readonly GatehouseStorage _storage;
    private readonly TimeProvider _time;
    private readonly ILogger<PolicyProvider> _log;
    private readonly string _file;
    private readonly TimeSpan _reload;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile InForce? _current;
    private PolicyLoadFailure? _failure;
    private string? _lastSeen;
    private DateTimeOffset _nextCheck;
    private int _refreshing;

    public PolicyProvider(GatehouseStorage storage, IOptions<GatehouseOptions> options, TimeProvider time, ILogger<PolicyProvider> log)
    {
        _storage = storage;
        _time = time;
        _log = log;
        _file = options.Value.Policy.File;
        _reload = TimeSpan.FromSeconds(Math.Max(1, options.Value.Policy.ReloadSeconds));
    }

    /// <summary>The built-in default policy's text (embedded in the assembly).</summary>
    public static string DefaultText { get; } = ReadDefault();

    /// <summary>Where the policy is read from: the file's path, the blob's name, or the built-in default.</summary>
    public string Source => _file.Length > 0 ? _file : $"{GatehouseStorage.ConfigContainer}/{BlobName}";

    /// <summary>What is in force, and the last policy text that was refused (null when the source is valid).</summary>
    public PolicyStatus Status => new(_current?.Policy.Document, _current?.Source ?? DefaultSource, _current?.LoadedAt, _failure);

    /// <summary>The policy in force; the first call loads it, later calls start a background check when one is due.</summary>
    public async ValueTask<IDecisionPolicy> CurrentAsync(CancellationToken cancellationToken) => await CurrentPolicyAsync(cancellationToken);

    /// <inheritdoc cref="CurrentAsync"/>
    public async ValueTask<DeclarativePolicy> CurrentPolicyAsync(CancellationToken cancellationToken)
    {
        if (_current is not { } current)
        {
            await RefreshAsync(cancellationToken);
            return _current!.Policy;
        }
        if (_time.GetUtcNow() >= _nextCheck && Interlocked.Exchange(ref _refreshing, 1) == 0)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await RefreshAsync(CancellationToken.None);
                }
                catch (Exception e)
                {
                    _log.LogWarning(e, "Policy source {Source} could not be read; policy {PolicyVersion} stays in force", Source, current.Policy.Version);
                }
                finally
                {
                    Volatile.Write(ref _refreshing, 0);
                }
            }, CancellationToken.None);
        }
        return current.Policy;
    }

    /// <summary>Reads the source now and puts its policy in force when it is new and valid.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _nextCheck = _time.GetUtcNow() + _reload;
            string? text;
            try
            {
                text = await ReadSourceAsync(cancellationToken);
            }
            catch (Exception e) when (_current is null && e is not OperationCanceledException)
            {
                // Nothing is in force yet and the source cannot be read: hold files by the default policy until it can.
                _log.LogError(e, "Policy source {Source} could not be read; the built-in default policy is in force until it can", Source);
                text = null;
            }
            var source = text is null ? DefaultSource : Source;
            text ??= DefaultText;
            if (text == _lastSeen && _current is not null)
            {
                return;
            }
            _lastSeen = text;
            if (!PolicyParser.TryParse(text, out var document, out var errors))
            {
                _failure = new PolicyLoadFailure(PolicyParser.VersionOf(text), source, _time.GetUtcNow(), errors);
                foreach (var error in errors)
                {
                    _log.LogError("Policy from {Source} refused at line {Line}, column {Column}: {Error}", source, error.Line, error.Column, error.Message);
                }
                if (_current is null)
                {
                    _current = new InForce(new DeclarativePolicy(PolicyParser.Parse(DefaultText), _time), DefaultSource, _time.GetUtcNow());
                    _log.LogError("No valid policy in {Source}: the built-in default policy {PolicyVersion} is in force", source, _current.Policy.Version);
                }
                else
                {
                    _log.LogError("Policy {PolicyVersion} stays in force", _current.Policy.Version);
                }
                return;
            }
            Use(document, source);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Validates <paramref name="text"/>, writes it to the source and puts it in force. A text with errors is refused
    /// with <see cref="InvalidPolicyException"/> and nothing is written.
    /// </summary>
    public async Task<PolicyDocument> ApplyAsync(string text, CancellationToken cancellationToken)
    {
        var document = PolicyParser.Parse(text);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_file.Length > 0)
            {
                // Written beside and moved over, so a reader never sees half a policy.
                var temporary = _file + ".new";
                await File.WriteAllTextAsync(temporary, text, cancellationToken);
                File.Move(temporary, _file, overwrite: true);
            }
            else
            {
                await _storage.Container(GatehouseStorage.ConfigContainer).GetBlobClient(BlobName).UploadAsync(BinaryData.FromString(text), overwrite: true, cancellationToken);
            }
            _lastSeen = text;
            Use(document, Source);
            return document;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Use(PolicyDocument document, string source)
    {
        var previous = _current?.Policy.Version;
        _current = new InForce(new DeclarativePolicy(document, _time), source, _time.GetUtcNow());
        _failure = null;
        _log.LogInformation("Policy {PolicyVersion} ({PolicyName}, {Rules} rules, {Exceptions} exceptions) from {Source} is in force (was {Previous})",
            document.Version, document.Name, document.Rules.Count, document.Exceptions.Count, source, previous ?? "none");
        foreach (var expired in document.Expired(_time.GetUtcNow()))
        {
            _log.LogWarning("Policy exception {ExceptionId} ({Owner}) expired on {Expires:yyyy-MM-dd}; it no longer applies", expired.Id, expired.Owner, expired.Expires.AddTicks(-1));
        }
    }

    private async Task<string?> ReadSourceAsync(CancellationToken cancellationToken)
    {
        if (_file.Length > 0)
        {
            return File.Exists(_file) ? await File.ReadAllTextAsync(_file, cancellationToken) : null;
        }
        try
        {
            var blob = await _storage.Container(GatehouseStorage.ConfigContainer).GetBlobClient(BlobName).DownloadContentAsync(cancellationToken);
            return blob.Value.Content.ToString();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private static string ReadDefault()
    {
        using var stream = typeof(PolicyProvider).Assembly.GetManifestResourceStream("Gatehouse.Policy.default-policy.yaml")
            ?? throw new InvalidOperationException("The built-in policy is not embedded in Gatehouse.Core.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private sealed record InForce(DeclarativePolicy Policy, string Source, DateTimeOffset LoadedAt);
}

/// <summary>The policy in force and the last refused text, for <c>GET /admin/policy</c>.</summary>
public sealed record PolicyStatus(PolicyDocument? Document, string Source, DateTimeOffset? LoadedAt, PolicyLoadFailure? LastFailure);

/// <summary>A policy text that was refused, with its errors.</summary>
public sealed record PolicyLoadFailure(string Version, string Source, DateTimeOffset At, IReadOnlyList<PolicyError> Errors);
