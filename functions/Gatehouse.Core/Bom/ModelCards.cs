using System.Text.Json.Nodes;
using Gatehouse.HuggingFace;

namespace Gatehouse.Bom;

/// <summary>Where a bill of materials reads a Hugging Face repository's model card metadata (the Hub, in production).</summary>
public interface IModelCards
{
    /// <summary>The card's <c>cardData</c> for a reference subject (<c>org/name@commit</c>); null when there is none.</summary>
    Task<JsonObject?> CardDataAsync(string subject, CancellationToken cancellationToken);
}

/// <summary>The card data from the Hub API at the reference's commit, through the same cached answer the policy's facts use.</summary>
public sealed class HubModelCards(HuggingFaceFacts facts) : IModelCards
{
    public Task<JsonObject?> CardDataAsync(string subject, CancellationToken cancellationToken) => facts.CardDataAsync(subject, cancellationToken);
}
