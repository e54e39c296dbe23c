using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Functions.Http;

/// <summary>The Hugging Face remote's HTTP trigger (<c>HF_ENDPOINT=https://host/hf</c>): Core routes on the raw path and writes the whole response.</summary>
/// <remarks>Returns <see cref="EmptyResult"/> like <see cref="PypiFunctions"/>, so Core's response is left alone.</remarks>
public sealed class HuggingFaceFunctions(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.HuggingFace))]
    public async Task<IActionResult> HuggingFace(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", "POST", Route = GatehouseRoutes.HuggingFace)] HttpRequest req,
        [DurableClient] DurableTaskClient durable, string? path)
    {
        await http.HuggingFace(req.HttpContext, durable, path);
        return new EmptyResult();
    }
}
