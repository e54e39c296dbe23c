using Gatehouse.Configuration;
using Gatehouse.Oci.Layers;
using Gatehouse.Oci.Scanning;
using Gatehouse.Pipeline;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Oci;

/// <summary>
/// What is known of an image besides its files' findings: the Python and OS packages of its final filesystem, with
/// the advisories Gatehouse's OSV mirror holds for them. Packages come from the layers' reports (read once per layer);
/// advisories are looked up at each decision, so a new advisory or a mirror refresh changes the verdict without
/// reading a layer again. The packages are kept in memory for a minute per manifest.
/// </summary>
public sealed class OciImageFacts(ContentStore content, LayerReports reports, ImageAdvisories advisories, IMemoryCache cache, IOptions<GatehouseOptions> options,
    ILogger<OciImageFacts> log)
{
    private static readonly TimeSpan Freshness = TimeSpan.FromMinutes(1);

    public async Task<ReferenceFacts> GatherAsync(ArtifactReference reference, FactScope scope, CancellationToken cancellationToken)
    {
        var basics = new ReferenceFacts { Project = Uri.UnescapeDataString(reference.Key.Partition["oci:".Length..]), Version = reference.FileName };
        if (scope == FactScope.BeforeFetch)
        {
            // Before its layers are read nothing is known of an image's packages.
            return basics;
        }
        // Only the packages are kept: the advisories come from the mirror, whose cache an import clears, so a rescan
        // right after a refresh sees the new records.
        var image = await cache.GetOrCreateAsync(("oci-image-contents", reference.Sha256), async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = Freshness;
            return await ContentsAsync(reference.Sha256, cancellationToken);
        });
        if (image is null)
        {
            return basics with { Unavailable = ["packages"] };
        }
        var found = await advisories.ForAsync(image, cancellationToken);
        return found is null ? basics with { Unavailable = ["vulnerabilities"] } : basics with { Advisories = found };
    }

    /// <summary>The image's final filesystem as its layers' reports describe it; null when a report or the manifest is missing.</summary>
    public async Task<ImageContents?> ContentsAsync(string manifestSha256, CancellationToken cancellationToken)
    {
        OciManifest manifest;
        try
        {
            manifest = await OciManifest.ReadHeldAsync(content, manifestSha256, options.Value.Oci.MaxManifestBytes, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or OciManifestException)
        {
            log.LogWarning("Image {Sha256}: its manifest cannot be read for its packages: {Problem}", manifestSha256, e.Message);
            return null;
        }
        var layers = new List<LayerReport>();
        foreach (var layer in manifest.Layers)
        {
            if (await reports.GetAsync(layer.Sha256, cancellationToken) is not { } report)
            {
                return null;
            }
            layers.Add(report);
        }
        return ImageFilesystem.Merge(layers);
    }
}
