using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Bom;

/// <summary>
/// <c>gatehouse bom &lt;pypi|hf&gt; &lt;name&gt; [--out file]</c>: asks a running Gatehouse for the CycloneDX 1.6 bill of
/// materials of what a PyPI project or a Hugging Face repository pulled through it (<c>GET /admin/bom/…</c>) and
/// writes it to standard output or a file. Exit 0 with the BOM, 2 on errors (nothing recorded included).
/// </summary>
public static class BomCommand
{
    public static Command Build()
    {
        var connection = new AdminConnection();
        var remote = new Argument<string>("remote") { Description = "pypi or hf" };
        remote.AcceptOnlyFromAmong("pypi", "hf");
        var name = new Argument<string>("name") { Description = "A PyPI project, or a Hugging Face repository: org/name, datasets/org/name" };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write the BOM to this file instead of standard output" };
        var command = new Command("bom", "Export what a PyPI project or Hugging Face repository pulled through Gatehouse as a CycloneDX 1.6 BOM (JSON)")
        {
            remote, name, output, connection.Url, connection.AdminToken,
        };
        command.SetAction(async (parse, ct) =>
        {
            var (http, problem) = connection.Connect(parse);
            if (http is null)
            {
                Console.Error.WriteLine(problem);
                return 2;
            }
            using (http)
            {
                return await ExportAsync(http, parse.GetValue(remote)!, parse.GetValue(name)!, parse.GetValue(output), Console.Out, Console.Error, ct);
            }
        });
        return command;
    }

    /// <summary>Fetches the BOM and writes it to <paramref name="file"/> (a summary on <paramref name="error"/>) or to <paramref name="output"/>.</summary>
    internal static async Task<int> ExportAsync(HttpClient http, string remote, string name, FileInfo? file, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var path = "admin/bom/" + Uri.EscapeDataString(remote) + "/" + string.Join('/', name.Trim('/').Split('/').Select(Uri.EscapeDataString));
        try
        {
            using var response = await http.GetAsync(path, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                await error.WriteLineAsync($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase} for /{path}: {body.Trim()}");
                return 2;
            }
            var bom = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("Gatehouse sent no BOM.");
            if (file is null)
            {
                await output.WriteAsync(body);
                return 0;
            }
            await File.WriteAllTextAsync(file.FullName, body, ct);
            var components = (bom["components"] as JsonArray)?.Count ?? 0;
            var vulnerabilities = (bom["vulnerabilities"] as JsonArray)?.Count ?? 0;
            await error.WriteLineAsync($"Wrote the bill of materials of {remote} {name} to {file.FullName}: {components} files, {vulnerabilities} advisories.");
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or IOException or UnauthorizedAccessException
            or TaskCanceledException && !ct.IsCancellationRequested)
        {
            await error.WriteLineAsync($"gatehouse bom: {e.Message}");
            return 2;
        }
    }
}
