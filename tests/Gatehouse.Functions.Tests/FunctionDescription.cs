using System.Text.Json;

namespace Gatehouse.Functions.Tests;

/// <summary>One binding of a function, as the Functions host reads it.</summary>
internal sealed record BindingDescription(
    string Type, string Direction, string Name, string? AuthLevel, string? Route, IReadOnlyList<string> Methods, string? Schedule = null, string? Path = null,
    string? Source = null, string? Connection = null)
{
    public static BindingDescription Parse(JsonElement binding) => new(
        binding.GetProperty("type").GetString()!,
        binding.GetProperty("direction").GetString()!,
        binding.GetProperty("name").GetString()!,
        OptionalString(binding, "authLevel"),
        OptionalString(binding, "route"),
        binding.TryGetProperty("methods", out var methods) ? [.. methods.EnumerateArray().Select(m => m.GetString()!)] : [],
        OptionalString(binding, "schedule"),
        OptionalString(binding, "path"),
        OptionalString(binding, "source"),
        OptionalString(binding, "connection"));

    public bool IsInput => string.Equals(Direction, "In", StringComparison.OrdinalIgnoreCase);

    public bool IsOutput => string.Equals(Direction, "Out", StringComparison.OrdinalIgnoreCase);

    private static string? OptionalString(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) ? value.GetString() : null;
}

/// <summary>One function: its name and bindings.</summary>
internal sealed record FunctionDescription(string Name, IReadOnlyList<BindingDescription> Bindings)
{
    /// <summary>Every function of a generated <c>functions.metadata</c> file.</summary>
    public static IReadOnlyList<FunctionDescription> ParseMetadataFile(JsonElement file) =>
    [
        .. file.EnumerateArray().Select(f => new FunctionDescription(
            f.GetProperty("name").GetString()!,
            [.. f.GetProperty("bindings").EnumerateArray().Select(BindingDescription.Parse)])),
    ];

    /// <summary>A function as the worker reports it to the host: raw binding JSON strings.</summary>
    public static FunctionDescription FromRawBindings(string name, IEnumerable<string> rawBindings) =>
        new(name, [.. rawBindings.Select(raw => BindingDescription.Parse(JsonDocument.Parse(raw).RootElement.Clone()))]);

    /// <summary>
    /// The one function called <paramref name="name"/> among <paramref name="functions"/> (read from
    /// <paramref name="source"/>); none or several fail the test listing every function, so a missing or doubled
    /// registration shows what was there instead.
    /// </summary>
    public static FunctionDescription Single(IReadOnlyList<FunctionDescription> functions, string name, StringComparison comparison, string source)
    {
        var matches = functions.Where(f => string.Equals(f.Name, name, comparison)).ToList();
        Assert.True(matches.Count == 1, $"Expected one function '{name}' {source}, found {matches.Count}: {string.Join("; ", functions)}");
        return matches[0];
    }

    public IEnumerable<BindingDescription> OfType(string type) =>
        Bindings.Where(b => string.Equals(b.Type, type, StringComparison.OrdinalIgnoreCase));

    public override string ToString() => $"{Name} [{string.Join(", ", Bindings.Select(b => $"{b.Type} {b.Direction}"))}]";
}
