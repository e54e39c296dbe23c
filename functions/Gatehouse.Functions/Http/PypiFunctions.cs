using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Functions.Http;

/// <summary>The PyPI remote's HTTP triggers: each hands the request to Core, which writes the whole response.</summary>
/// <remarks>They return <see cref="EmptyResult"/>: the ASP.NET Core integration then leaves Core's response alone, and
/// the SDK emits the http output binding it needs.</remarks>
public sealed class PypiFunctions(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.PypiSimple))]
    public async Task<IActionResult> Simple(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.PypiSimple)] HttpRequest req, string? path)
    {
        await http.PypiSimple(req.HttpContext, path);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.PypiFiles))]
    public async Task<IActionResult> Files(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.PypiFiles)] HttpRequest req,
        [DurableClient] DurableTaskClient durable, string? path)
    {
        await http.PypiFiles(req.HttpContext, durable, path);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.PypiIntegrity))]
    public async Task<IActionResult> Integrity(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.PypiIntegrity)] HttpRequest req, string? path)
    {
        await http.PypiIntegrity(req.HttpContext, path);
        return new EmptyResult();
    }

    [Function(nameof(GatehouseHttp.PypiJson))]
    public async Task<IActionResult> Json(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.PypiJson)] HttpRequest req, string project, string? rest)
    {
        await http.PypiJson(req.HttpContext, project, rest);
        return new EmptyResult();
    }
}
