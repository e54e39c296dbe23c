using System.CommandLine;
using Gatehouse.Scanning;
using Gatehouse.Scanning.Reports;

namespace Gatehouse.Cli.Scan;

/// <summary>
/// <c>gatehouse scan &lt;paths…&gt; [--format text|json|sarif] [--output FILE]</c>: scans model files offline, recursing into
/// folders. Exit 0 when every file is safe, 1 on findings, 2 on errors.
/// </summary>
public static class ScanCommand
{
    public static Command Build()
    {
        var paths = new Argument<string[]>("paths") { Description = "Files or folders to scan", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string>("--format") { Description = "text (a table), json, or sarif (2.1.0)", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "sarif");
        var output = new Option<string?>("--output", "-o") { Description = "Write the report to this file instead of standard output" };
        var command = new Command("scan", "Scan model files (pickle, PyTorch, numpy, joblib, Keras, TensorFlow SavedModel, ONNX, GGUF, safetensors, archives) offline") { paths, format, output };
        command.SetAction(async (parse, ct) =>
        {
            var run = await FolderScan.RunAsync(parse.GetValue(paths)!, new ModelScanner(), ct);
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
                Console.Out.Write(text);
            }
            return run.ExitCode;
        });
        return command;
    }
}
