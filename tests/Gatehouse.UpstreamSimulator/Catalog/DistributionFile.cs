using System.Globalization;

namespace Gatehouse.UpstreamSimulator.Catalog;

/// <summary>One file of one release, as the simulated index advertises and serves it.</summary>
public sealed record DistributionFile
{
    /// <summary>Normalized project name (PEP 503).</summary>
    public required string Project { get; init; }

    public required string Version { get; init; }

    public required string Filename { get; init; }

    /// <summary>Where the bytes live on disk; they are streamed from here, never buffered.</summary>
    public required string PhysicalPath { get; init; }

    public required long Size { get; init; }

    public required FileDigests Digests { get; init; }

    /// <summary>Upload time in UTC, microsecond precision (like Warehouse).</summary>
    public required DateTimeOffset UploadTime { get; init; }

    public bool IsYanked { get; init; }

    /// <summary>PEP 592 reason; null when not yanked or yanked without a reason.</summary>
    public string? YankedReason { get; init; }

    public string? RequiresPython { get; init; }

    public string? Summary { get; init; }

    /// <summary>The wheel's METADATA bytes served at <c>&lt;url&gt;.metadata</c>; null for sdists.</summary>
    public byte[]? CoreMetadataBytes { get; init; }

    /// <summary>sha256 of <see cref="CoreMetadataBytes"/>, advertised as core-metadata.</summary>
    public string? CoreMetadataSha256 { get; init; }

    /// <summary>Parsed METADATA or PKG-INFO, used by the JSON API.</summary>
    public required CoreMetadata Metadata { get; init; }

    /// <summary>Warehouse-style serial of the upload that added this file.</summary>
    public long Serial { get; init; }

    /// <summary>The size asked of <c>/_sim/synthetic</c>; null for fixture files.</summary>
    public long? SyntheticRequestedSize { get; init; }

    public bool IsSynthetic => SyntheticRequestedSize is not null;

    public bool IsWheel => Filename.EndsWith(".whl", StringComparison.OrdinalIgnoreCase);

    /// <summary>Path on the simulator: <c>/packages/&lt;aa&gt;/&lt;bb&gt;/&lt;sha256&gt;/&lt;filename&gt;</c>.</summary>
    public string UrlPath => $"/packages/{Digests.Sha256[..2]}/{Digests.Sha256[2..4]}/{Digests.Sha256}/{Uri.EscapeDataString(Filename)}";

    /// <summary>Warehouse packagetype.</summary>
    public string PackageType => IsWheel ? "bdist_wheel" : "sdist";

    /// <summary>Warehouse python_version: the wheel's python tag, or "source" for sdists.</summary>
    public string PythonVersion
    {
        get
        {
            if (!IsWheel)
            {
                return "source";
            }

            var parts = Path.GetFileNameWithoutExtension(Filename).Split('-');
            return parts.Length >= 5 ? parts[^3] : "py3";
        }
    }

    /// <summary>PEP 700 upload-time: Python's isoformat() + "Z" (fraction only when non-zero).</summary>
    public string UploadTimeIso8601 => FormatIso8601(UploadTime);

    internal static string FormatIso8601(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        var format = utc.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm:ss.ffffff";
        return utc.ToString(format, CultureInfo.InvariantCulture) + "Z";
    }

    /// <summary>Truncates to whole microseconds, the precision PyPI stores.</summary>
    internal static DateTimeOffset ToMicroseconds(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % 10), TimeSpan.Zero);
    }
}
