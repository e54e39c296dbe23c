using Gatehouse.Storage;

namespace Gatehouse.Pipeline;

/// <summary>
/// Keeps a content's blob where its decisions put it: in <c>artifacts</c> once any reference is allowed it, in
/// <c>quarantine</c> while every reference is refused. The one place that moves a decided content, so the gate (a
/// reference allowed at request time) and a reviewer's action (every reference decided again) move it the same way.
/// </summary>
public sealed class ContentPlacement(ContentStore content, IFactsStore facts)
{
    /// <summary>The container the decisions call for: artifacts when any of them allows the content.</summary>
    public static string ContainerFor(IEnumerable<ArtifactDecision> decisions) =>
        decisions.Any(d => d.IsAllowed) ? GatehouseStorage.ArtifactsContainer : GatehouseStorage.QuarantineContainer;

    /// <summary>
    /// Moves the blob to <paramref name="container"/> (a copy, then the other places emptied) and records it in the
    /// facts; nothing happens when the facts already place it there. Returns the facts as they now stand.
    /// </summary>
    public async Task<ContentFacts> MoveAsync(ContentFacts known, string container, CancellationToken cancellationToken)
    {
        if (known.Container == container)
        {
            return known;
        }
        await content.PlaceAsync(known.Sha256, container, cancellationToken);
        await facts.MoveAsync(known.Sha256, container, cancellationToken);
        return known with { Container = container };
    }
}
