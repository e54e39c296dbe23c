namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Runs a script of <c>tests/hf-python</c> on Debian's python3 with a real huggingface_hub from
/// <see cref="TestEnvironment.ClientsRoot"/> ("1.x" or "0.26.5"), pointed at a Gatehouse with <c>HF_ENDPOINT</c> and
/// <c>HF_TOKEN</c>, a fresh <c>HF_HOME</c>, and no other <c>HF_*</c> setting: the stock timeouts are what is tested.
/// </summary>
public static class PythonHubClient
{
    public static readonly string Folder = Path.Combine(TestEnvironment.RepoRoot, "tests", "hf-python");

    public static async Task<ProcessResult> RunAsync(GatehouseStack stack, string version, string script, IReadOnlyList<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var home = TestEnvironment.NewTempDirectory("hf-home");
        try
        {
            var settings = new Dictionary<string, string>
            {
                ["PYTHONPATH"] = TestEnvironment.HubClientPath(version),
                ["HF_ENDPOINT"] = new Uri(stack.BaseAddress, "hf").AbsoluteUri,
                ["HF_TOKEN"] = stack.Token,
                ["HF_HOME"] = home,
                ["HF_HUB_DISABLE_TELEMETRY"] = "1",
            };
            foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            {
                settings[key] = value;
            }
            var result = await PythonVenv.RunAsync(TestEnvironment.DebianPython, [Path.Combine(Folder, script), .. args], settings, timeout);
            return result with
            {
                StandardOutput = result.StandardOutput.Replace(stack.Token, "****", StringComparison.Ordinal),
                StandardError = result.StandardError.Replace(stack.Token, "****", StringComparison.Ordinal),
            };
        }
        finally
        {
            TestEnvironment.TryDeleteDirectory(home);
        }
    }
}
