using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Gatehouse.TestHelpers;

/// <summary>
/// Debian's <c>chromium</c>, headless, through Debian's <c>chromedriver</c> (packages chromium and chromium-driver).
/// Both are given by path, so Selenium Manager never runs and nothing downloads a browser.
/// </summary>
public static class HeadlessChromium
{
    /// <summary>Debian's chromedriver (package chromium-driver).</summary>
    public const string DriverPath = "/usr/bin/chromedriver";

    /// <summary>Debian's chromium (package chromium).</summary>
    public const string BrowserPath = "/usr/bin/chromium";

    /// <summary>Whether both are installed.</summary>
    public static bool Installed => File.Exists(DriverPath) && File.Exists(BrowserPath);

    /// <summary>A new browser at 1280×1000, with the browser's console log kept when <paramref name="browserLog"/>.</summary>
    public static ChromeDriver Start(TimeSpan commandTimeout, bool browserLog = false)
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = BrowserPath };
        options.AddArguments("--headless=new", "--window-size=1280,1000", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=en-US");
        if (Environment.UserName == "root")
        {
            options.AddArgument("--no-sandbox"); // chromium refuses to run as root with its sandbox
        }
        if (browserLog)
        {
            options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        }
        return new ChromeDriver(service, options, commandTimeout);
    }
}
