using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Functions.Http;

/// <summary>The OCI distribution API (pull) and its token endpoint; Core writes the whole response (see <see cref="PypiFunctions"/>).</summary>
public sealed class OciFunctions(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.Oci))]
    public async Task<IActionResult> Oci(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.Oci)] HttpRequest req,
        [DurableClient] DurableTaskClient durable, string? path)
    {
        await http.Oci(req.HttpContext, durable, path);
        return new EmptyResult();
    }

    /// <summary><c>GET /v2</c> itself: the route with a catch-all does not match the bare prefix.</summary>
    [Function(nameof(GatehouseHttp.OciRoot))]
    public async Task<IActionResult> OciRoot(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.OciRoot)] HttpRequest req)
    {
        await http.OciRoot(req.HttpContext);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.OciToken))]
    public async Task<IActionResult> OciToken(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", Route = GatehouseRoutes.OciToken)] HttpRequest req)
    {
        await http.OciToken(req.HttpContext);
        return new EmptyResult();
    }
}
