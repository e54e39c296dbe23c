using System.Text.RegularExpressions;
using Gatehouse.Admin;
using Microsoft.OpenApi;

namespace Gatehouse.Core.Tests.Admin;

/// <summary>
/// The admin API's OpenAPI document read back with the OpenAPI reader: it parses without errors, every <c>admin/*</c>
/// route of <see cref="GatehouseRoutes.All"/> is in it with each of its methods (a new admin route without its entry
/// fails here), and it describes no path that no route serves.
/// </summary>
public sealed partial class AdminApiDocumentTests
{
    private static readonly Lazy<OpenApiDocument> Parsed = new(() =>
    {
        var read = OpenApiDocument.Parse(AdminApiDocument.JsonText, "json");
        Assert.Empty(read.Diagnostic?.Errors ?? []);
        Assert.NotNull(read.Document);
        return read.Document;
    });

    public static TheoryData<string> AdminRoutes => [.. GatehouseRoutes.All.Where(IsAdmin).Select(r => r.Name)];

    [Fact]
    public void The_document_parses_as_OpenAPI_3_0_without_errors_or_warnings()
    {
        var read = OpenApiDocument.Parse(AdminApiDocument.JsonText, "json");

        Assert.Empty(read.Diagnostic!.Errors);
        Assert.Empty(read.Diagnostic.Warnings);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_0, read.Diagnostic.SpecificationVersion);
        Assert.Equal("Gatehouse admin API", read.Document!.Info.Title);
        Assert.Contains("bearer", read.Document.Components!.SecuritySchemes!.Keys);
    }

    [Theory]
    [MemberData(nameof(AdminRoutes))]
    public void Every_admin_route_is_documented_with_each_of_its_methods(string name)
    {
        var route = GatehouseRoutes.All.Single(r => r.Name == name);
        var variants = Variants(route.Template);
        var documented = Parsed.Value.Paths.Where(p => variants.Any(v => Matches(p.Key, v))).ToList();
        Assert.True(documented.Count > 0, $"No path of the document matches route {route.Name} ({route.Template}); add it to AdminApiDocument");
        foreach (var method in route.Methods)
        {
            Assert.True(documented.Any(p => p.Value.Operations?.ContainsKey(new HttpMethod(method)) == true),
                $"{method} of route {route.Name} ({route.Template}) is not documented on {string.Join(", ", documented.Select(p => p.Key))}");
        }
    }

    [Fact]
    public void Every_documented_path_and_method_is_served_by_an_admin_route()
    {
        foreach (var (path, item) in Parsed.Value.Paths)
        {
            var serving = GatehouseRoutes.All.Where(IsAdmin).Where(r => Variants(r.Template).Any(v => Matches(path, v))).ToList();
            Assert.True(serving.Count > 0, $"{path} is documented but no admin route serves it");
            foreach (var method in item.Operations!.Keys)
            {
                Assert.Contains(serving, r => r.Methods.Contains(method.Method));
            }
        }
    }

    [Fact]
    public void Every_operation_has_a_unique_id_and_a_success_response()
    {
        var operations = Parsed.Value.Paths.SelectMany(p => p.Value.Operations!.Values).ToList();

        Assert.Equal(operations.Count, operations.Select(o => o.OperationId).Distinct(StringComparer.Ordinal).Count());
        Assert.All(operations, o => Assert.Contains(o.Responses!.Keys, k => k.StartsWith('2')));
    }

    [Theory]
    [InlineData("admin/tokens/{id?}", new[] { "/admin/tokens", "/admin/tokens/{id}" })]
    [InlineData("admin/quarantine/{sha256?}/{operation?}", new[] { "/admin/quarantine", "/admin/quarantine/{sha256}", "/admin/quarantine/{sha256}/{operation}" })]
    [InlineData("admin/bom/{remote}/{*name}", new[] { "/admin/bom/{remote}/{name}" })]
    [InlineData("admin/openapi.json", new[] { "/admin/openapi.json" })]
    public void A_route_template_stands_for_a_path_per_optional_parameter(string template, string[] expected) =>
        Assert.Equal(expected, Variants(template));

    private static bool IsAdmin(GatehouseRoute route) => route.Template.StartsWith("admin/", StringComparison.Ordinal);

    /// <summary>
    /// The OpenAPI paths a route template stands for: one per number of trailing optional parameters given, with
    /// <c>{x?}</c> and <c>{*x}</c> written as <c>{x}</c>.
    /// </summary>
    private static List<string> Variants(string template)
    {
        var segments = template.Split('/');
        var required = segments.TakeWhile(s => !s.EndsWith("?}", StringComparison.Ordinal)).Count();
        return [.. Enumerable.Range(required, segments.Length - required + 1)
            .Select(n => "/" + string.Join('/', segments.Take(n).Select(s => Parameter().Replace(s, "{$1}"))))];
    }

    /// <summary>A documented path matches a route's path when each segment is equal or the route's is a parameter.</summary>
    private static bool Matches(string documented, string routePath)
    {
        var (a, b) = (documented.Split('/'), routePath.Split('/'));
        return a.Length == b.Length && a.Zip(b).All(p => p.First == p.Second || p.Second.StartsWith('{'));
    }

    [GeneratedRegex(@"^\{\*?(\w+)\??\}$")]
    private static partial Regex Parameter();
}
