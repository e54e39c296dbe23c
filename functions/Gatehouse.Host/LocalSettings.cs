using System.Text.Json;

namespace Gatehouse.Host;

/// <summary>
/// Reads the <c>Values</c> of a Functions <c>local.settings.json</c> so the standalone host takes the same settings
/// as the Functions app; <c>__</c> in a key means <c>:</c>, as in environment variables.
/// </summary>
public static class LocalSettings
{
    public static IReadOnlyDictionary<string, string?> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream);
        if (!document.RootElement.TryGetProperty("Values", out var values) || values.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path} has no \"Values\" object.");
        }
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in values.EnumerateObject())
        {
            settings[property.Name.Replace("__", ":", StringComparison.Ordinal)] = property.Value.ValueKind == JsonValueKind.String
                ? property.Value.GetString()
                : property.Value.GetRawText();
        }
        return settings;
    }
}
