using Microsoft.DurableTask;

namespace Gatehouse.Scanning;

/// <summary>Code that runs at install or interpreter start: .pth lines, compiled or obfuscated payloads.</summary>
public sealed class InstallTimeCodeActivity : TaskActivity<ScanRequest, CheckResult>
{
    public override Task<CheckResult> RunAsync(TaskActivityContext context, ScanRequest input) => throw new NotImplementedException();
}
