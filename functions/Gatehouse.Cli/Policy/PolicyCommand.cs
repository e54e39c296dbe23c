using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Policy;

namespace Gatehouse.Cli.Policy;

/// <summary>
/// <c>gatehouse policy check|test|apply|show</c>: a policy file checked offline against the language (every error with
/// its line), tried against every artifact a running Gatehouse has cached (<c>POST /admin/policy/dry-run</c>: what would
/// change, applied to nothing), applied (<c>PUT /admin/policy</c>), or the one in force shown. Exit 0 on success, 1 when
/// the policy is not valid, 2 on other errors.
/// </summary>
public static class PolicyCommand
{
    public static Command Build()
    {
        var checkFile = File();
        var check = new Command("check", "Check a policy file against the policy language, offline") { checkFile };
        check.SetAction(parse => Check(parse.GetValue(checkFile)!));

        var testConnection = new AdminConnection();
        var testFile = File();
        var format = new Option<string>("--format") { Description = "text (a table of changes) or json (the dry run's report)", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var test = new Command("test", "Try a policy against every artifact Gatehouse has cached and list what would change (nothing is applied)")
        {
            testFile, format, testConnection.Url, testConnection.AdminToken,
        };
        test.SetAction((parse, ct) => SendAsync(parse, testConnection, parse.GetValue(testFile)!, HttpMethod.Post, "admin/policy/dry-run",
            body => parse.GetValue(format) == "json" ? body : Changes(body), ct));

        var applyConnection = new AdminConnection();
        var applyFile = File();
        var apply = new Command("apply", "Put a policy in force on a running Gatehouse (refused whole when it has an error)")
        {
            applyFile, applyConnection.Url, applyConnection.AdminToken,
        };
        apply.SetAction((parse, ct) => SendAsync(parse, applyConnection, parse.GetValue(applyFile)!, HttpMethod.Put, "admin/policy",
            body => $"Policy {Read(body, "version")} is in force (was {Read(body, "previous") ?? "none"}).\n", ct));

        var showConnection = new AdminConnection();
        var show = new Command("show", "Show the policy in force: its version, source and text") { showConnection.Url, showConnection.AdminToken };
        show.SetAction((parse, ct) => ShowAsync(parse, showConnection, ct));

        return new Command("policy", "Check, try, apply and show Gatehouse's policy") { check, test, apply, show };
    }

    private static Argument<FileInfo> File() => new("file") { Description = "The policy file (YAML)" };

    private static int Check(FileInfo file)
    {
        if (Text(file) is not { } text)
        {
            return 2;
        }
        if (!PolicyParser.TryParse(text, out var document, out var errors))
        {
            WriteErrors(file.Name, errors.Select(e => (e.Line, e.Column, e.Message)));
            return 1;
        }
        Console.WriteLine($"{file.Name}: valid, version {document.Version}, {document.Rules.Count} rules, {document.Exceptions.Count} exceptions");
        return 0;
    }

    private static async Task<int> SendAsync(ParseResult parse, AdminConnection connection, FileInfo file, HttpMethod method, string path, Func<string, string> print,
        CancellationToken ct)
    {
        if (Text(file) is not { } text)
        {
            return 2;
        }
        // Checked here first, so a malformed file is reported the same way whether or not Gatehouse is reachable.
        if (!PolicyParser.TryParse(text, out _, out var errors))
        {
            WriteErrors(file.Name, errors.Select(e => (e.Line, e.Column, e.Message)));
            return 1;
        }
        return await connection.RunAsync(parse, "policy", async http =>
        {
            using var request = new HttpRequestMessage(method, path) { Content = new StringContent(text, Encoding.UTF8, "application/yaml") };
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode == HttpStatusCode.UnprocessableEntity)
            {
                var refused = JsonDocument.Parse(body).RootElement.GetProperty("errors").EnumerateArray()
                    .Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("column").GetInt32(), e.GetProperty("message").GetString() ?? ""));
                WriteErrors(file.Name, refused);
                return 1;
            }
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase}: {body.Trim()}");
                return 2;
            }
            Console.Write(print(body));
            return 0;
        }, ct, TimeSpan.FromMinutes(10));
    }

    private static Task<int> ShowAsync(ParseResult parse, AdminConnection connection, CancellationToken ct) =>
        connection.RunAsync(parse, "policy", async http =>
        {
            using var response = await http.GetAsync("admin/policy", ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase}: {body.Trim()}");
                return 2;
            }
            var status = JsonDocument.Parse(body).RootElement;
            Console.WriteLine($"# version {Read(body, "version")} from {Read(body, "source")}");
            if (status.GetProperty("lastError").ValueKind == JsonValueKind.Object)
            {
                var failure = status.GetProperty("lastError");
                Console.Error.WriteLine($"The source's current text ({failure.GetProperty("version").GetString()}) was refused; the version above stays in force:");
                WriteErrors(failure.GetProperty("source").GetString() ?? "policy", failure.GetProperty("errors").EnumerateArray()
                    .Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("column").GetInt32(), e.GetProperty("message").GetString() ?? "")));
            }
            Console.Write(status.GetProperty("text").GetString());
            return 0;
        }, ct);

    /// <summary>A dry run's report as a table: one line per reference whose decision would change.</summary>
    internal static string Changes(string body)
    {
        var report = JsonDocument.Parse(body).RootElement;
        var changes = report.GetProperty("changes").EnumerateArray().ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Policy {report.GetProperty("candidateVersion").GetString()} against {report.GetProperty("currentVersion").GetString()}: ");
        sb.Append(CultureInfo.InvariantCulture, $"{report.GetProperty("evaluated").GetInt32()} references judged, {changes.Count} would change.\n");
        foreach (var change in changes)
        {
            var current = change.GetProperty("current");
            var candidate = change.GetProperty("candidate");
            sb.Append(CultureInfo.InvariantCulture, $"{change.GetProperty("remote").GetString()}  {change.GetProperty("subject").GetString()}  {change.GetProperty("file").GetString()}: ");
            sb.Append(CultureInfo.InvariantCulture, $"{current.GetProperty("decision").GetString()} ({current.GetProperty("rule").GetString()}) -> ");
            sb.Append(CultureInfo.InvariantCulture, $"{candidate.GetProperty("decision").GetString()} ({candidate.GetProperty("rule").GetString()})\n");
            sb.Append("    ").Append(candidate.GetProperty("reason").GetString()).Append('\n');
        }
        return sb.ToString();
    }

    private static string? Read(string body, string property) =>
        JsonDocument.Parse(body).RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? Text(FileInfo file)
    {
        if (!file.Exists)
        {
            Console.Error.WriteLine($"{file.FullName} does not exist.");
            return null;
        }
        return System.IO.File.ReadAllText(file.FullName);
    }

    private static void WriteErrors(string name, IEnumerable<(int Line, int Column, string Message)> errors)
    {
        foreach (var (line, column, message) in errors)
        {
            Console.Error.WriteLine(line > 0 ? $"{name}:{line}:{column}: {message}" : $"{name}: {message}");
        }
        Console.Error.WriteLine($"{name} is not a valid policy; nothing was changed.");
    }
}
