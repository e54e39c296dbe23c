using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Cli.Rescan;

/// <summary>
/// <c>gatehouse rescan [--wait]</c>: starts a rescan of cached verdicts on a running Gatehouse (<c>POST /admin/rescan</c>;
/// one already running is followed instead) and prints its progress; with <c>--wait</c> it follows it to the end.
/// <c>gatehouse rescan --status</c> only shows the current or last one. Exit 0 when it completed or was started, 2 on errors.
/// </summary>
public static class RescanCommand
{
    public static Command Build()
    {
        var connection = new AdminConnection();
        var wait = new Option<bool>("--wait") { Description = "Follow the rescan until it ends, showing its progress" };
        var status = new Option<bool>("--status") { Description = "Show the current or last rescan without starting one" };
        var timeout = new Option<int>("--timeout") { Description = "With --wait: give up waiting after this many seconds (the rescan goes on)", DefaultValueFactory = _ => 3600 };
        var command = new Command("rescan", "Evaluate cached verdicts again after the policy, the OSV data or the checks changed")
        {
            wait, status, timeout, connection.Url, connection.AdminToken,
        };
        command.SetAction((parse, ct) => connection.RunAsync(parse, "rescan",
            http => RunAsync(http, parse.GetValue(wait), parse.GetValue(status), parse.GetValue(timeout), ct), ct));
        return command;
    }

    private static async Task<int> RunAsync(HttpClient http, bool wait, bool statusOnly, int timeoutSeconds, CancellationToken ct)
    {
        if (!statusOnly)
        {
            using var started = await http.PostAsync("admin/rescan", null, ct);
            if (started.StatusCode == HttpStatusCode.Conflict)
            {
                Console.Error.WriteLine("A rescan is running already; following it.");
            }
            else if (!started.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"Gatehouse refused the rescan: {(int)started.StatusCode} {started.ReasonPhrase}: {(await started.Content.ReadAsStringAsync(ct)).Trim()}");
                return 2;
            }
        }
        var deadline = DateTimeOffset.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            using var response = await http.GetAsync("admin/rescan", ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase}: {body.Trim()}");
                return 2;
            }
            var state = JsonDocument.Parse(body).RootElement;
            var status = state.GetProperty("status").GetString();
            var line = Describe(state);
            if (!wait || status is not ("Running" or "Pending"))
            {
                Console.WriteLine(line);
                return status is "Failed" or "Terminated" ? 2 : 0;
            }
            Console.Error.WriteLine(line);
            if (DateTimeOffset.UtcNow >= deadline)
            {
                Console.Error.WriteLine($"Still running after {timeoutSeconds} s; the rescan goes on. Follow it with gatehouse rescan --status");
                return 2;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    /// <summary>One line: the state, then examined, selected, decided again, changed (by new decision), rescanned and failed.</summary>
    internal static string Describe(JsonElement state)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"rescan {state.GetProperty("status").GetString()?.ToLowerInvariant()}");
        if (state.TryGetProperty("progress", out var p))
        {
            long Count(string name) => p.TryGetProperty(name, out var v) ? v.GetInt64() : 0;
            sb.Append(CultureInfo.InvariantCulture,
                $": {Count("examined")} examined, {Count("selected")} selected, {Count("decided")} decided again, {Count("changed")} changed");
            if (p.TryGetProperty("byDecision", out var by) && by.EnumerateObject().Any())
            {
                sb.Append(" (").Append(string.Join(", ", by.EnumerateObject().Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Value.GetInt64()} {d.Name.ToLowerInvariant()}")))).Append(')');
            }
            sb.Append(CultureInfo.InvariantCulture, $", {Count("rescanned")} rescanned, {Count("failed")} failed");
        }
        if (state.TryGetProperty("error", out var error))
        {
            sb.Append(": ").Append(error.GetString());
        }
        return sb.ToString();
    }
}
