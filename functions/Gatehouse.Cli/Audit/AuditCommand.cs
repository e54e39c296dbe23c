using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Audit;

/// <summary>
/// <c>gatehouse audit list|affected</c>: reads a running Gatehouse's audit trail (<c>GET /admin/audit</c>) by artifact,
/// token, time and action, and says who downloaded an artifact and when (<c>GET /admin/audit/affected</c>), which is what
/// to tell when a file already served is quarantined or blocked. Exit 0 with the answer, 2 on errors.
/// </summary>
public static class AuditCommand
{
    public static Command Build()
    {
        var listConnection = new AdminConnection();
        var artifact = new Option<string?>("--artifact") { Description = "A sha256, project==version, project, repo@commit or org/repo" };
        var token = new Option<string?>("--token") { Description = "A token id: what it did and what was done to it" };
        var since = new Option<string?>("--since") { Description = "From this time: ISO 8601 (2026-05-01, 2026-05-01T12:00Z) or an age (90m, 12h, 7d)" };
        var until = new Option<string?>("--until") { Description = "Up to this time, as --since" };
        var action = new Option<string?>("--action") { Description = "Only this action: download, decision, decision.metadata, policy.apply, token.create, …" };
        var limit = new Option<int?>("--limit") { Description = "At most this many records (1 to 1000; the server's default is 100)" };
        var continuation = new Option<string?>("--continuation") { Description = "Go on where a previous list stopped" };
        var listJson = new Option<bool>("--json") { Description = "Print Gatehouse's JSON answer" };
        var list = new Command("list", "List audit records, newest first")
        {
            artifact, token, since, until, action, limit, continuation, listJson, listConnection.Url, listConnection.AdminToken,
        };
        list.SetAction((parse, ct) => listConnection.RunAsync(parse, "audit list", http => ListAsync(http, new Dictionary<string, string?>
        {
            ["artifact"] = parse.GetValue(artifact),
            ["token"] = parse.GetValue(token),
            ["from"] = parse.GetValue(since),
            ["to"] = parse.GetValue(until),
            ["action"] = parse.GetValue(action),
            ["limit"] = parse.GetValue(limit)?.ToString(CultureInfo.InvariantCulture),
            ["continuation"] = parse.GetValue(continuation),
        }, parse.GetValue(listJson), Console.Out, Console.Error, ct), ct));

        var affectedConnection = new AdminConnection();
        var affectedArtifact = new Argument<string>("artifact") { Description = "A sha256, project==version or repo@commit" };
        var affectedJson = new Option<bool>("--json") { Description = "Print Gatehouse's JSON answer" };
        var affected = new Command("affected", "Who downloaded an artifact and when: per token, its client IPs, first and last download and count")
        {
            affectedArtifact, affectedJson, affectedConnection.Url, affectedConnection.AdminToken,
        };
        affected.SetAction((parse, ct) => affectedConnection.RunAsync(parse, "audit affected",
            http => AffectedAsync(http, parse.GetValue(affectedArtifact)!, parse.GetValue(affectedJson), Console.Out, Console.Error, ct), ct));

        return new Command("audit", "Read Gatehouse's audit trail and who downloaded an artifact") { list, affected };
    }

    /// <summary>Prints one page of records (a table, or the JSON) and, when there is more, how to go on.</summary>
    internal static async Task<int> ListAsync(HttpClient http, IReadOnlyDictionary<string, string?> parameters, bool json, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        var query = string.Join('&', parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value!)}"));
        if (await GetAsync(http, "admin/audit" + (query.Length > 0 ? "?" + query : ""), error, ct) is not { } body)
        {
            return 2;
        }
        if (json)
        {
            await output.WriteAsync(body);
            return 0;
        }
        var answer = JsonNode.Parse(body)?.AsObject() ?? throw new JsonException("Gatehouse sent no audit page.");
        var text = new StringBuilder();
        foreach (var record in answer["records"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var who = record["tokenId"] is null ? "-" : $"{Text(record, "tokenName")} ({Text(record, "tokenId")})";
            text.Append(CultureInfo.InvariantCulture,
                $"{Text(record, "at")}  {Text(record, "action"),-18}  {who}  {Text(record, "clientIp")}  {Text(record, "subject")}: {Text(record, "detail")}\n");
        }
        await output.WriteAsync(text.ToString());
        if (Text(answer, "continuation") is { Length: > 1 } next)
        {
            await error.WriteLineAsync($"More records: add --continuation {next}");
        }
        return 0;
    }

    /// <summary>Prints the affected-consumer report: the files and their decision now, then one line per token.</summary>
    internal static async Task<int> AffectedAsync(HttpClient http, string artifact, bool json, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (await GetAsync(http, "admin/audit/affected?artifact=" + Uri.EscapeDataString(artifact), error, ct) is not { } body)
        {
            return 2;
        }
        if (json)
        {
            await output.WriteAsync(body);
            return 0;
        }
        var report = JsonNode.Parse(body)?.AsObject() ?? throw new JsonException("Gatehouse sent no report.");
        var files = report["artifacts"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
        var consumers = report["consumers"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Text(report, "artifact")}: {files.Count} file(s), downloaded by {consumers.Count} token(s)\n");
        foreach (var file in files)
        {
            var decision = file["current"] is JsonObject d ? $"{Text(d, "outcome")} by {Text(d, "rule")} ({Text(d, "source")}, policy {Text(d, "policyVersion")})" : "decision unknown";
            text.Append(CultureInfo.InvariantCulture,
                $"  {Text(file, "remote")} {Text(file, "subject")} {Text(file, "fileName")} sha256:{Text(file, "sha256")}: {decision}; {Text(file, "downloadCount")} download(s)\n");
        }
        foreach (var consumer in consumers)
        {
            var ips = string.Join(", ", consumer["clientIps"]?.AsArray().Select(i => i?.GetValue<string>()) ?? []);
            text.Append(CultureInfo.InvariantCulture,
                $"  token {Text(consumer, "tokenId")} ({Text(consumer, "tokenName")}): {Text(consumer, "downloadCount")} download(s), first {Text(consumer, "firstDownload")}, last {Text(consumer, "lastDownload")}, from {ips}\n");
        }
        if (report["truncated"]?.GetValue<bool>() == true)
        {
            text.Append("  (the report read the most downloads it reads; there are more)\n");
        }
        await output.WriteAsync(text.ToString());
        return 0;
    }

    private static async Task<string?> GetAsync(HttpClient http, string path, TextWriter error, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode)
        {
            return body;
        }
        await error.WriteLineAsync($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase} for /{path.Split('?')[0]}: {body.Trim()}");
        return null;
    }

    private static string Text(JsonObject node, string name) => node[name]?.ToString() ?? "-";
}
