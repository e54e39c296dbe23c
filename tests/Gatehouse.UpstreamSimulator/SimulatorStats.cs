using System.Text.Json.Serialization;

namespace Gatehouse.UpstreamSimulator;

/// <summary>
/// What <c>GET /_sim/stats</c> returns: GET requests that started sending a body (HEAD is not counted),
/// keyed by filename (files, and core-metadata by the wheel it describes) or by normalized project.
/// </summary>
public sealed record SimulatorStats(
    [property: JsonPropertyName("fileFetches")] IReadOnlyDictionary<string, int> FileFetches,
    [property: JsonPropertyName("metadataFetches")] IReadOnlyDictionary<string, int> MetadataFetches,
    [property: JsonPropertyName("indexFetches")] IReadOnlyDictionary<string, int> IndexFetches,
    [property: JsonPropertyName("jsonFetches")] IReadOnlyDictionary<string, int> JsonFetches,
    [property: JsonPropertyName("down")] bool Down,
    [property: JsonPropertyName("delayMs")] long DelayMs,
    [property: JsonPropertyName("tampered")] IReadOnlyList<string> Tampered,
    [property: JsonPropertyName("faults")] IReadOnlyList<string> Faults,
    [property: JsonPropertyName("provenance")] IReadOnlyList<string> Provenance);
