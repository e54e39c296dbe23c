using Gatehouse.Configuration;
using Gatehouse.Pipeline;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using Gatehouse.TestHelpers;
using static Gatehouse.Core.Tests.Pipeline.ContentUnderTest;

namespace Gatehouse.Core.Tests.Scans.Archives;

/// <summary>
/// <see cref="ArchiveChecks"/>: archive safety and install-time code from one walk find what each found alone, read
/// the archive once, and refuse the audit's oversized tar headers.
/// </summary>
public sealed class ArchiveChecksTests
{
    public static TheoryData<string> Fixtures => ["clean-wheel", "pth-wheel", "sitecustomize-wheel", "network-sdist", "traversal-sdist", "foreign-binary-wheel"];

    private static MemoryStream Fixture(string name) => name switch
    {
        "clean-wheel" => TestArchives.Wheel(),
        "pth-wheel" => TestArchives.Wheel(("evil.pth", "import os; os.system('id')\n")),
        "sitecustomize-wheel" => TestArchives.Wheel(("sitecustomize.py", "print('hi')\n")),
        "network-sdist" => TestArchives.Sdist(("demo-1.0/setup.py", "import urllib.request\nurllib.request.urlopen('http://x')\n")),
        "traversal-sdist" => TestArchives.Sdist(("../../escape.py", "x = 1\n")),
        "foreign-binary-wheel" => TestArchives.Wheel(("other/_native.so", "ELF")),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public async Task One_walk_finds_what_the_two_checks_found_apart(string fixture)
    {
        using var content = Fixture(fixture);
        var (format, safety) = await new ArchiveSafety(new ArchiveLimits()).InspectAsync(content, CancellationToken.None);
        content.Position = 0;
        var (isWheel, installTime) = await InstallTimeCode.InspectAsync(content, CancellationToken.None);
        content.Position = 0;

        var together = await ArchiveChecks.InspectAsync(content, new ArchiveLimits(), budget: null, CancellationToken.None);

        Assert.Equal(format, together.Format);
        Assert.Equal(isWheel, together.IsWheel);
        Assert.Equal(safety, together.Safety.Findings);
        Assert.Equal(installTime, together.InstallTime);
        Assert.Null(together.Safety.StoppedBecause);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_archive_is_read_once_for_both_checks(bool sdist)
    {
        var big = Convert.ToBase64String(TestArchives.Incompressible(3 * 1024 * 1024));
        using var content = sdist ? TestArchives.Sdist(("demo-1.0/demo/data.py", $"DATA = '{big}'\n")) : TestArchives.Wheel(("demo/data.py", $"DATA = '{big}'\n"));
        var counted = new ReadCounter(content);

        var outcome = await ArchiveChecks.InspectAsync(counted, new ArchiveLimits(), budget: null, CancellationToken.None);

        Assert.Null(outcome.Safety.StoppedBecause);
        // Sniffing, the wheel's central directory and the walk: well under two reads of the content.
        Assert.True(counted.BytesRead < content.Length * 1.2, $"read {counted.BytesRead:N0} bytes of a {content.Length:N0}-byte archive");
    }

    [Theory]
    [InlineData("gnu")]
    [InlineData("pax")]
    public async Task The_audits_oversized_tar_headers_are_dangerous_and_block_the_sdist(string kind)
    {
        await using var sdist = File.OpenRead(kind == "gnu" ? ResourceBombs.LongNameSdist() : ResourceBombs.PaxSdist());

        var outcome = await ArchiveChecks.InspectAsync(sdist, new ArchiveLimits(), budget: null, CancellationToken.None);

        var finding = Assert.Single(outcome.Safety.Findings, f => f.Rule == ArchiveSafety.Rules.OversizedHeader);
        Assert.Equal(Severity.Dangerous, finding.Severity);
        Assert.Contains("268,435,456 bytes", finding.Message);
        var facts = Combine(sdist.Length,
            new CheckResult(ContentChecks.ArchiveSafetyCheck, outcome.Safety.Findings, Archive: outcome.Format),
            new CheckResult(ContentChecks.InstallTimeCodeCheck, outcome.InstallTime, IsWheel: false),
            new CheckResult(ContentChecks.ModelContentCheck, [], ModelFormat: "data"));
        var decision = DecidePyPI(facts, $"{(kind == "gnu" ? "longname" : "paxbomb")}-1.0.tar.gz");
        Assert.Equal(Decision.Blocked, decision.Decision);
        Assert.Equal(ArchiveSafety.Rules.OversizedHeader, decision.Rule);
    }

    /// <summary>Counts the bytes read through it; seeks pass through.</summary>
    private sealed class ReadCounter(Stream inner) : Stream
    {
        public long BytesRead;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int n)
        {
            BytesRead += n;
            return n;
        }
    }
}
