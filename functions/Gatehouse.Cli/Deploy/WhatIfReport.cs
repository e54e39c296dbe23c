using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Deploy;

/// <summary>
/// Prints a what-if result (<c>WhatIfOperationResult</c>): one line per resource with its change type, the property
/// changes under a Modify, ARM's diagnostics, and a count by change type.
/// </summary>
internal static class WhatIfReport
{
    // Order and symbol per change type, as `az deployment group what-if` shows them.
    private static readonly (string Type, string Symbol, string Summary)[] ChangeTypes =
    [
        ("Create", "+", "to create"), ("Delete", "-", "to delete"), ("Modify", "~", "to modify"), ("Deploy", "!", "to deploy"),
        ("Unsupported", "x", "unsupported"), ("Ignore", "*", "ignored"), ("NoChange", "=", "unchanged"),
    ];

    public static void Write(TextWriter output, JsonNode? result, string subscriptionId, string resourceGroup)
    {
        var scope = $"/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/";
        var changes = (result?["properties"]?["changes"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(c => (Type: c["changeType"].Text() ?? "Unknown", Id: c["resourceId"].Text() ?? "", Change: c))
            .OrderBy(c => Rank(c.Type)).ThenBy(c => c.Id, StringComparer.OrdinalIgnoreCase)
            .ToList();
        output.WriteLine($"What-if in resource group {resourceGroup} (nothing was deployed): {changes.Count} resource(s)");
        foreach (var (type, id, change) in changes)
        {
            var shown = id.StartsWith(scope, StringComparison.OrdinalIgnoreCase) ? id[scope.Length..] : id;
            var reason = change["unsupportedReason"].Text() is { Length: > 0 } why ? $" ({why})" : "";
            output.WriteLine($"  {Symbol(type)} {type,-11} {shown}{reason}");
            foreach (var delta in (change["delta"] as JsonArray ?? []).OfType<JsonObject>())
            {
                WriteDelta(output, delta, "      ");
            }
        }
        foreach (var diagnostic in (result?["properties"]?["diagnostics"] as JsonArray ?? []).OfType<JsonObject>())
        {
            output.WriteLine($"  {diagnostic["level"].Text() ?? "Info"}: {diagnostic["code"].Text()}: " +
                $"{diagnostic["message"].Text()}{(diagnostic["target"].Text() is { } target ? $" (target: {target})" : "")}");
        }
        var counts = changes.GroupBy(c => c.Type).OrderBy(g => Rank(g.Key)).Select(g => $"{g.Count()} {Summary(g.Key)}");
        output.WriteLine($"Changes: {(changes.Count == 0 ? "none" : string.Join(", ", counts))}.");
    }

    private static void WriteDelta(TextWriter output, JsonObject delta, string indent)
    {
        var kind = delta["propertyChangeType"].Text() ?? "";
        var path = delta["path"].Text() ?? "";
        var text = kind switch
        {
            "Create" => $"+ {path}: {Value(delta["after"])}",
            "Delete" => $"- {path}: {Value(delta["before"])}",
            "Modify" => $"~ {path}: {Value(delta["before"])} => {Value(delta["after"])}",
            "NoEffect" => $"x {path}: {Value(delta["after"])} (no effect)",
            _ => $"~ {path}:",
        };
        output.WriteLine(indent + text);
        foreach (var child in (delta["children"] as JsonArray ?? []).OfType<JsonObject>())
        {
            WriteDelta(output, child, indent + "  ");
        }
    }

    private static string Value(JsonNode? node) => node is null ? "null" : node.ToJsonString();

    private static int Rank(string type) => Array.FindIndex(ChangeTypes, t => t.Type == type) is var i and >= 0 ? i : ChangeTypes.Length;

    private static string Symbol(string type) => ChangeTypes.FirstOrDefault(t => t.Type == type).Symbol ?? "?";

    private static string Summary(string type) => ChangeTypes.FirstOrDefault(t => t.Type == type).Summary ?? type;
}
