using System.CommandLine;
using System.Globalization;
using Gatehouse.Scanning;
using Gatehouse.Scanning.Reports;

namespace Gatehouse.Cli.Scan;

/// <summary>
/// <c>gatehouse scan &lt;paths…&gt; [--format text|json|sarif] [--output FILE] [--max-memory 256MiB]</c>: scans model files
/// offline, recursing into folders. Exit 0 when every file is safe, 1 on findings, 2 on errors.
/// </summary>
public static class ScanCommand
{
    public static Command Build()
    {
        var paths = new Argument<string[]>("paths") { Description = "Files or folders to scan", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string>("--format") { Description = "text (a table), json, or sarif (2.1.0)", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "sarif");
        var output = new Option<string?>("--output", "-o") { Description = "Write the report to this file instead of standard output" };
        var maxMemory = new Option<string?>("--max-memory")
        {
            Description = "Memory one file's scan may hold (bytes, or with a unit: 64MiB, 1GB); past it the file is Suspicious (scan.budget-exceeded). Default 256MiB",
        };
        var command = new Command("scan", "Scan model files (pickle, PyTorch, numpy, joblib, Keras, TensorFlow SavedModel, ONNX, GGUF, safetensors, archives) offline") { paths, format, output, maxMemory };
        command.SetAction(async (parse, ct) =>
        {
            var limits = new ScanLimits();
            if (parse.GetValue(maxMemory) is { } memory)
            {
                if (ParseByteSize(memory) is not { } bytes)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync(
                        $"--max-memory must be a positive number of bytes, optionally with a unit (KB, MB, GB, KiB, MiB, GiB), e.g. 256MiB; not '{memory}'.");
                    return 2;
                }
                limits = limits with { MaxMemoryBytes = bytes };
            }
            var run = await FolderScan.RunAsync(parse.GetValue(paths)!, new ModelScanner(limits), ct);
            var text = parse.GetValue(format) switch
            {
                "json" => JsonReport.Write(run),
                "sarif" => SarifReport.Write(run, Directory.GetCurrentDirectory()),
                _ => TextReport.Write(run),
            };
            if (parse.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file, text, ct);
            }
            else
            {
                await parse.InvocationConfiguration.Output.WriteAsync(text);
            }
            return run.ExitCode;
        });
        return command;
    }

    /// <summary>"268435456", "256MiB", "1 GB" (units of 1000 or 1024, case-insensitive); null when not a positive size.</summary>
    internal static long? ParseByteSize(string text)
    {
        var trimmed = text.Trim();
        var digits = 0;
        while (digits < trimmed.Length && char.IsAsciiDigit(trimmed[digits]))
        {
            digits++;
        }
        var multiplier = trimmed[digits..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1L,
            "KB" => 1000L,
            "MB" => 1000L * 1000,
            "GB" => 1000L * 1000 * 1000,
            "KIB" => 1L << 10,
            "MIB" => 1L << 20,
            "GIB" => 1L << 30,
            _ => 0,
        };
        if (digits == 0 || multiplier == 0 || !long.TryParse(trimmed.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count <= 0 || count > long.MaxValue / multiplier)
        {
            return null;
        }
        return count * multiplier;
    }
}
