using System.Text.RegularExpressions;

namespace Gatehouse.Infra.Tests;

/// <summary>
/// Stands in for Azure when a snapshot value depends on a deployed resource: evaluates the two expression shapes the
/// snapshots leave in app settings, <c>[reference('id', 'api').path]</c> and <c>[format('…{0}…', arg, …)]</c> with
/// literal or reference arguments, using the run-time values a test supplies. Anything else is refused, so a new kind of
/// expression in a setting makes the tests say so instead of passing it through.
/// </summary>
public static partial class ArmExpressions
{
    /// <summary>Evaluates <paramref name="value"/>; <paramref name="reference"/> maps (resource id, property path) to a value.</summary>
    public static string Evaluate(string value, Func<string, string, string> reference)
    {
        if (!value.StartsWith('[') || value.StartsWith("[[", StringComparison.Ordinal))
        {
            return value;
        }
        var body = value[1..^1];
        if (ReferenceCall().Match(body) is { Success: true } r)
        {
            return reference(r.Groups["id"].Value, r.Groups["path"].Value);
        }
        if (FormatCall().Match(body) is { Success: true } f)
        {
            var arguments = Arguments().Matches(f.Groups["args"].Value)
                .Select(a => a.Groups["literal"].Success
                    ? a.Groups["literal"].Value
                    : reference(a.Groups["id"].Value, a.Groups["path"].Value))
                .ToArray<object>();
            return string.Format(System.Globalization.CultureInfo.InvariantCulture, f.Groups["format"].Value, arguments);
        }
        throw new NotSupportedException($"Expression not understood by the tests: {value}");
    }

    [GeneratedRegex(@"^reference\('(?<id>[^']+)', '[^']+'(, 'full')?\)\.(?<path>[A-Za-z0-9_.]+)$")]
    private static partial Regex ReferenceCall();

    [GeneratedRegex(@"^format\('(?<format>[^']*)', (?<args>.+)\)$")]
    private static partial Regex FormatCall();

    [GeneratedRegex(@"\G(?:, )?(?:'(?<literal>[^']*)'|reference\('(?<id>[^']+)', '[^']+'(?:, 'full')?\)\.(?<path>[A-Za-z0-9_.]+))")]
    private static partial Regex Arguments();
}
