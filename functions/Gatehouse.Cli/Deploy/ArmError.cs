using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Deploy;

/// <summary>
/// An Azure Resource Manager error, <c>{"error":{"code","message","target","details":[…]}}</c>, with its nested details.
/// </summary>
internal sealed record ArmError(string Code, string Message, string? Target, IReadOnlyList<ArmError> Details)
{
    /// <summary>Reads an error from <c>{"error":{…}}</c>, a bare <c>{"code","message"}</c>, or null when it is neither.</summary>
    public static ArmError? From(JsonNode? node)
    {
        if (node is not JsonObject obj)
        {
            return null;
        }
        if (obj["error"] is JsonObject inner)
        {
            return From(inner);
        }
        var code = Text(obj["code"]);
        var message = Text(obj["message"]);
        if (code is null && message is null)
        {
            return null;
        }
        var details = new List<ArmError>();
        // ARM often wraps a resource provider's whole error body, as JSON text, in the message of a detail.
        if (message is not null && message.TrimStart().StartsWith('{') && TryParse(message) is { } wrapped && From(wrapped) is { } unwrapped)
        {
            details.Add(unwrapped);
            message = "";
        }
        if (obj["details"] is JsonArray array)
        {
            details.AddRange(array.Select(From).OfType<ArmError>());
        }
        return new ArmError(code ?? "(no code)", message ?? "", Text(obj["target"]), details);
    }

    /// <summary>Reads an error from a response body's text, or null when the text is not an ARM error.</summary>
    public static ArmError? FromText(string text) => TryParse(text) is { } node ? From(node) : null;

    /// <summary>Writes the error as an indented tree: <c>Code: message</c>, each detail two spaces further in.</summary>
    public void WriteTo(TextWriter writer, string indent)
    {
        var target = string.IsNullOrEmpty(Target) ? "" : $" (target: {Target})";
        var message = Message.Length == 0 ? "" : " " + Message.ReplaceLineEndings(" ").Trim();
        writer.WriteLine($"{indent}{Code}:{message}{target}");
        foreach (var detail in Details)
        {
            detail.WriteTo(writer, indent + "  ");
        }
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var s) ? s : node?.ToJsonString();

    private static JsonNode? TryParse(string text)
    {
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
