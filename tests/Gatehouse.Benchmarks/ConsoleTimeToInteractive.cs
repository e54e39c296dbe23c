using System.Globalization;
using Gatehouse.TestHelpers;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Gatehouse.Benchmarks;

/// <summary>
/// The console overview's time to interactive in a real browser: Debian's headless <c>chromium</c> through its
/// <c>chromedriver</c> (given by path, nothing downloaded), signed in with the admin token; each load is timed from
/// navigation start to the page's <c>gatehouse-ready</c> performance mark, which the page sets once its data is shown.
/// </summary>
public sealed class ConsoleTimeToInteractive : IDisposable
{
    private readonly ChromeDriver _driver;
    private readonly Uri _gatehouse;

    private ConsoleTimeToInteractive(ChromeDriver driver, Uri gatehouse)
    {
        _driver = driver;
        _gatehouse = gatehouse;
    }

    /// <summary>A signed-in browser, or null (with the reason printed) when Debian's chromium or its driver is missing.</summary>
    public static ConsoleTimeToInteractive? Start(Uri gatehouse, string adminToken)
    {
        if (!HeadlessChromium.Installed)
        {
            Console.Error.WriteLine("Debian's chromium or chromium-driver is missing: the console's time to interactive is not measured (apt-get install chromium chromium-driver)");
            return null;
        }
        var driver = HeadlessChromium.Start(TimeSpan.FromMinutes(3));
        driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromMinutes(2);
        var browser = new ConsoleTimeToInteractive(driver, gatehouse);
        // Sign in as the page does: the token in a JSON body, the session in an HttpOnly cookie.
        driver.Navigate().GoToUrl(new Uri(gatehouse, "console/signin"));
        var status = driver.ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            fetch('/console/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: arguments[0] }) })
              .then(r => done(r.status)).catch(e => done(String(e)));
            """, adminToken);
        if (Convert.ToString(status, CultureInfo.InvariantCulture) != "200")
        {
            browser.Dispose();
            throw new InvalidOperationException($"the console sign-in answered {status}");
        }
        return browser;
    }

    /// <summary>Loads the overview afresh and answers the milliseconds from navigation start until it was ready.</summary>
    public double LoadOverview(TimeSpan patience)
    {
        _driver.Navigate().GoToUrl(new Uri(_gatehouse, "console/"));
        new WebDriverWait(_driver, patience) { PollingInterval = TimeSpan.FromMilliseconds(50) }
            .Until(d => ((IJavaScriptExecutor)d).ExecuteScript("return document.body.dataset.ready || ''") as string == "overview");
        var alert = _driver.FindElements(By.CssSelector("[role=alert]")).Select(e => e.Text).FirstOrDefault(t => t.Length > 0);
        if (alert is not null)
        {
            throw new InvalidOperationException($"the overview shows an error: {alert}");
        }
        return Convert.ToDouble(_driver.ExecuteScript(
            "const m = performance.getEntriesByName('gatehouse-ready'); return m.length ? m[m.length - 1].startTime : -1;"), CultureInfo.InvariantCulture);
    }

    public void Dispose() => _driver.Quit();
}
