using System.Globalization;

namespace Gatehouse.Benchmarks;

/// <summary>"--name value" pairs from the command line.</summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Arguments Parse(string[] args)
    {
        var parsed = new Arguments();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value', got '{args[i]}'.");
            }
            parsed._values[args[i][2..]] = args[++i];
        }
        return parsed;
    }

    public string Required(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"Missing --{name}.");

    public string? Optional(string name) => _values.GetValueOrDefault(name);

    public long Long(string name, long? fallback = null) =>
        _values.TryGetValue(name, out var value) ? long.Parse(value, CultureInfo.InvariantCulture)
        : fallback ?? throw new ArgumentException($"Missing --{name}.");
}
