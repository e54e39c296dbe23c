using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.ResourceManager;

namespace Gatehouse.Cli.Deploy;

/// <summary>One HTTP answer from Azure: status, JSON body (if any) and the headers the long-running operations need.</summary>
internal sealed record ArmResponse(int Status, JsonNode? Body, string Text, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>Azure refused a request: the status and, when the body is one, the ARM error.</summary>
internal sealed class ArmCallFailedException(string method, Uri uri, int status, string reason, ArmError? error, string body)
    : Exception($"{method} {uri.GetLeftPart(UriPartial.Path)} answered {status} {reason}" + (error is null ? Tail(body) : $": {error.Code}: {error.Message}"))
{
    /// <summary>The method and the URL without its query, e.g. <c>PUT https://management.azure.com/subscriptions/…</c>.</summary>
    public string Call { get; } = $"{method} {uri.GetLeftPart(UriPartial.Path)}";
    public int Status { get; } = status;
    public string Reason { get; } = reason;
    public ArmError? Error { get; } = error;
    public string Body { get; } = body;

    private static string Tail(string body) => body.Trim().Length == 0 ? "" : ": " + (body.Length > 500 ? body[..500] + "…" : body.Trim());
}

/// <summary>
/// Raw REST calls through <see cref="Azure.ResourceManager.ArmClient"/>'s pipeline: its bearer token, retries, user agent
/// and diagnostics, for resources (deployments, what-if) whose typed clients are not available here (they live in
/// <c>Azure.ResourceManager.Resources</c>, which the package feed does not serve; <c>Azure.ResourceManager</c> alone has
/// no deployment types).
/// </summary>
internal sealed class ArmRest(HttpPipeline pipeline, Uri endpoint)
{
    public Uri Endpoint => endpoint;

    /// <summary>An absolute URL on the ARM endpoint for a path like <c>/subscriptions/…?api-version=…</c>.</summary>
    public Uri At(string pathAndQuery) => new(endpoint, pathAndQuery);

    /// <summary>Sends a request with an optional JSON body; throws <see cref="ArmCallFailedException"/> for 4xx/5xx.</summary>
    public Task<ArmResponse> SendAsync(RequestMethod method, Uri uri, JsonNode? body, CancellationToken cancellationToken) =>
        SendAsync(method, uri, body is null ? null : RequestContent.Create(Encoding.UTF8.GetBytes(body.ToJsonString())), "application/json", null, cancellationToken);

    /// <summary>Sends a request with any content (a zip for the code upload); throws for 4xx/5xx.</summary>
    public async Task<ArmResponse> SendAsync(RequestMethod method, Uri uri, RequestContent? content, string contentType, TimeSpan? networkTimeout, CancellationToken cancellationToken)
    {
        using var message = pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(uri);
        request.Headers.Add("Accept", "application/json");
        if (content is not null)
        {
            request.Headers.Add("Content-Type", contentType);
            request.Content = content;
        }
        if (networkTimeout is { } timeout)
        {
            message.NetworkTimeout = timeout;
        }
        await pipeline.SendAsync(message, cancellationToken);
        var response = message.Response;
        var text = response.Content?.ToString() ?? "";
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in response.Headers)
        {
            headers[header.Name] = header.Value;
        }
        if (response.Status >= 400)
        {
            throw new ArmCallFailedException(method.Method, uri, response.Status, response.ReasonPhrase, ArmError.FromText(text), text);
        }
        return new ArmResponse(response.Status, Parse(text), text, headers);
    }

    private static JsonNode? Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// A resource group as an <see cref="ArmResource"/>: the extension point Azure.ResourceManager gives resource types from
/// other packages, and the way to its <c>Pipeline</c> and <c>Endpoint</c>, which <see cref="ArmClient"/> keeps internal.
/// </summary>
internal sealed class ResourceGroupScope(ArmClient client, ResourceIdentifier id) : ArmResource(client, id)
{
    public ArmRest Rest() => new(Pipeline, Endpoint);
}
