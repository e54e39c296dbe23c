using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Quarantine;

/// <summary>
/// <c>gatehouse quarantine list|show|release|block|rescan|lift</c>: the reviewers' view of what Gatehouse refuses, over
/// <c>/admin/quarantine</c>. A release needs a reason and an expiry (its approver is the admin token's name); a block
/// needs a reason. Exit 0 on success, 2 on errors (Gatehouse's answer is printed).
/// </summary>
public static class QuarantineCommand
{
    public static Command Build()
    {
        var listConnection = new AdminConnection();
        var remote = new Option<string?>("--remote") { Description = "pypi or hf" };
        var rule = new Option<string?>("--rule") { Description = "A decision rule (install.pth-exec) or policy rule (content-dangerous)" };
        var severity = new Option<string?>("--severity") { Description = "Info, Suspicious or Dangerous: the least worst finding" };
        var since = new Option<string?>("--since") { Description = "Only decisions made at or after this ISO 8601 date or time" };
        var sort = new Option<string>("--sort") { Description = "decided (newest first), severity or subject", DefaultValueFactory = _ => "decided" };
        sort.AcceptOnlyFromAmong("decided", "severity", "subject");
        var limit = new Option<int>("--limit") { Description = "At most this many (1 to 1000)", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "Print Gatehouse's JSON answer" };
        var list = new Command("list", "List the references whose decision refuses them, with their content's findings summarised")
        {
            remote, rule, severity, since, sort, limit, json, listConnection.Url, listConnection.AdminToken,
        };
        list.SetAction((parse, ct) => listConnection.RunAsync(parse, "quarantine", async http =>
        {
            var query = new StringBuilder("admin/quarantine?sort=").Append(Uri.EscapeDataString(parse.GetValue(sort)!))
                .Append("&limit=").Append(parse.GetValue(limit).ToString(CultureInfo.InvariantCulture));
            foreach (var (name, option) in new[] { ("remote", remote), ("rule", rule), ("severity", severity), ("since", since) })
            {
                if (parse.GetValue(option) is { Length: > 0 } value)
                {
                    query.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
                }
            }
            return await SendAsync(http, HttpMethod.Get, query.ToString(), null, body => parse.GetValue(json) ? body : Table(body), ct);
        }, ct));

        var showConnection = new AdminConnection();
        var showSha = Sha256();
        var show = new Command("show", "Show everything known of a content: findings, scan report, references, overrides, audit (JSON)")
        {
            showSha, showConnection.Url, showConnection.AdminToken,
        };
        show.SetAction((parse, ct) => showConnection.RunAsync(parse, "quarantine",
            http => SendAsync(http, HttpMethod.Get, $"admin/quarantine/{parse.GetValue(showSha)}", null, Indented, ct), ct));

        var releaseConnection = new AdminConnection();
        var releaseSha = Sha256();
        var releaseReason = Reason(required: true);
        var expires = new Option<string>("--expires")
        {
            Description = "When the release lapses: an ISO 8601 date or time, or a span from now (12h, 30d)", Required = true,
        };
        var release = new Command("release", "Release a content until an expiry (a waiver you approve); every file naming it is decided again")
        {
            releaseSha, releaseReason, expires, releaseConnection.Url, releaseConnection.AdminToken,
        };
        release.SetAction((parse, ct) =>
        {
            if (Expiry(parse.GetValue(expires)!, DateTimeOffset.UtcNow) is not { } until)
            {
                Console.Error.WriteLine($"--expires must be an ISO 8601 date or time, or a span like 12h or 30d, not '{parse.GetValue(expires)}'.");
                return Task.FromResult(2);
            }
            return ActAsync(parse, releaseConnection, "release", parse.GetValue(releaseSha)!,
                new JsonObject { ["reason"] = parse.GetValue(releaseReason), ["expires"] = until.ToString("O", CultureInfo.InvariantCulture) }, ct);
        });

        var blockConnection = new AdminConnection();
        var blockSha = Sha256();
        var blockReason = Reason(required: true);
        var block = new Command("block", "Block a content everywhere until the block is lifted")
        {
            blockSha, blockReason, blockConnection.Url, blockConnection.AdminToken,
        };
        block.SetAction((parse, ct) => ActAsync(parse, blockConnection, "block", parse.GetValue(blockSha)!, new JsonObject { ["reason"] = parse.GetValue(blockReason) }, ct));

        var liftConnection = new AdminConnection();
        var liftSha = Sha256();
        var liftReason = Reason(required: false);
        var lift = new Command("lift", "Lift the release or block in force; the policy decides alone again")
        {
            liftSha, liftReason, liftConnection.Url, liftConnection.AdminToken,
        };
        lift.SetAction((parse, ct) => ActAsync(parse, liftConnection, "lift", parse.GetValue(liftSha)!, new JsonObject { ["reason"] = parse.GetValue(liftReason) }, ct));

        var rescanConnection = new AdminConnection();
        var rescanSha = Sha256();
        var rescan = new Command("rescan", "Forget a content's facts and scan it again") { rescanSha, rescanConnection.Url, rescanConnection.AdminToken };
        rescan.SetAction((parse, ct) => ActAsync(parse, rescanConnection, "rescan", parse.GetValue(rescanSha)!, [], ct));

        return new Command("quarantine", "Review what Gatehouse refuses: list, show, release, block, rescan, lift") { list, show, release, block, rescan, lift };
    }

    /// <summary>An absolute expiry, or a span from <paramref name="now"/> (<c>12h</c>, <c>30d</c>); null when it is neither.</summary>
    internal static DateTimeOffset? Expiry(string text, DateTimeOffset now)
    {
        if (text.Length > 1 && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0)
        {
            switch (text[^1])
            {
                case 'h':
                    return now.AddHours(count);
                case 'd':
                    return now.AddDays(count);
            }
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ? at : null;
    }

    /// <summary>The list as a table: one line per refused reference, newest decisions first unless sorted otherwise.</summary>
    internal static string Table(string body)
    {
        var answer = JsonDocument.Parse(body).RootElement;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{answer.GetProperty("count").GetInt32()} refused\n");
        foreach (var item in answer.GetProperty("items").EnumerateArray())
        {
            var severity = item.GetProperty("severity").ValueKind == JsonValueKind.String ? item.GetProperty("severity").GetString() : "-";
            sb.Append(CultureInfo.InvariantCulture,
                $"{item.GetProperty("decidedAt").GetDateTimeOffset():yyyy-MM-dd HH:mm}  {item.GetProperty("decision").GetString(),-11}  {item.GetProperty("rule").GetString()} ({item.GetProperty("policyRule").GetString()})  {severity}  ");
            sb.Append(CultureInfo.InvariantCulture,
                $"{item.GetProperty("remote").GetString()} {item.GetProperty("subject").GetString()} {item.GetProperty("file").GetString()}  {item.GetProperty("sha256").GetString()}\n");
        }
        return sb.ToString();
    }

    /// <summary>What an action did: the override, then every reference with its new decision.</summary>
    internal static string Outcome(string body)
    {
        var answer = JsonDocument.Parse(body).RootElement;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{answer.GetProperty("action").GetString()} {answer.GetProperty("sha256").GetString()}");
        if (answer.TryGetProperty("override", out var placed) && placed.ValueKind == JsonValueKind.Object)
        {
            sb.Append(CultureInfo.InvariantCulture, $": {placed.GetProperty("id").GetString()} {placed.GetProperty("decision").GetString()} by {placed.GetProperty("by").GetString()}");
            if (placed.GetProperty("expires").ValueKind == JsonValueKind.String)
            {
                sb.Append(CultureInfo.InvariantCulture, $" until {placed.GetProperty("expires").GetDateTimeOffset():O}");
            }
        }
        sb.Append('\n');
        if (answer.TryGetProperty("references", out var references))
        {
            foreach (var reference in references.EnumerateArray())
            {
                var decision = reference.GetProperty("decision");
                var verdict = decision.ValueKind == JsonValueKind.Object
                    ? $"{decision.GetProperty("decision").GetString()} ({decision.GetProperty("rule").GetString()})"
                    : "decided at its next request (no facts yet)";
                sb.Append(CultureInfo.InvariantCulture,
                    $"  {reference.GetProperty("remote").GetString()} {reference.GetProperty("subject").GetString()} {reference.GetProperty("file").GetString()}: {verdict}\n");
            }
        }
        return sb.ToString();
    }

    private static Task<int> ActAsync(ParseResult parse, AdminConnection connection, string operation, string sha256, JsonObject body, CancellationToken ct) =>
        connection.RunAsync(parse, "quarantine", http => SendAsync(http, HttpMethod.Post, $"admin/quarantine/{sha256}/{operation}", body,
            operation == "rescan" ? _ => $"rescan {sha256}: facts forgotten, scan started\n" : Outcome, ct), ct);

    private static async Task<int> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject? body, Func<string, string> print, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase}: {text.Trim()}");
            return 2;
        }
        Console.Write(print(text));
        return 0;
    }

    private static string Indented(string body) => JsonNode.Parse(body)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

    private static Argument<string> Sha256() => new("sha256") { Description = "The content's sha256 (from quarantine list)" };

    private static Option<string?> Reason(bool required) => new("--reason") { Description = "Why (recorded in the audit; a block's reason is what clients are told)", Required = required };
}
