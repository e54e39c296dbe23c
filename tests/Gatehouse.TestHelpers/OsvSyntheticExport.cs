using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Gatehouse.TestHelpers;

/// <summary>
/// A made-up OSV export shaped like OSV's PyPI dump (https://google.github.io/osv.dev/data/#data-dumps: one
/// <c>&lt;id&gt;.json</c> per advisory in a zip) for benchmarks and load tests: PYSEC, GHSA and MAL records over a pool
/// of projects where a few have many advisories and most have one or two, ECOSYSTEM ranges with fixed, last_affected
/// and several introduced/fixed pairs, GIT ranges, versions lists, CVSS 3.1 vectors or GitHub labels, and details of
/// 1–2 KB. The same count and seed give the same bytes.
/// </summary>
public static class OsvSyntheticExport
{
    private static readonly string[] Syllables =
        ["py", "data", "net", "ml", "flask", "json", "http", "auth", "crypto", "yaml", "cli", "async", "web", "torch", "grid", "xml", "sql", "cache", "log", "img"];

    private static readonly string[] Words =
        ["the", "a", "when", "attacker", "remote", "crafted", "request", "allows", "arbitrary", "code", "execution", "denial", "of", "service", "via",
         "parser", "header", "input", "validation", "improper", "path", "traversal", "in", "function", "before", "version", "users", "should", "upgrade",
         "memory", "exhaustion", "regular", "expression", "template", "injection", "deserialization", "untrusted", "data", "file", "upload", "token"];

    private static readonly string[] Labels = ["LOW", "MODERATE", "HIGH", "CRITICAL"];

    /// <summary>Writes a zip of <paramref name="records"/> advisories to <paramref name="output"/> (left open).</summary>
    public static void Write(Stream output, int records, int seed)
    {
        var random = new Random(seed);
        var projects = Math.Max(1, records / 4);
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        for (var i = 0; i < records; i++)
        {
            var kind = random.Next(10);
            var id = kind switch
            {
                < 4 => $"PYSEC-{2015 + (i % 11)}-{i}",
                < 7 => $"GHSA-{Code(random)}-{Code(random)}-{Code(random)}",
                _ => $"MAL-{2022 + (i % 4)}-{i}",
            };
            var entry = zip.CreateEntry(id + ".json", CompressionLevel.Fastest);
            entry.LastWriteTime = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
            using var stream = entry.Open();
            using var json = new Utf8JsonWriter(stream);
            WriteRecord(json, random, id, kind >= 7, projects);
        }
    }

    /// <summary>The name of synthetic project <paramref name="index"/>: two syllables and the index, so every name is distinct.</summary>
    public static string ProjectName(int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{Syllables[index % Syllables.Length]}-{Syllables[index / Syllables.Length % Syllables.Length]}-{index}");

    private static void WriteRecord(Utf8JsonWriter json, Random random, string id, bool malicious, int projects)
    {
        json.WriteStartObject();
        json.WriteString("schema_version", "1.6.0");
        json.WriteString("id", id);
        var published = new DateTime(2016, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(random.Next(5_000_000));
        json.WriteString("published", published.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        json.WriteString("modified", published.AddDays(random.Next(400)).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture));
        // A squared draw makes low indexes (popular projects) far more likely: a few projects collect many advisories.
        var project = ProjectName((int)(Math.Pow(random.NextDouble(), 2) * projects));
        if (!malicious)
        {
            json.WriteStartArray("aliases");
            json.WriteStringValue(string.Create(CultureInfo.InvariantCulture, $"CVE-{published.Year}-{random.Next(1000, 99999)}"));
            json.WriteEndArray();
        }
        json.WriteString("summary", malicious ? $"Malicious code in {project} (PyPI)" : Sentence(random, 6, 12));
        json.WriteString("details", Details(random, 1_000 + random.Next(1_000)));
        if (!malicious && random.Next(2) == 0)
        {
            json.WriteStartArray("severity");
            json.WriteStartObject();
            json.WriteString("type", "CVSS_V3");
            json.WriteString("score", string.Create(CultureInfo.InvariantCulture,
                $"CVSS:3.1/AV:{Pick(random, "N", "A", "L", "P")}/AC:{Pick(random, "L", "H")}/PR:{Pick(random, "N", "L", "H")}/UI:{Pick(random, "N", "R")}/S:{Pick(random, "U", "C")}/C:{Pick(random, "H", "L", "N")}/I:{Pick(random, "H", "L", "N")}/A:{Pick(random, "H", "L", "N")}"));
            json.WriteEndObject();
            json.WriteEndArray();
        }
        json.WriteStartArray("affected");
        WriteAffected(json, random, project, malicious);
        if (!malicious && random.Next(10) == 0)
        {
            WriteAffected(json, random, ProjectName(random.Next(projects)), false);
        }
        json.WriteEndArray();
        json.WriteStartArray("references");
        for (var r = 1 + random.Next(5); r > 0; r--)
        {
            json.WriteStartObject();
            json.WriteString("type", Pick(random, "ADVISORY", "WEB", "FIX", "REPORT", "PACKAGE"));
            json.WriteString("url", $"https://example.invalid/{project}/{id}/{r}");
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (id.StartsWith("GHSA-", StringComparison.Ordinal))
        {
            json.WriteStartObject("database_specific");
            json.WriteString("severity", Labels[random.Next(Labels.Length)]);
            json.WriteBoolean("github_reviewed", true);
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static void WriteAffected(Utf8JsonWriter json, Random random, string project, bool malicious)
    {
        json.WriteStartObject();
        json.WriteStartObject("package");
        json.WriteString("ecosystem", "PyPI");
        json.WriteString("name", project);
        json.WriteString("purl", "pkg:pypi/" + project);
        json.WriteEndObject();
        var releases = Releases(random, malicious ? 1 + random.Next(3) : 5 + random.Next(60));
        var fixedAt = malicious ? releases.Count : 1 + random.Next(releases.Count);
        json.WriteStartArray("ranges");
        if (!malicious && random.Next(4) == 0)
        {
            json.WriteStartObject();
            json.WriteString("type", "GIT");
            json.WriteString("repo", $"https://example.invalid/{project}.git");
            json.WriteStartArray("events");
            WriteEvent(json, "introduced", "0");
            WriteEvent(json, "fixed", Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64())) + "deadbeef");
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteStartObject();
        json.WriteString("type", "ECOSYSTEM");
        json.WriteStartArray("events");
        var shape = malicious ? 0 : random.Next(6);
        var introducedAt = shape == 1 ? random.Next(fixedAt) : 0;
        WriteEvent(json, "introduced", shape == 1 ? releases[introducedAt] : "0");
        if (shape == 2 && fixedAt > 2)
        {
            // A backported fix: an earlier line fixed, a later line affected again until its own fix.
            WriteEvent(json, "fixed", releases[fixedAt / 2]);
            WriteEvent(json, "introduced", releases[(fixedAt / 2) + 1]);
        }
        if (shape == 3)
        {
            WriteEvent(json, "last_affected", releases[fixedAt - 1]);
        }
        else if (fixedAt < releases.Count)
        {
            WriteEvent(json, "fixed", releases[fixedAt]);
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteStartArray("versions");
        foreach (var release in releases.Take(fixedAt).Skip(introducedAt))
        {
            json.WriteStringValue(release);
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteEvent(Utf8JsonWriter json, string type, string version)
    {
        json.WriteStartObject();
        json.WriteString(type, version);
        json.WriteEndObject();
    }

    /// <summary>Ascending PEP 440 releases with the odd pre-release, post-release and epoch-free majors.</summary>
    private static List<string> Releases(Random random, int count)
    {
        var list = new List<string>(count);
        int major = random.Next(3), minor = 0, patch = 0;
        for (var i = 0; i < count; i++)
        {
            var roll = random.Next(20);
            if (roll == 0)
            {
                (major, minor, patch) = (major + 1, 0, 0);
            }
            else if (roll < 5)
            {
                (minor, patch) = (minor + 1, 0);
            }
            else
            {
                patch++;
            }
            var release = string.Create(CultureInfo.InvariantCulture, $"{major}.{minor}.{patch}");
            list.Add(roll == 19 ? release + "rc1" : roll == 18 ? release + ".post1" : release);
        }
        return list;
    }

    private static string Details(Random random, int length)
    {
        var text = new StringBuilder(length + 80);
        while (text.Length < length)
        {
            text.Append(Sentence(random, 8, 20)).Append(random.Next(6) == 0 ? "\n\n" : " ");
        }
        return text.ToString().TrimEnd();
    }

    private static string Sentence(Random random, int minWords, int maxWords)
    {
        var words = Enumerable.Range(0, random.Next(minWords, maxWords)).Select(_ => Words[random.Next(Words.Length)]).ToArray();
        words[0] = char.ToUpperInvariant(words[0][0]) + words[0][1..];
        return string.Join(' ', words) + ".";
    }

    private static string Code(Random random) =>
        string.Create(4, random, (span, r) =>
        {
            const string alphabet = "23456789cfghjmpqrvwx";
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[r.Next(alphabet.Length)];
            }
        });

    private static string Pick(Random random, params string[] values) => values[random.Next(values.Length)];
}
