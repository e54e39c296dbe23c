using System.Text.Json.Nodes;

namespace Gatehouse.Infra.Tests;

/// <summary>
/// A <c>bicep snapshot</c>: the resources a deployment of a .bicepparam file would create, with names and properties
/// evaluated as far as they can be offline (values that exist only in Azure stay ARM expressions, e.g.
/// <c>[reference('…/userAssignedIdentities/id-…', '2024-11-30').principalId]</c>).
/// </summary>
public sealed class ArmSnapshot
{
    public ArmSnapshot(string name, JsonObject document)
    {
        Name = name;
        Resources = document["predictedResources"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Outputs = document["outputs"]?.AsObject() ?? new JsonObject();
    }

    /// <summary>Which parameter file (and environment) this is a snapshot of, for failure messages.</summary>
    public string Name { get; }

    public IReadOnlyList<JsonObject> Resources { get; }

    public JsonObject Outputs { get; }

    public IReadOnlyList<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase)).ToList();

    public JsonObject Single(string type)
    {
        var matches = OfType(type);
        Assert.True(matches.Count == 1, $"{Name}: expected exactly one {type}, found {matches.Count}");
        return matches[0];
    }

    /// <summary>The resource whose evaluated id is <paramref name="id"/>.</summary>
    public JsonObject ById(string id) =>
        Resources.SingleOrDefault(r => string.Equals((string?)r["id"], id, StringComparison.OrdinalIgnoreCase))
        ?? throw new Xunit.Sdk.XunitException($"{Name}: no resource with id {id}");

    /// <summary>An output's value (a snapshot stores it as the value itself, or as an expression when only Azure knows it).</summary>
    public string Output(string name) => Outputs[name] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o when o["value"] is JsonValue v && v.TryGetValue<string>(out var s) => s,
        _ => throw new Xunit.Sdk.XunitException($"{Name}: no string output {name}"),
    };

    public override string ToString() => Name;
}

/// <summary>Small helpers for ARM JSON.</summary>
public static class Json
{
    /// <summary>The node at a dotted path ("properties.siteConfig.minTlsVersion"), or null.</summary>
    public static JsonNode? At(this JsonNode node, string path)
    {
        var current = node;
        foreach (var part in path.Split('.'))
        {
            current = current is JsonObject o ? o[part] : null;
        }
        return current;
    }

    public static string? Str(this JsonNode node, string path) => node.At(path) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static bool? Bool(this JsonNode node, string path) => node.At(path) is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    public static int? Int(this JsonNode node, string path) => node.At(path) is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    /// <summary>Every string value anywhere under <paramref name="node"/>, with its path.</summary>
    public static IEnumerable<(string Path, string Value)> Strings(this JsonNode? node, string path = "")
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o)
                {
                    foreach (var s in child.Strings(path.Length == 0 ? key : $"{path}.{key}"))
                    {
                        yield return s;
                    }
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var s in a[i].Strings($"{path}[{i}]"))
                    {
                        yield return s;
                    }
                }
                break;
            case JsonValue v when v.TryGetValue<string>(out var value):
                yield return (path, value);
                break;
        }
    }
}
