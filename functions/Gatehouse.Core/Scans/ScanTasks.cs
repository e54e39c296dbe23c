using Microsoft.DurableTask;

namespace Gatehouse.Scans;

/// <summary>Registers the scan orchestration and its activities; both hosts call this.</summary>
public static class ScanTasks
{
    /// <summary>The checks the orchestrator fans out to, each a <c>TaskActivity&lt;ScanRequest, CheckResult&gt;</c>.</summary>
    public static readonly IReadOnlyList<string> Checks = [nameof(ArchiveSafetyActivity), nameof(InstallTimeCodeActivity), nameof(ModelContentActivity)];

    public static void Register(DurableTaskRegistry registry)
    {
        registry.AddOrchestrator<ScanArtifactOrchestrator>();
        registry.AddActivity<ArchiveSafetyActivity>();
        registry.AddActivity<InstallTimeCodeActivity>();
        registry.AddActivity<ModelContentActivity>();
        registry.AddActivity<RecordVerdictActivity>();
    }
}
