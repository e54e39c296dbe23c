using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gatehouse.Cli.Prefetch;

/// <summary>
/// <c>gatehouse prefetch hf &lt;repo&gt;[@revision] [--dataset]</c>: asks a running Gatehouse to fetch and scan every file
/// of a Hugging Face repository (<c>POST /admin/prefetch/hf</c>), shows a live progress bar of files and bytes on
/// standard error, then the verdict table on standard output. Exit 0 when every file was allowed, 1 when any was
/// refused, failed or is still pending, 2 on errors.
/// </summary>
public static class PrefetchCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Build()
    {
        var connection = new AdminConnection();
        var repo = new Argument<string>("repo") { Description = "namespace/name, optionally @revision (branch, tag or commit; default main)" };
        var dataset = new Option<bool>("--dataset") { Description = "The repository is a dataset (default: a model)" };
        var format = new Option<string>("--format") { Description = "text (progress + table) or json (the final report)", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var noWait = new Option<bool>("--no-wait") { Description = "Start the prefetch, print its id and status URL, and return" };
        var timeout = new Option<int>("--timeout") { Description = "Give up waiting after this many seconds (the prefetch goes on)", DefaultValueFactory = _ => 3600 };
        var hf = new Command("hf", "Fetch and scan every file of a Hugging Face repository at one commit")
        {
            repo, dataset, format, noWait, timeout, connection.Url, connection.AdminToken,
        };
        hf.SetAction((parse, ct) => RunAsync(parse, connection, new Arguments(
            parse.GetValue(repo)!, parse.GetValue(dataset), parse.GetValue(format) == "json", parse.GetValue(noWait), parse.GetValue(timeout)), ct));
        return new Command("prefetch", "Warm Gatehouse's cache: fetch and scan a whole repository ahead of its users") { hf };
    }

    private sealed record Arguments(string Repo, bool Dataset, bool Json, bool NoWait, int TimeoutSeconds);

    private static async Task<int> RunAsync(ParseResult parse, AdminConnection connection, Arguments args, CancellationToken ct)
    {
        var at = args.Repo.IndexOf('@', StringComparison.Ordinal);
        var (repoId, revision) = at < 0 ? (args.Repo, "main") : (args.Repo[..at], args.Repo[(at + 1)..]);
        if (repoId.Length == 0 || revision.Length == 0)
        {
            Console.Error.WriteLine($"'{args.Repo}' is not namespace/name[@revision].");
            return 2;
        }
        if (args.TimeoutSeconds <= 0)
        {
            Console.Error.WriteLine("--timeout must be a positive number of seconds.");
            return 2;
        }
        return await connection.RunAsync(parse, "prefetch", http => PrefetchAsync(http, repoId, revision, args, ct), ct);
    }

    private static async Task<int> PrefetchAsync(HttpClient http, string repoId, string revision, Arguments args, CancellationToken ct)
    {
        using var started = await http.PostAsJsonAsync("admin/prefetch/hf",
            new { repo = repoId, revision, repoType = args.Dataset ? "dataset" : "model" }, Json, ct);
        if (!started.IsSuccessStatusCode)
        {
            var text = (await started.Content.ReadAsStringAsync(ct)).Trim();
            var detail = text.Length > 0 && text != started.ReasonPhrase ? ": " + text : "";
            Console.Error.WriteLine($"Gatehouse refused the prefetch: {(int)started.StatusCode} {started.ReasonPhrase}{detail}");
            return 2;
        }
        var accepted = await started.Content.ReadFromJsonAsync<Accepted>(Json, ct) ?? throw new JsonException("Gatehouse sent an empty answer.");
        if (args.NoWait)
        {
            Console.WriteLine(args.Json
                ? JsonSerializer.Serialize(accepted, Json)
                : $"Prefetch {accepted.Id} of {accepted.Repo}@{accepted.Commit} started; follow it at {accepted.StatusUrl}");
            return 0;
        }

        var progress = new ProgressLine(Console.Error, !Console.IsErrorRedirected);
        if (!args.Json)
        {
            progress.Note($"Prefetching {accepted.RepoType} {accepted.Repo}@{accepted.Commit[..Math.Min(12, accepted.Commit.Length)]} ({accepted.Revision}) as {accepted.Id}");
        }
        var deadline = DateTimeOffset.UtcNow.AddSeconds(args.TimeoutSeconds);
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            using var response = await http.GetAsync(accepted.StatusUrl.TrimStart('/'), ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                progress.Done();
                Console.Error.WriteLine($"Gatehouse answered {(int)response.StatusCode} {response.ReasonPhrase} for {accepted.StatusUrl}: {body.Trim()}");
                return 2;
            }
            var status = JsonSerializer.Deserialize<Report>(body, Json) ?? throw new JsonException("Gatehouse sent an empty status.");
            if (!args.Json && status.Progress is { } p)
            {
                progress.Show(p);
            }
            if (status.Status is "Completed" or "Failed" or "Terminated")
            {
                progress.Done();
                if (args.Json)
                {
                    Console.WriteLine(body);
                }
                else
                {
                    Console.Write(Table(status));
                }
                if (status.Status != "Completed")
                {
                    Console.Error.WriteLine($"Prefetch {status.Status.ToLowerInvariant()}: {status.Error ?? "no reason given"}");
                    return 2;
                }
                return status.Files!.All(f => f.Decision == "Allowed") ? 0 : 1;
            }
            if (DateTimeOffset.UtcNow >= deadline)
            {
                progress.Done();
                Console.Error.WriteLine($"Still {status.Status.ToLowerInvariant()} after {args.TimeoutSeconds} s; the prefetch goes on. Follow it at {accepted.StatusUrl}");
                return 2;
            }
            await Task.Delay(delay, ct);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 1.5, 2000));
        }
    }

    /// <summary>The verdict table: one line per file, refused ones with their rule and reason, then a summary.</summary>
    internal static string Table(Report status)
    {
        var files = status.Files ?? [];
        var sb = new StringBuilder();
        var pathWidth = Math.Clamp(files.Count == 0 ? 4 : files.Max(f => f.Path.Length), 4, 60);
        sb.Append(CultureInfo.InvariantCulture, $"{"DECISION",-12}{"SIZE",10}  {"PATH".PadRight(pathWidth)}  RULE / REASON\n");
        foreach (var f in files.OrderBy(f => f.Decision == "Allowed").ThenBy(f => f.Path, StringComparer.Ordinal))
        {
            var why = f.Decision == "Allowed" ? "" : Why(f);
            sb.Append(string.Create(CultureInfo.InvariantCulture, $"{f.Decision.ToLowerInvariant(),-12}{Bytes(f.Size),10}  {f.Path.PadRight(pathWidth)}  {why}").TrimEnd()).Append('\n');
        }
        var counts = files.GroupBy(f => f.Decision.ToLowerInvariant()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
        sb.Append(CultureInfo.InvariantCulture, $"{files.Count} files, {Bytes(files.Sum(f => f.Size))} at {status.Repo}@{status.Commit}: {string.Join(", ", counts)}\n");
        return sb.ToString();
    }

    // Reasons often end with their rule in parentheses already; the rule is shown first, once.
    private static string Why(FileVerdict f)
    {
        var reason = f.Reason ?? "";
        if (f.Rule is null)
        {
            return reason;
        }
        var suffix = $" ({f.Rule})";
        return f.Rule + ": " + (reason.EndsWith(suffix, StringComparison.Ordinal) ? reason[..^suffix.Length] : reason);
    }

    internal static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => (n / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (n / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (n / 1073741824.0).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };

    internal sealed record Accepted(string Id, string Repo, string RepoType, string Revision, string Commit, string StatusUrl);

    internal sealed record Report(string Id, string Status, string? Repo, string? Commit, Progress? Progress, List<FileVerdict>? Files, string? Error);

    internal sealed record Progress(int Files, int FilesDone, long Bytes, long BytesDone);

    internal sealed record FileVerdict(string Path, long Size, string? Sha256, string Decision, string? Rule, string? Reason,
        [property: JsonPropertyName("fetchMs")] double FetchMs, [property: JsonPropertyName("scanMs")] double ScanMs);

    /// <summary>
    /// A progress bar on a terminal (redrawn in place with <c>\r</c>); when standard error is redirected, one line per
    /// change of the file count, so logs stay readable.
    /// </summary>
    internal sealed class ProgressLine(TextWriter writer, bool interactive)
    {
        private const int Width = 30;
        private string? _last;
        private bool _open;

        public void Note(string line) => writer.WriteLine(line);

        public void Show(Progress p)
        {
            var fraction = p.Bytes > 0 ? (double)p.BytesDone / p.Bytes : p.Files > 0 ? (double)p.FilesDone / p.Files : 0;
            var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * Width);
            var line = $"[{new string('#', filled)}{new string('.', Width - filled)}] {p.FilesDone}/{p.Files} files  {Bytes(p.BytesDone)} / {Bytes(p.Bytes)}";
            if (line == _last)
            {
                return;
            }
            _last = line;
            if (interactive)
            {
                writer.Write("\r" + line + "\u001b[K");
                _open = true;
            }
            else
            {
                writer.WriteLine(line);
            }
        }

        public void Done()
        {
            if (_open)
            {
                writer.WriteLine();
                _open = false;
            }
        }
    }
}
