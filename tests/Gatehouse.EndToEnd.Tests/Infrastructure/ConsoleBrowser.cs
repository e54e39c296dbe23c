using System.Collections.ObjectModel;
using System.Text.Json;
using Gatehouse.TestHelpers;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One headless Debian <c>chromium</c> driven through Debian's <c>chromedriver</c> (both from apt; nothing is downloaded:
/// the driver and the browser are given by path, so Selenium Manager never runs), with what the console tests need:
/// open a page and wait for its <c>data-ready</c>, run axe-core (from <c>tests/console-axe</c>) in it, save a screenshot.
/// </summary>
public sealed class ConsoleBrowser : IDisposable
{
    private const string DriverPath = HeadlessChromium.DriverPath;
    private const string BrowserPath = HeadlessChromium.BrowserPath;

    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(20);

    private readonly ChromeDriver _driver;
    private readonly string _axeSource;

    private ConsoleBrowser(ChromeDriver driver, string axeSource, string screenshots)
    {
        _driver = driver;
        _axeSource = axeSource;
        Screenshots = screenshots;
    }

    public IWebDriver Driver => _driver;

    /// <summary>Where <see cref="Screenshot"/> writes: <c>GATEHOUSE_CONSOLE_SCREENSHOTS</c>, or <c>console-screenshots</c> beside the test assembly.</summary>
    public string Screenshots { get; }

    public static ConsoleBrowser Start()
    {
        foreach (var (path, package) in new[] { (DriverPath, "chromium-driver"), (BrowserPath, "chromium") })
        {
            Assert.True(File.Exists(path), $"{path} is missing: install Debian's {package} (scripts/test.sh does: apt-get install chromium chromium-driver)");
        }
        var axe = Path.Combine(TestEnvironment.RepoRoot, "tests", "console-axe", "node_modules", "axe-core", "axe.min.js");
        Assert.True(File.Exists(axe), $"{axe} is missing: run `npm ci` in tests/console-axe (scripts/test.sh does)");
        var screenshots = Environment.GetEnvironmentVariable("GATEHOUSE_CONSOLE_SCREENSHOTS") is { Length: > 0 } dir
            ? dir
            : Path.Combine(AppContext.BaseDirectory, "console-screenshots");
        Directory.CreateDirectory(screenshots);

        var driver = HeadlessChromium.Start(TimeSpan.FromSeconds(60), browserLog: true);
        return new ConsoleBrowser(driver, File.ReadAllText(axe), screenshots);
    }

    /// <summary>Opens <paramref name="url"/> and waits until the page marks itself ready as <paramref name="ready"/>.</summary>
    public void Open(Uri url, string ready)
    {
        _driver.Navigate().GoToUrl(url);
        WaitReady(ready);
    }

    /// <summary>Waits until <c>document.body.dataset.ready</c> is <paramref name="ready"/>.</summary>
    public void WaitReady(string ready, TimeSpan? timeout = null) =>
        WaitUntil(() => _driver.ExecuteScript("return document.body.dataset.ready || ''") as string == ready,
            () => $"the page never became ready as '{ready}' (data-ready '{_driver.ExecuteScript("return document.body.dataset.ready || ''")}', at {_driver.Url})", timeout);

    /// <summary>Waits until <paramref name="condition"/> holds, failing with <paramref name="why"/> and the page's text.</summary>
    public void WaitUntil(Func<bool> condition, Func<string> why, TimeSpan? timeout = null)
    {
        var wait = new WebDriverWait(_driver, timeout ?? DefaultWait) { PollingInterval = TimeSpan.FromMilliseconds(100) };
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException), typeof(NoSuchElementException));
        try
        {
            wait.Until(_ => condition());
        }
        catch (WebDriverTimeoutException)
        {
            Assert.Fail($"{why()}\n--- page text ---\n{BodyText()}");
        }
    }

    /// <summary>The element matching <paramref name="css"/>, once it exists.</summary>
    public IWebElement Find(string css)
    {
        IWebElement? found = null;
        WaitUntil(() => (found = _driver.FindElements(By.CssSelector(css)).FirstOrDefault()) is not null, () => $"no element matches {css}");
        return found!;
    }

    public ReadOnlyCollection<IWebElement> FindAll(string css) => _driver.FindElements(By.CssSelector(css));

    /// <summary>Types into the labelled control of <paramref name="form"/> (replacing what is there).</summary>
    public void Fill(IWebElement control, string text)
    {
        control.Clear();
        control.SendKeys(text);
    }

    /// <summary>The control labelled <paramref name="label"/> (the label's text starts with it): a test of the labels as much as a locator.</summary>
    public IWebElement Labelled(string label, IWebElement? within = null)
    {
        var scope = (ISearchContext?)within ?? _driver;
        var element = scope.FindElements(By.TagName("label")).FirstOrDefault(l => l.Text.Trim().StartsWith(label, StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"no label starts with '{label}'\n--- page text ---\n{BodyText()}");
        var id = element.GetAttribute("for");
        return string.IsNullOrEmpty(id) ? element.FindElement(By.CssSelector("input, select, textarea")) : _driver.FindElement(By.Id(id));
    }

    /// <summary>The text of the page's <c>role="alert"</c> regions that say something.</summary>
    public string Alerts() => string.Join("\n", FindAll("[role=alert]").Select(a => a.Text.Trim()).Where(t => t.Length > 0));

    public string BodyText() => _driver.FindElement(By.TagName("body")).Text;

    public Uri Url => new(_driver.Url);

    /// <summary>Runs axe-core on the page; answers the serious and critical violations, one line each, with their elements.</summary>
    public IReadOnlyList<string> SeriousAccessibilityViolations()
    {
        _driver.ExecuteScript(_axeSource);
        var json = _driver.ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done(JSON.stringify(r.violations)))
              .catch(e => done(JSON.stringify([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }])));
            """) as string ?? throw new Xunit.Sdk.XunitException("axe-core answered nothing");
        using var violations = JsonDocument.Parse(json);
        return [.. violations.RootElement.EnumerateArray()
            .Where(v => v.GetProperty("impact").GetString() is "serious" or "critical")
            .Select(v => $"{v.GetProperty("impact").GetString()} {v.GetProperty("id").GetString()}: {v.GetProperty("help").GetString()} — "
                + string.Join(" | ", v.GetProperty("nodes").EnumerateArray().Take(5).Select(n => n.GetProperty("html").GetString())))];
    }

    /// <summary>Saves a PNG of the viewport as <c>{name}.png</c> under <see cref="Screenshots"/>; answers its path.</summary>
    public string Screenshot(string name)
    {
        var path = Path.Combine(Screenshots, name + ".png");
        var height = Convert.ToInt32(_driver.ExecuteScript("return Math.min(4000, Math.max(document.body.scrollHeight, 800))"), System.Globalization.CultureInfo.InvariantCulture);
        _driver.Manage().Window.Size = new System.Drawing.Size(1280, height + 140);
        try
        {
            _driver.GetScreenshot().SaveAsFile(path);
        }
        finally
        {
            _driver.Manage().Window.Size = new System.Drawing.Size(1280, 1000);
        }
        return path;
    }

    /// <summary>Browser console lines that are script errors or CSP violations (failed API answers, which pages show, are left out).</summary>
    public IReadOnlyList<string> ScriptErrors() =>
        [.. _driver.Manage().Logs.GetLog(LogType.Browser)
            .Where(e => e.Level >= LogLevel.Warning && !e.Message.Contains("Failed to load resource", StringComparison.Ordinal))
            .Select(e => $"{e.Level}: {e.Message}")];

    public void Dispose()
    {
        _driver.Quit();
        _driver.Dispose();
    }
}
