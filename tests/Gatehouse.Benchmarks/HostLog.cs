using System.Globalization;
using System.Text.Json;

namespace Gatehouse.Benchmarks;

/// <summary>One line of the host's JSON console log (Logging__Console__FormatterName=json, with a timestamp format).</summary>
public sealed record HostLogEntry(DateTimeOffset Timestamp, string Template, IReadOnlyDictionary<string, JsonElement> State)
{
    public string Text(string name) => State.TryGetValue(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.ToString() : "";

    public double Number(string name) => State.TryGetValue(name, out var v)
        ? v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.Parse(v.GetString()!, CultureInfo.InvariantCulture)
        : double.NaN;
}

/// <summary>Reads the structured lines the cold-miss path logs: Fetched, Scan started, Check, Verdict.</summary>
public static class HostLog
{
    public static IReadOnlyList<HostLogEntry> Read(string path, string sha256)
    {
        var entries = new List<HostLogEntry>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (!line.StartsWith('{') || !line.Contains(sha256, StringComparison.Ordinal))
            {
                continue;
            }
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (!root.TryGetProperty("Timestamp", out var ts) || !root.TryGetProperty("State", out var state))
            {
                throw new InvalidOperationException("The host log has no Timestamp: start the host with Logging__Console__FormatterOptions__TimestampFormat set.");
            }
            var values = state.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
            var template = values.TryGetValue("{OriginalFormat}", out var f) ? f.GetString() ?? "" : "";
            entries.Add(new HostLogEntry(DateTimeOffset.Parse(ts.GetString()!, CultureInfo.InvariantCulture), template, values));
        }
        return entries;
    }

    /// <summary>Waits until the verdict line for a content is in the log (the console logger writes asynchronously).</summary>
    public static async Task<IReadOnlyList<HostLogEntry>> WaitForVerdictAsync(string path, string sha256, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var entries = Read(path, sha256);
            if (entries.Any(e => e.Template.StartsWith("Verdict ", StringComparison.Ordinal)) || DateTimeOffset.UtcNow > deadline)
            {
                return entries;
            }
            await Task.Delay(200);
        }
    }
}
