using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml;

namespace Gatehouse.Cli.Deploy;

/// <summary>
/// Prints a deployment's progress as it is polled: one line each time the deployment or one of its operations (one per
/// resource, from <c>GET …/deployments/{name}/operations</c>) reaches a new provisioning state, so a log reads top to
/// bottom. A failed operation's error follows its line.
/// </summary>
internal sealed class DeploymentProgress(TextWriter output, TimeProvider time)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();
    private readonly Dictionary<string, string> _seen = new(StringComparer.Ordinal);
    private string? _deploymentState;

    /// <summary>The deployment's own state (from the async operation or the resource).</summary>
    public void Deployment(string name, string state)
    {
        if (state == _deploymentState)
        {
            return;
        }
        _deploymentState = state;
        output.WriteLine($"{Elapsed()} deployment {name}: {state}");
    }

    /// <summary>Prints the operations whose state changed since the last call.</summary>
    public void Operations(IEnumerable<JsonObject> operations)
    {
        var ordered = operations
            .Select(o => (Id: o["operationId"].Text() ?? o["id"].Text() ?? "", Properties: o["properties"] as JsonObject ?? []))
            .OrderBy(o => o.Properties["timestamp"].Text() ?? "", StringComparer.Ordinal)
            .ThenBy(o => Label(o.Properties), StringComparer.Ordinal);
        foreach (var (id, properties) in ordered)
        {
            var state = properties["provisioningState"].Text() ?? "Unknown";
            if (_seen.TryGetValue(id, out var previous) && previous == state)
            {
                continue;
            }
            _seen[id] = state;
            var duration = IsTerminal(state) && Duration(properties["duration"]) is { } took ? $" ({took})" : "";
            output.WriteLine($"{Elapsed()}   {state,-10} {Label(properties)}{duration}");
            if (state == "Failed" && ArmError.From(properties["statusMessage"]) is { } error)
            {
                error.WriteTo(output, "             ");
            }
        }
    }

    public static bool IsTerminal(string state) => state is "Succeeded" or "Failed" or "Canceled";

    private string Elapsed() => $"[+{(int)(time.GetUtcNow() - _started).TotalSeconds,4}s]";

    private static string Label(JsonObject properties)
    {
        var operation = properties["provisioningOperation"].Text() ?? "";
        if (properties["targetResource"] is JsonObject target && target["resourceType"].Text() is { } type)
        {
            var verb = operation is "Create" or "" ? "" : operation + " ";
            return $"{verb}{type}/{target["resourceName"].Text()}";
        }
        return operation == "EvaluateDeploymentOutput" ? "(outputs)" : operation;
    }

    // Operations report their duration as an ISO 8601 period, e.g. PT12.3456S.
    private static string? Duration(JsonNode? node)
    {
        if (node.Text() is not { } text)
        {
            return null;
        }
        try
        {
            return XmlConvert.ToTimeSpan(text).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
        }
        catch (FormatException)
        {
            return text;
        }
    }
}
