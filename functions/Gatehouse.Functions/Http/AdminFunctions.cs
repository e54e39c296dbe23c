using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Functions.Http;

/// <summary>Administration and liveness triggers; Core writes the whole response (see <see cref="PypiFunctions"/>).</summary>
public sealed class AdminFunctions(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.AdminTokens))]
    public async Task<IActionResult> Tokens(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "POST", "DELETE", "PATCH", Route = GatehouseRoutes.AdminTokens)] HttpRequest req, string? id, string? operation)
    {
        await http.AdminTokens(req.HttpContext, id, operation);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminPrefetch))]
    public async Task<IActionResult> Prefetch(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", "POST", Route = GatehouseRoutes.AdminPrefetch)] HttpRequest req,
        [DurableClient] DurableTaskClient durable, string source, string? id)
    {
        await http.AdminPrefetch(req.HttpContext, durable, source, id);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminPolicy))]
    public async Task<IActionResult> Policy(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "PUT", "POST", Route = GatehouseRoutes.AdminPolicy)] HttpRequest req, string? operation)
    {
        await http.AdminPolicy(req.HttpContext, operation);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminOsv))]
    public async Task<IActionResult> Osv(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "POST", Route = GatehouseRoutes.AdminOsv)] HttpRequest req, string? operation)
    {
        await http.AdminOsv(req.HttpContext, operation);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminRescan))]
    public async Task<IActionResult> Rescan(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "POST", Route = GatehouseRoutes.AdminRescan)] HttpRequest req,
        [DurableClient] DurableTaskClient durable, string? id)
    {
        await http.AdminRescan(req.HttpContext, durable, id);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.Health))]
    public async Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", Route = GatehouseRoutes.Health)] HttpRequest req)
    {
        await http.Health(req.HttpContext);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminBom))]
    public async Task<IActionResult> Bom(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", Route = GatehouseRoutes.AdminBom)] HttpRequest req, string remote, string? name)
    {
        await http.AdminBom(req.HttpContext, remote, name);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminAudit))]
    public async Task<IActionResult> Audit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", Route = GatehouseRoutes.AdminAudit)] HttpRequest req, string? operation)
    {
        await http.AdminAudit(req.HttpContext, operation);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminQuarantine))]
    public async Task<IActionResult> Quarantine(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "POST", Route = GatehouseRoutes.AdminQuarantine)] HttpRequest req,
        [DurableClient] DurableTaskClient durable, string? sha256, string? operation)
    {
        await http.AdminQuarantine(req.HttpContext, durable, sha256, operation);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminOpenApi))]
    public async Task<IActionResult> OpenApi(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", Route = GatehouseRoutes.AdminOpenApi)] HttpRequest req)
    {
        await http.AdminOpenApi(req.HttpContext);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminStats))]
    public async Task<IActionResult> Stats(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", Route = GatehouseRoutes.AdminStats)] HttpRequest req)
    {
        await http.AdminStats(req.HttpContext);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.AdminArtifacts))]
    public async Task<IActionResult> Artifacts(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", Route = GatehouseRoutes.AdminArtifacts)] HttpRequest req)
    {
        await http.AdminArtifacts(req.HttpContext);
        return new EmptyResult();
    }
}
