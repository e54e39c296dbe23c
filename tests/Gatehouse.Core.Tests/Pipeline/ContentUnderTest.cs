using Gatehouse.Configuration;
using Gatehouse.HuggingFace;
using Gatehouse.Pipeline;
using Gatehouse.Policy;
using Gatehouse.PyPI;
using Gatehouse.Scanning;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Core.Tests.Pipeline;

/// <summary>
/// A content through the real checks, without Durable or storage: the facts the pipeline records for it, and the
/// decision the built-in policy makes for it under a PyPI or a Hugging Face name.
/// </summary>
internal static class ContentUnderTest
{
    public const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    public static async Task<ContentFacts> FactsAsync(Stream content)
    {
        content.Position = 0;
        var (format, archive) = await new ArchiveSafety(new ArchiveLimits()).InspectAsync(content, CancellationToken.None);
        content.Position = 0;
        var (isWheel, installTime) = await InstallTimeCode.InspectAsync(content, CancellationToken.None);
        content.Position = 0;
        var report = await new ModelScanner().ScanAsync(content, "", CancellationToken.None);
        return Combine(content.Length,
            new CheckResult(ContentChecks.ArchiveSafetyCheck, archive, Archive: format),
            new CheckResult(ContentChecks.InstallTimeCodeCheck, installTime, IsWheel: isWheel),
            new CheckResult(nameof(ModelContentActivity), ModelContentFindings.From(report), ModelFormat: report.Format));
    }

    public static ContentFacts Combine(long size, params CheckResult[] results) =>
        RecordFactsActivity.Combine(PyPI("demo-1.0-py3-none-any.whl", size), results, DateTimeOffset.UnixEpoch);

    public static ArtifactReference PyPI(string fileName, long size = 100) =>
        new(PyPIRemote.Pypi, PyPIRemote.Key("demo", fileName), "demo 1.0", fileName, Sha, size, "https://files.example/" + fileName, null);

    public static ArtifactReference Hf(string path, long size = 100) =>
        new(HuggingFaceRemote.Hf, new ReferenceKey("hf:org%2Fmodel", "c0ffee%2F" + path), "org/model@c0ffee", path, Sha, size, "https://hub.example/" + path, null);

    public static PolicyOutcome DecidePyPI(ContentFacts facts, string fileName) => DeclarativePolicy.Default(TimeProvider.System).Decide(facts, PyPIRemote.Context(PyPI(fileName, facts.Size)));

    public static PolicyOutcome DecideHf(ContentFacts facts, string path) => DeclarativePolicy.Default(TimeProvider.System).Decide(facts, HuggingFaceRemote.Context(Hf(path, facts.Size)));
}
