using System.Globalization;
using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Deploy;

/// <summary>Tolerant reads of Azure's JSON: a field of an unexpected type reads as missing instead of throwing.</summary>
internal static class JsonText
{
    /// <summary>The string value of <paramref name="node"/>, or null when it is missing or not a string.</summary>
    public static string? Text(this JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>The number in <paramref name="node"/> (also when sent as a string), or null.</summary>
    public static int? Number(this JsonNode? node) =>
        node is JsonValue value && (value.TryGetValue<int>(out var number) || (value.TryGetValue<string>(out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out number)))
            ? number
            : null;

    public static bool IsTrue(this JsonNode? node) => node is JsonValue value && value.TryGetValue<bool>(out var flag) && flag;
}
