using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.WebConsole;

namespace Gatehouse.Core.Tests.WebConsole;

/// <summary>
/// The console's pages as the content security policy and the air gap need them: no inline script, style or event
/// handler, nothing loaded from another origin, no HTML parsed from strings, every routed page module embedded, and
/// the whole small.
/// </summary>
public sealed partial class ConsolePagesTests
{
    /// <summary>The most the console's files may weigh together: it is a few plain modules, not a bundle.</summary>
    private const int MaxTotalBytes = 150 * 1024;

    private readonly ConsoleAssets _assets = new();

    [Fact]
    public void The_page_has_no_inline_script_style_or_event_handler_and_loads_only_its_own_files()
    {
        var html = Text(ConsoleAssets.IndexPath);
        Assert.DoesNotMatch(InlineScript(), html);
        Assert.DoesNotMatch(StyleAttribute(), html);
        Assert.DoesNotMatch(HandlerAttribute(), html);
        foreach (Match reference in SourceAttribute().Matches(html))
        {
            var path = reference.Groups["path"].Value;
            Assert.StartsWith("/console/", path, StringComparison.Ordinal);
            Assert.NotNull(_assets.Find(path["/console/".Length..]));
        }
        Assert.Contains("<main id=\"main\"", html, StringComparison.Ordinal);
        Assert.Contains("<nav aria-label=\"Console\">", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_script_is_a_checked_module_that_builds_the_dom_without_parsing_html_or_reaching_another_origin()
    {
        var scripts = _assets.Paths.Where(p => p.EndsWith(".js", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(scripts);
        foreach (var path in scripts)
        {
            var code = Text(path);
            Assert.True(code.StartsWith("// @ts-check", StringComparison.Ordinal), $"{path} does not start with // @ts-check");
            foreach (var banned in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "sessionStorage" })
            {
                Assert.False(code.Contains(banned, StringComparison.Ordinal), $"{path} uses {banned}");
            }
            var external = ExternalUrl().Matches(code).Select(m => m.Value).Where(u => u != "http://www.w3.org/2000/svg").ToList();
            Assert.True(external.Count == 0, $"{path} names another origin: {string.Join(", ", external)}");
        }
    }

    [Fact]
    public void Every_page_the_router_names_is_embedded()
    {
        var modules = RouteModule().Matches(Text("app.js")).Select(m => m.Groups["path"].Value).ToList();
        Assert.True(modules.Count >= 10, $"the router names {modules.Count} pages");
        Assert.All(modules, m => Assert.NotNull(_assets.Find(m)));
    }

    [Fact]
    public void The_console_is_small() =>
        Assert.InRange(_assets.Paths.Sum(p => _assets.Find(p)!.Content.Length), 1, MaxTotalBytes);

    private string Text(string path) => Encoding.UTF8.GetString(_assets.Find(path)?.Content ?? throw new InvalidOperationException($"{path} is not embedded"));

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"\sstyle\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex StyleAttribute();

    [GeneratedRegex(@"\son[a-z]+\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex HandlerAttribute();

    [GeneratedRegex(@"\b(?:src|href)=""(?<path>/console/[^""]*\.(?:js|css))""")]
    private static partial Regex SourceAttribute();

    [GeneratedRegex(@"https?://[A-Za-z0-9.\-]+[^\s'""`)]*")]
    private static partial Regex ExternalUrl();

    [GeneratedRegex(@"module: '\./(?<path>pages/[a-z\-]+\.js)'")]
    private static partial Regex RouteModule();
}
